/**
 * npm run bench:convert: the cost of converting sound in the page. A 10-minute film with AC-3 5.1 (48 kHz),
 * and its twin with the same picture and AAC stereo sound, each played by Ferry through the relay in a fresh
 * Chromium: first frame, three seeks to unbuffered points, 10 s at 16x, the page's JS heap, and the CPU the
 * browser spends reading and converting 60 s of sound (the AC-3 film's less the AAC twin's, per second of
 * sound: the share of one core the conversion takes). Medians of 3, both films in the same run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../test/helpers/browser.js';
import { syncFilm } from '../test/helpers/converted-media.js';
import { browserPid, cpuSecondsOf, MB, MEDIA_DIR, median, processTree } from './lib.js';
import { startOrigin, startRelayFor, table, timeToFrame } from './lib.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SEEKS = [0.5, 0.2, 0.8];

/**
 * A minute of 360p picture at a film's 3 Mbit/s (so that 20 s ahead is 7.5 MB, and seeks land outside what
 * is read) with the sync film's sound, AC-3 5.1 or AAC stereo, looped ten times.
 */
function film(sound: 'ac3' | 'aac'): string {
  syncFilm();
  const out = join(MEDIA_DIR, `bench-convert-${sound}.mp4`);
  const minute = join(MEDIA_DIR, `bench-convert-${sound}-minute.mp4`);
  const ffmpeg = (args: string): void => void execFileSync('ffmpeg', ['-v', 'error', '-y', ...args.split(' ')]);
  if (!existsSync(out)) {
    const sync = join(MEDIA_DIR, 'test', 'sync-ac3.mp4');
    const rate = '-b:v 3M -minrate 3M -maxrate 3M -bufsize 2M -x264-params nal-hrd=cbr';
    const picture = `-f lavfi -i testsrc2=size=640x360:rate=25:duration=60 -i ${sync}`;
    const map = `-map 0:v -map 1:a:${sound === 'ac3' ? 0 : 1}`;
    ffmpeg(`${picture} ${map} -c:v libx264 -preset veryfast -g 50 ${rate} -c:a copy ${minute}`);
    ffmpeg(`-stream_loop 9 -i ${minute} -c copy ${out}`);
  }
  return out;
}

interface Run { firstFrame: number; seeks: number[]; heap: number; cpu: number; read: number; fast: number }

async function runOne(relayPort: number, url: string): Promise<Run> {
  const marker = `--ferry-bench=${Math.random().toString(36).slice(2)}`;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_ARGS, marker] });
  try {
    const pid = browserPid(marker);
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${relayPort}/`);
    await page.evaluate(() => (document.querySelector('video')!.muted = true));
    await page.waitForTimeout(1000);
    const cpu0 = cpuSecondsOf(processTree(pid));
    const firstFrame = await timeToFrame(page, `window.ferry.play(${JSON.stringify(url)})`);
    // The sound read ahead from the start is converted meanwhile: the CPU of that, with the reading and playing.
    await page.waitForTimeout(4000);
    const cpu = cpuSecondsOf(processTree(pid)) - cpu0;
    const read = await page.evaluate(() => {
      const b = document.querySelector('video')!.buffered;
      return b.length ? b.end(b.length - 1) : 0;
    });
    const seeks: number[] = [];
    for (const at of SEEKS) seeks.push(await timeToFrame(page, `video.currentTime = video.duration * ${at}`));
    type Memory = { memory: { usedJSHeapSize: number } };
    const heap = await page.evaluate(() => (performance as unknown as Memory).memory.usedJSHeapSize);
    // At 16x from the second seek's place for 10 s: the media seconds played (160 if nothing waits).
    const fast = await page.evaluate(async () => {
      const v = document.querySelector('video')!;
      const from = v.currentTime;
      v.playbackRate = 16;
      await new Promise((done) => setTimeout(done, 10_000));
      return v.currentTime - from;
    });
    return { firstFrame, seeks, heap, cpu, read, fast };
  } finally {
    await browser.close();
  }
}

const results: Record<'ac3' | 'aac', Run[]> = { ac3: [], aac: [] };
for (const sound of ['ac3', 'aac'] as const) {
  const origin = await startOrigin(film(sound));
  const relay = await startRelayFor(origin.match[1]!);
  const url = origin.match[2]!;
  for (let k = 0; k < RUNS; k++) results[sound].push(await runOne(Number(relay.match[1]), url));
  relay.child.kill();
  origin.child.kill();
}

const m = (sound: 'ac3' | 'aac', f: (r: Run) => number): number => median(results[sound].map(f));
const seek = (r: Run): number => median(r.seeks);
const converted = m('ac3', (r) => r.read);
const cpuShare = (m('ac3', (r) => r.cpu) - m('aac', (r) => r.cpu)) / converted;
console.log(table(['', 'AC-3 5.1, converted', 'AAC stereo', 'ratio'], [
  ['first frame (ms)', m('ac3', (r) => r.firstFrame).toFixed(0), m('aac', (r) => r.firstFrame).toFixed(0),
    `${(m('ac3', (r) => r.firstFrame) / m('aac', (r) => r.firstFrame)).toFixed(2)}×`],
  ['seek (ms, median of 3)', m('ac3', seek).toFixed(0), m('aac', seek).toFixed(0),
    `${(m('ac3', seek) / m('aac', seek)).toFixed(2)}×`],
  ['media seconds played in 10 s at 16x', m('ac3', (r) => r.fast).toFixed(0), m('aac', (r) => r.fast).toFixed(0),
    `${(m('ac3', (r) => r.fast) / m('aac', (r) => r.fast)).toFixed(2)}×`],
  ['JS heap after (MB)', (m('ac3', (r) => r.heap) / MB).toFixed(1), (m('aac', (r) => r.heap) / MB).toFixed(1), ''],
  ['browser CPU, start + 4 s (s)', m('ac3', (r) => r.cpu).toFixed(2), m('aac', (r) => r.cpu).toFixed(2), ''],
]));
console.log(`conversion: ${(100 * cpuShare).toFixed(1)}% of one core per second of 5.1 sound converted ` +
  `(the CPU difference above over the ${converted.toFixed(1)} s buffered, so converted, in it)`);
