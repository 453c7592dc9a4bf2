/**
 * npm run bench:download [-- --big]: a 2 GB file (8 GB with --big) downloaded from the page through the relay
 * (the browser's download manager fetching the relay's ticketed HTTP URL), against the same browser saving it
 * from the origin itself, and `ferry get`, in the same run: MB/s, and the browser's peak memory (PSS over
 * Chromium's processes, minus the idle browser).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../test/helpers/browser.js';
import { benchFile, browserPid, cpuSeconds, GB, MB, median, startOrigin, startRelayFor, table, treePss } from './lib.js';

const BIG = process.argv.includes('--big');
const SIZE = (BIG ? 8 : 2) * GB;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

/**
 * The browser's download manager saving the file: asked for by the page through the relay, or (`direct`)
 * from the origin itself, by a link the page follows: the baseline for the same browser on the same machine.
 */
async function fromPage(relayPort: number, url: string, direct = false): Promise<{ mbps: number; pss: number; typical: number }> {
  const marker = `--ferry-bench=${Math.random().toString(36).slice(2)}`;
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: [...CHROMIUM_ARGS, marker] });
  try {
    const pid = browserPid(marker);
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${relayPort}/`);
    await page.waitForTimeout(1000);
    const idle = treePss(pid);
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(treePss(pid) - idle), 250);
    try {
      const t0 = performance.now();
      const saved = page.waitForEvent('download');
      if (direct) {
        await page.evaluate((u) => {
          const link = Object.assign(document.createElement('a'), { href: u, download: '' });
          document.body.append(link);
          link.click();
        }, url);
      } else await page.evaluate((u) => window.ferry.download(u), url);
      const download = await saved;
      const path = await download.path();
      const seconds = (performance.now() - t0) / 1000;
      const size = statSync(path).size;
      if (size !== SIZE) throw new Error(`saved ${size} bytes, expected ${SIZE}: ${await download.failure()}`);
      await download.delete();
      return { mbps: SIZE / MB / seconds, pss: Math.max(...samples) / MB, typical: median(samples) / MB };
    } finally {
      clearInterval(sampler);
    }
  } finally {
    await browser.close();
  }
}

async function withFerryGet(relayPort: number, url: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-'));
  try {
    const t0 = performance.now();
    await new Promise<void>((done, fail) => {
      const child = spawn(process.execPath, ['dist/cli/main.js', 'get', url, '-q', '-o', join(dir, 'out.bin'), '--relay', `ws://127.0.0.1:${relayPort}/ws`], { stdio: 'inherit' });
      child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`ferry get exited ${code}`))));
    });
    return SIZE / MB / ((performance.now() - t0) / 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const file = await benchFile(BIG ? 'bench-8g.bin' : 'bench-2g.bin', SIZE);
const origin = await startOrigin(file, '--attachment');
const relay = await startRelayFor(origin.match[1]!);
const relayPort = Number(relay.match[1]);
const url = origin.match[2]!;
const page: { mbps: number; pss: number; typical: number }[] = [];
const fromOrigin: { mbps: number; pss: number; typical: number }[] = [];
const cli: number[] = [];
/** Relay CPU seconds per GB sent, for each path. */
const cpu = { cli: [] as number[], page: [] as number[] };
const relayCpu = async <T>(into: number[], run: () => Promise<T>): Promise<T> => {
  const before = cpuSeconds(relay.child.pid!);
  const result = await run();
  into.push((cpuSeconds(relay.child.pid!) - before) / (SIZE / GB));
  return result;
};
try {
  for (let i = 0; i < RUNS; i++) {
    cli.push(await relayCpu(cpu.cli, () => withFerryGet(relayPort, url)));
    page.push(await relayCpu(cpu.page, () => fromPage(relayPort, url)));
    fromOrigin.push(await fromPage(relayPort, url, true));
    const last = page.at(-1)!;
    process.stderr.write(`run ${i + 1}/${RUNS}: ferry get ${cli.at(-1)!.toFixed(0)} MB/s, browser from the origin ${fromOrigin.at(-1)!.mbps.toFixed(0)} MB/s, page ${last.mbps.toFixed(0)} MB/s at ${last.pss.toFixed(0)} MB peak PSS (${last.typical.toFixed(0)} MB median)\n`);
  }
} finally {
  relay.child.kill();
  origin.child.kill();
}
const c = median(cli);
const p = median(page.map((x) => x.mbps));
const o = median(fromOrigin.map((x) => x.mbps));
console.log(`\nbench:download, ${SIZE / GB} GB through the relay, medians of ${RUNS} runs\n`);
console.log(
  table(
    ['path', 'MB/s', 'vs the browser from the origin', 'relay CPU-s/GB', 'browser PSS − idle, peak (MB)', 'median while saving (MB)', 'target'],
    [
      ['browser download manager straight from the origin (baseline)', o.toFixed(0), '1.00', '', median(fromOrigin.map((x) => x.pss)).toFixed(0), median(fromOrigin.map((x) => x.typical)).toFixed(0), ''],
      ['page → relay ticket → browser download manager (HTTP)', p.toFixed(0), (p / o).toFixed(2), median(cpu.page).toFixed(2), median(page.map((x) => x.pss)).toFixed(0), median(page.map((x) => x.typical)).toFixed(0), '≥ 0.8×, < 100 MB'],
      ['ferry get (a ticket over the socket, the bytes over HTTP)', c.toFixed(0), (c / o).toFixed(2), median(cpu.cli).toFixed(2), '', '', ''],
    ],
  ),
);
