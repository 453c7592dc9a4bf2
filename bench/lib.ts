/** Shared pieces of the benchmarks: test files, child processes, CPU accounting, tables. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { testBytes } from '../test/helpers/origin.js';

export const MEDIA_DIR = join(process.cwd(), '.media');
export const GB = 1024 ** 3;
export const MB = 1024 ** 2;

/** A file of `size` bytes of varied content, made once and kept in .media/ (git-ignored). */
export async function benchFile(name: string, size: number): Promise<string> {
  mkdirSync(MEDIA_DIR, { recursive: true });
  const path = join(MEDIA_DIR, name);
  if (existsSync(path) && statSync(path).size === size) return path;
  const block = testBytes(64 * MB, 11);
  const out = createWriteStream(path);
  for (let written = 0; written < size; ) {
    const n = Math.min(block.byteLength, size - written);
    if (!out.write(block.subarray(0, n))) await once(out, 'drain');
    written += n;
  }
  out.end();
  await once(out, 'finish');
  return path;
}

/** Starts a child and waits until it prints a line matching `ready`; returns it with the match. */
export async function startProcess(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let seen = '';
  const match = await new Promise<RegExpExecArray>((done, fail) => {
    const onData = (d: Buffer): void => {
      seen += d.toString();
      const m = ready.exec(seen);
      if (m) done(m);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => fail(new Error(`${args.join(' ')} exited ${code}: ${seen}`)));
  });
  return { child, match };
}

/** The benchmarks' origin serving `file` in its own process; its match: [, port, url]. */
export function startOrigin(file: string, ...flags: string[]): ReturnType<typeof startProcess> {
  return startProcess(['--import', 'tsx', 'bench/origin-server.ts', file, ...flags], /listening (\d+) (\S+)\n/);
}

/** A relay from the sources in its own process, that may reach the origin on `originPort`; its match: [, port]. */
export function startRelayFor(originPort: number | string, ...flags: string[]): ReturnType<typeof startProcess> {
  const allow = ['--allow-host', `127.0.0.1:${originPort}`];
  return startProcess(
    ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', ...allow, '--log-level', 'warn', ...flags],
    /relay on http:\/\/127\.0\.0\.1:(\d+)/,
  );
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(cells[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

/** A process and all its descendants, from /proc. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended while we looked
    }
  }
  const tree: number[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    tree.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** Sums a /proc figure over processes; one that has ended counts 0. */
function sumOver(pids: number[], read: (pid: number) => number): number {
  let total = 0;
  for (const pid of pids) {
    try {
      total += read(pid);
    } catch {
      // gone
    }
  }
  return total;
}

/** PSS in bytes summed over a process and all its descendants. */
export function treePss(root: number): number {
  return sumOver(processTree(root), (pid) => Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024);
}

/** Resident bytes summed over processes. */
export function rss(pids: number[]): number {
  return sumOver(pids, (pid) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024);
}

/** CPU seconds summed over processes. */
export function cpuSecondsOf(pids: number[]): number {
  return sumOver(pids, cpuSeconds);
}

export function browserPid(marker: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) return Number(entry);
    } catch {
      // gone
    }
  }
  throw new Error('cannot find the browser process');
}

/**
 * In the page: ms from `action` until a frame is presented (and the element is no longer seeking). A string,
 * not a function, because tsx would wrap a function's inner helpers in a `__name` the page does not have.
 */
export async function timeToFrame(page: Page, action: string): Promise<number> {
  return page.evaluate(`new Promise((resolve) => {
    const video = document.querySelector('video');
    const t0 = performance.now();
    const wait = () => video.requestVideoFrameCallback(() => (video.seeking ? wait() : resolve(performance.now() - t0)));
    wait();
    ${action};
  })`);
}

/** How a start or a seek went, in ms from its action: a frame presented, and playback moving. */
export interface Start {
  frame: number;
  /** A frame 0.1 s past where it started presented: playback moving, as a person sees it. */
  moving: number;
  /** `waiting` events after the first frame, until playback is 1 s past where it started. */
  waits: number;
}

/**
 * In the page: `action` (a start, or a seek), then the frames presented until playback is 1 s past where it
 * started (a seek's target, or 0), timed from the action. A string, for the reason timeToFrame gives.
 */
export async function timeToMoving(page: Page, action: string): Promise<Start> {
  return page.evaluate(`new Promise((resolve) => {
    const video = document.querySelector('video');
    const t0 = performance.now();
    let frame = null;
    let moving = null;
    let waits = 0;
    let base = 0;
    const onWaiting = () => { if (frame !== null) waits++; };
    video.addEventListener('waiting', onWaiting);
    const step = (now, meta) => {
      if (!video.seeking) {
        frame ??= performance.now() - t0;
        if (moving === null && meta.mediaTime >= base + 0.1) moving = performance.now() - t0;
        if (meta.mediaTime >= base + 1) {
          video.removeEventListener('waiting', onWaiting);
          return resolve({ frame, moving, waits });
        }
      }
      video.requestVideoFrameCallback(step);
    };
    video.requestVideoFrameCallback(step);
    ${action};
    base = video.currentTime;
  })`);
}

/**
 * Records, in ms from navigation, when the page's video presents its first frame and a frame 0.1 s in, and
 * the `waiting` events between the first frame and 1 s in.
 */
export const START_TIMING = `document.addEventListener('DOMContentLoaded', () => {
  const v = document.querySelector('video');
  const start = { frame: null, moving: null, waits: 0 };
  v.addEventListener('waiting', () => { if (start.frame !== null && !window.started) start.waits++; });
  const step = (now, meta) => {
    start.frame ??= now;
    if (start.moving === null && meta.mediaTime >= 0.1) start.moving = now;
    if (meta.mediaTime >= 1) window.started = start;
    else v.requestVideoFrameCallback(step);
  };
  v.requestVideoFrameCallback(step);
});`;

/** The plain video's page: a video element and nothing else, as a site would serve it. */
export function startPageServer(): Promise<number> {
  const server = createServer((req, res) => {
    const src = new URL(req.url ?? '/', 'http://x').searchParams.get('src') ?? '';
    res.writeHead(200, { 'content-type': 'text/html' });
    const attribute = src.replace(/"/g, '&quot;');
    res.end(`<!doctype html><video id="video" muted autoplay playsinline src="${attribute}"></video>`);
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done((server.address() as { port: number }).port)));
}

/** Opens `url` in `page` (a fresh browser's) and resolves with its start, timed from navigation. */
export async function openAndStart(page: Page, url: string): Promise<Start> {
  await page.addInitScript(START_TIMING);
  await page.goto(url);
  type Started = { started?: Start };
  const ready = { timeout: 60_000, polling: 20 };
  await page.waitForFunction(() => (window as unknown as Started).started !== undefined, undefined, ready);
  return page.evaluate(() => (window as unknown as Required<Started>).started);
}

export interface Sample { mbps: number; cpuPerGb: number }

/** Runs a transfer of `size` bytes; its rate, and the CPU the processes `pids` spent per GB of it. */
export async function timedTransfer(size: number, pids: () => number[], run: () => Promise<number>): Promise<Sample> {
  const cpu0 = cpuSecondsOf(pids());
  const t0 = performance.now();
  const bytes = await run();
  const seconds = (performance.now() - t0) / 1000;
  if (bytes !== size) throw new Error(`got ${bytes} bytes, expected ${size}`);
  return { mbps: bytes / MB / seconds, cpuPerGb: (cpuSecondsOf(pids()) - cpu0) / (bytes / GB) };
}
