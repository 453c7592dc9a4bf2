/**
 * npm run bench:player [-- --big] [-- --mkv]: a 2 GB moov-at-end 720p MP4 (8 GB with --big; the same film as
 * Matroska with --mkv, its Cues at the end) played by Ferry through the
 * relay (its MSE engine, and its native engine: the browser's own player reading the relay's /media/ path),
 * and by a plain <video src> straight from the origin over HTTP Range, in the same run: a Play pressed in an
 * open page timed to the first frame and to playback moving (a frame 0.1 s in), five seeks to unbuffered
 * points timed the same way, and whether playback waited before it was 1 s on; 20 s at 16x; the browser's
 * peak memory (PSS over Chromium's processes, minus the idle browser) and the page's JS heap. Medians of
 * several runs.
 */
import { statSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_ARGS } from '../test/helpers/browser.js';
import { browserPid, GB, MB, median, startOrigin, startRelayFor, table, timeToMoving, treePss } from './lib.js';
import type { Start } from './lib.js';
import { benchMatroska, benchVideo } from './video.js';

const BIG = process.argv.includes('--big');
const MKV = process.argv.includes('--mkv');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SEEKS = [0.1, 0.5, 0.9, 0.3, 0.7];

interface RunResult { start: Start; seeks: Start[]; pssPeak: number; heapPeak: number; played16x: number }

type Kind = 'plain' | 'ferry' | 'native';

async function runOne(kind: Kind, relayPort: number, mediaUrl: string): Promise<RunResult> {
  const marker = `--ferry-bench=${Math.random().toString(36).slice(2)}`;
  const browser: Browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: [...CHROMIUM_ARGS, marker] });
  try {
    const pid = browserPid(marker);
    const page = await browser.newPage();
    // A threshold above any file sends even this MP4 to the native engine.
    await page.goto(`http://127.0.0.1:${relayPort}/${kind === 'native' ? '?threshold=1e15' : ''}`);
    await page.evaluate(() => {
      const v = document.querySelector('video')!;
      v.muted = true;
    });
    await page.waitForTimeout(1000);
    const idle = treePss(pid);
    let pssPeak = 0;
    let heapPeak = 0;
    const sampler = setInterval(() => {
      pssPeak = Math.max(pssPeak, treePss(pid) - idle);
      void page
        .evaluate(() => (performance as unknown as { memory: { usedJSHeapSize: number } }).memory.usedJSHeapSize)
        .then((h) => (heapPeak = Math.max(heapPeak, h)), () => {});
    }, 250);
    try {
      const start = kind === 'plain' ? `video.src = ${JSON.stringify(mediaUrl)}; video.play()` : `window.ferry.play(${JSON.stringify(mediaUrl)})`;
      const started = await timeToMoving(page, start);
      const duration = await page.evaluate(() => document.querySelector('video')!.duration);
      const seeks: Start[] = [];
      for (const f of SEEKS) seeks.push(await timeToMoving(page, `video.currentTime = ${f * duration}`));
      const t16 = await page.evaluate(() => document.querySelector('video')!.currentTime);
      await page.evaluate(() => (document.querySelector('video')!.playbackRate = 16));
      await page.waitForTimeout(20_000);
      const played16x = (await page.evaluate(() => document.querySelector('video')!.currentTime)) - t16;
      const error = kind === 'plain' ? null : await page.evaluate(() => window.ferry.stats().error);
      if (error) throw new Error(`ferry reported ${error.code}: ${error.message}`);
      return { start: started, seeks, pssPeak, heapPeak, played16x };
    } finally {
      clearInterval(sampler);
    }
  } finally {
    await browser.close();
  }
}

const file = (MKV ? benchMatroska : benchVideo)(BIG ? 8 * GB : 2 * GB);
const origin = await startOrigin(file);
const originPort = Number(origin.match[1]);
const relay = await startRelayFor(originPort);
const relayPort = Number(relay.match[1]);
const results: Record<Kind, RunResult[]> = { plain: [], ferry: [], native: [] };
try {
  for (let i = 0; i < RUNS; i++) {
    for (const kind of ['plain', 'ferry', 'native'] as const) {
      process.stderr.write(`run ${i + 1}/${RUNS} ${kind}… `);
      const r = await runOne(kind, relayPort, origin.match[2]!);
      results[kind].push(r);
      const seeks = r.seeks.map((x) => `${x.frame.toFixed(0)}/${x.moving.toFixed(0)}`).join(' ');
      const start = `first frame ${r.start.frame.toFixed(0)} ms, moving ${r.start.moving.toFixed(0)} ms`;
      const memory = `peak ${(r.pssPeak / MB).toFixed(0)} MB, heap ${(r.heapPeak / MB).toFixed(0)} MB`;
      process.stderr.write(`${start}, seeks ${seeks} ms, ${memory}, 16x played ${r.played16x.toFixed(0)} s\n`);
    }
  }
} finally {
  relay.child.kill();
  origin.child.kill();
}

const summary = (rs: RunResult[]) => ({
  firstFrame: median(rs.map((r) => r.start.frame)),
  moving: median(rs.map((r) => r.start.moving)),
  seek: median(rs.flatMap((r) => r.seeks.map((x) => x.frame))),
  seekMoving: median(rs.flatMap((r) => r.seeks.map((x) => x.moving))),
  // Starts and seeks that waited before playback was 1 s on, of all of them.
  waited: rs.flatMap((r) => [r.start, ...r.seeks]).filter((x) => x.waits > 0).length,
  pss: median(rs.map((r) => r.pssPeak)) / MB,
  heap: median(rs.map((r) => r.heapPeak)) / MB,
  played: median(rs.map((r) => r.played16x)),
});
const p = summary(results.plain);
const f = summary(results.ferry);
const n = summary(results.native);
const rows: [string, keyof typeof p, string][] = [
  ['Play pressed: first frame (ms)', 'firstFrame', '≤ 1.00'],
  ['Play pressed: playback moving (ms)', 'moving', '≤ 1.00'],
  ['seek to unbuffered: first frame (ms)', 'seek', '≤ 1.00'],
  ['seek to unbuffered: playback moving (ms)', 'seekMoving', '≤ 1.00'],
  [`starts and seeks that waited in their first second (of ${RUNS * (SEEKS.length + 1)})`, 'waited', '0'],
  ['peak browser PSS − idle (MB)', 'pss', '≤ 0.50'],
  ['peak JS heap (MB)', 'heap', 'Ferry < 64 MB'],
  ['media seconds played in 20 s at 16x', 'played', ''],
];
const form = MKV ? 'Matroska (Cues at the end)' : 'moov-at-end';
const runs = `medians of ${RUNS} runs (seek: median of all ${SEEKS.length * RUNS} seeks)`;
console.log(`\nbench:player, ${(statSync(file).size / GB).toFixed(1)} GB ${form} 720p, ${runs}\n`);
console.log(
  table(
    ['measure', 'plain <video src>', 'Ferry MSE', 'MSE / plain', 'Ferry native', 'native / plain', 'target (MSE)'],
    rows.map(([name, key, target]) => {
      const ratio = (x: number): string => (key === 'waited' ? '' : (x / p[key]).toFixed(2));
      return [name, p[key].toFixed(0), f[key].toFixed(0), ratio(f[key]), n[key].toFixed(0), ratio(n[key]), target];
    }),
  ),
);
