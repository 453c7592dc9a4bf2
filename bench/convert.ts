/**
 * npm run bench:convert: the cost of converting sound in the page. A 10-minute film with AC-3 5.1 (48 kHz) in
 * MP4, one with TrueHD 5.1 in Matroska (decoded by the relay, `--decode-audio`), and their twins with the same
 * picture and AAC stereo sound in the same container, each played by Ferry through the relay in a fresh
 * Chromium: first frame, three seeks to unbuffered points, 10 s at 16x, the page's JS heap, and the CPU the
 * browser spends reading and converting the sound read in 4 s (the converted film's less its twin's, per
 * second of sound: the share of one core the conversion takes), and the relay's ffmpeg for TrueHD. Medians of
 * 3, all films in the same run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../test/helpers/browser.js';
import { syncFilm } from '../test/helpers/converted-media.js';
import { browserPid, cpuSecondsOf, MB, MEDIA_DIR, median, processTree } from './lib.js';
import { startOrigin, startRelayFor, table, timeToFrame } from './lib.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SEEKS = [0.5, 0.2, 0.8];

/** The films: a converted one and its twin with AAC sound, in each container. */
const FILMS = {
  ac3: { from: 'sync-ac3.mp4', track: 0, ext: 'mp4' },
  aac: { from: 'sync-ac3.mp4', track: 1, ext: 'mp4' },
  truehd: { from: 'sync-truehd.mkv', track: 0, ext: 'mkv' },
  aacMkv: { from: 'sync-truehd.mkv', track: 1, ext: 'mkv' },
} as const;
type FilmName = keyof typeof FILMS;

/**
 * A minute of 360p picture at a film's 3 Mbit/s (so that 20 s ahead is 7.5 MB, and seeks land outside what
 * is read) with a sync film's sound (AC-3 5.1, TrueHD 5.1 or AAC stereo), looped ten times.
 */
function film(name: FilmName): string {
  syncFilm();
  syncFilm('truehd');
  const { from, track, ext } = FILMS[name];
  const out = join(MEDIA_DIR, `bench-convert-${name}.${ext}`);
  const minute = join(MEDIA_DIR, `bench-convert-${name}-minute.${ext}`);
  const ffmpeg = (args: string): void => void execFileSync('ffmpeg', ['-v', 'error', '-y', ...args.split(' ')]);
  if (!existsSync(out)) {
    const rate = '-b:v 3M -minrate 3M -maxrate 3M -bufsize 2M -x264-params nal-hrd=cbr';
    const picture = `-f lavfi -i testsrc2=size=640x360:rate=25:duration=60 -i ${join(MEDIA_DIR, 'test', from)}`;
    ffmpeg(`${picture} -map 0:v -map 1:a:${track} -c:v libx264 -preset veryfast -g 50 ${rate} -c:a copy ${minute}`);
    ffmpeg(`-stream_loop 9 -i ${minute} -c copy ${out}`);
  }
  return out;
}

/** CPU seconds of the relay's ffmpeg processes (its decoders) now running. */
function decoderCpu(relayPid: number): number {
  const comm = (pid: number): string => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  };
  return cpuSecondsOf(processTree(relayPid).filter((pid) => comm(pid) === 'ffmpeg'));
}

interface Run {
  firstFrame: number;
  seeks: number[];
  heap: number;
  cpu: number;
  relayCpu: number;
  read: number;
  fast: number;
}

async function runOne(relay: { port: number; pid: number }, url: string): Promise<Run> {
  const marker = `--ferry-bench=${Math.random().toString(36).slice(2)}`;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_ARGS, marker] });
  try {
    const pid = browserPid(marker);
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${relay.port}/`);
    await page.evaluate(() => (document.querySelector('video')!.muted = true));
    await page.waitForTimeout(1000);
    const cpu0 = cpuSecondsOf(processTree(pid));
    const firstFrame = await timeToFrame(page, `window.ferry.play(${JSON.stringify(url)})`);
    // The sound read ahead from the start is converted meanwhile: the CPU of that, with the reading and playing.
    await page.waitForTimeout(4000);
    const cpu = cpuSecondsOf(processTree(pid)) - cpu0;
    const relayCpu = decoderCpu(relay.pid);
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
    return { firstFrame, seeks, heap, cpu, relayCpu, read, fast };
  } finally {
    await browser.close();
  }
}

const results = Object.fromEntries(Object.keys(FILMS).map((name) => [name, [] as Run[]])) as Record<FilmName, Run[]>;
for (const name of Object.keys(FILMS) as FilmName[]) {
  const origin = await startOrigin(film(name));
  const relay = await startRelayFor(origin.match[1]!, '--decode-audio');
  const url = origin.match[2]!;
  const at = { port: Number(relay.match[1]), pid: relay.child.pid! };
  for (let k = 0; k < RUNS; k++) results[name].push(await runOne(at, url));
  relay.child.kill();
  origin.child.kill();
}

const m = (name: FilmName, f: (r: Run) => number): number => median(results[name].map(f));
const seek = (r: Run): number => median(r.seeks);
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
/** A row: the converted film and its twin, for each container, with the ratio where it means something. */
const row = (label: string, f: (r: Run) => number, digits: number, ratios = true): string[] => [label,
  ...(['ac3', 'aac', 'truehd', 'aacMkv'] as const).map((name) => m(name, f).toFixed(digits)),
  ratios ? ratio(m('ac3', f), m('aac', f)) : '', ratios ? ratio(m('truehd', f), m('aacMkv', f)) : ''];
console.log(table(['', 'AC-3 5.1 (MP4)', 'AAC twin', 'TrueHD 5.1 (MKV)', 'AAC twin', 'AC-3 ratio', 'TrueHD ratio'], [
  row('first frame (ms)', (r) => r.firstFrame, 0),
  row('seek (ms, median of 3)', seek, 0),
  row('media seconds played in 10 s at 16x', (r) => r.fast, 0),
  row('JS heap after (MB)', (r) => r.heap / MB, 1, false),
  row('browser CPU, start + 4 s (s)', (r) => r.cpu, 2, false),
]));
for (const [name, twin, what] of [['ac3', 'aac', 'AC-3'], ['truehd', 'aacMkv', 'TrueHD']] as const) {
  const converted = m(name, (r) => r.read);
  const share = (m(name, (r) => r.cpu) - m(twin, (r) => r.cpu)) / converted;
  console.log(`${what}: the page ${(100 * share).toFixed(1)}% of one core per second of 5.1 sound converted ` +
    `(the CPU difference above over the ${converted.toFixed(1)} s buffered, so converted, in it)`);
}
const relayShare = m('truehd', (r) => r.relayCpu) / m('truehd', (r) => r.read);
console.log(`TrueHD: the relay's ffmpeg ${(100 * relayShare).toFixed(1)}% of one core per second of sound decoded`);
