/**
 * npm run bench:wan: Ferry against the browser's own player over an emulated network link (bench/link.ts),
 * the relay next to the origin: for Ferry the link is between the browser and the relay, for the plain
 * `<video src>` between the browser and the origin (and the page that holds it). Both are timed from
 * navigation, so Ferry pays for loading its page and opening its socket as a user does. Profiles: 20 ms each
 * way at 100 Mbit/s, and 50 ms each way at 20 Mbit/s; 2 GB and 8 GB moov-at-end files (with --mkv, the 2 GB
 * film as Matroska, Cues at the end). First frame, median of 5 seeks to unbuffered points; medians of 3 runs.
 */
import { createServer } from 'node:http';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../test/helpers/browser.js';
import { GB, median, startOrigin, startRelayFor, table, timeToFrame } from './lib.js';
import { Link, PROFILES, type LinkProfile } from './link.js';
import { benchMatroska, benchVideo } from './video.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SEEKS = [0.1, 0.5, 0.9, 0.3, 0.7];

type Kind = 'plain' | 'ferry';
interface RunResult { firstFrame: number; seeks: number[] }

/** Records when the page's video presents its first frame, in ms from navigation. */
const FIRST_FRAME = `document.addEventListener('DOMContentLoaded', () => {
  const v = document.querySelector('video');
  v.requestVideoFrameCallback((now) => (window.firstFrameAt = now));
});`;

/** The plain video's page: a video element and nothing else, as a site would serve it. */
function startPageServer(): Promise<number> {
  const server = createServer((req, res) => {
    const src = new URL(req.url ?? '/', 'http://x').searchParams.get('src') ?? '';
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><video id="video" muted autoplay playsinline src="${src.replace(/"/g, '&quot;')}"></video>`);
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done((server.address() as { port: number }).port)));
}

async function runOne(url: string): Promise<RunResult> {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    await page.addInitScript(FIRST_FRAME);
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { firstFrameAt?: number }).firstFrameAt !== undefined, undefined, { timeout: 60_000, polling: 20 });
    const firstFrame = await page.evaluate(() => (window as unknown as { firstFrameAt: number }).firstFrameAt);
    const duration = await page.evaluate(() => document.querySelector('video')!.duration);
    const seeks: number[] = [];
    for (const f of SEEKS) seeks.push(await timeToFrame(page, `video.currentTime = ${f * duration}`));
    return { firstFrame, seeks };
  } finally {
    await browser.close();
  }
}

async function measure(file: string, profile: LinkProfile, pagePort: number): Promise<Record<Kind, RunResult[]>> {
  const origin = await startOrigin(file);
  const originPort = Number(origin.match[1]);
  const relay = await startRelayFor(originPort);
  const links = { relay: await new Link(Number(relay.match[1]), profile).start(), origin: await new Link(originPort, profile).start(), page: await new Link(pagePort, profile).start() };
  const originUrl = origin.match[2]!;
  const viaLink = originUrl.replace(`:${originPort}/`, `:${links.origin.port}/`);
  const urls: Record<Kind, string> = {
    plain: `http://127.0.0.1:${links.page.port}/plain.html?src=${encodeURIComponent(viaLink)}`,
    ferry: `http://127.0.0.1:${links.relay.port}/?url=${encodeURIComponent(originUrl)}&autoplay=1`,
  };
  const results: Record<Kind, RunResult[]> = { plain: [], ferry: [] };
  try {
    for (let i = 0; i < RUNS; i++) {
      for (const kind of ['plain', 'ferry'] as const) {
        const r = await runOne(urls[kind]);
        results[kind].push(r);
        process.stderr.write(`${profile.name}, ${kind} run ${i + 1}: first frame ${r.firstFrame.toFixed(0)} ms, seeks ${r.seeks.map((s) => s.toFixed(0)).join('/')} ms\n`);
      }
    }
  } finally {
    for (const link of Object.values(links)) await link.close();
    relay.child.kill();
    origin.child.kill();
  }
  return results;
}

const pagePort = await startPageServer();
const MKV = process.argv.includes('--mkv');
const files: [string, string][] = MKV
  ? [['2 GB MKV', benchMatroska(2 * GB)]]
  : [['2 GB', benchVideo(2 * GB)], ['8 GB', benchVideo(8 * GB)]];
const rows: string[][] = [];
for (const profile of PROFILES) {
  for (const [size, file] of files) {
    const r = await measure(file, profile, pagePort);
    const frame = (k: Kind): number => median(r[k].map((x) => x.firstFrame));
    const seek = (k: Kind): number => median(r[k].flatMap((x) => x.seeks));
    rows.push([profile.name, size, frame('plain').toFixed(0), frame('ferry').toFixed(0), (frame('ferry') / frame('plain')).toFixed(2), seek('plain').toFixed(0), seek('ferry').toFixed(0), (seek('ferry') / seek('plain')).toFixed(2)]);
  }
}
const runs = `medians of ${RUNS} runs (seek: median of all ${SEEKS.length * RUNS} seeks)`;
console.log(`\nbench:wan, ${MKV ? 'Matroska' : 'moov-at-end'} 720p files, ${runs}, from navigation\n`);
console.log(table(['link', 'file', 'plain first frame (ms)', 'Ferry first frame (ms)', 'Ferry / plain (target ≤ 0.80)', 'plain seek (ms)', 'Ferry seek (ms)', 'Ferry / plain (target ≤ 1.00)'], rows));
process.exit(0);
