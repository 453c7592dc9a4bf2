/**
 * npm run bench:wan: Ferry against the browser's own player over an emulated network link (bench/link.ts),
 * the relay next to the origin: for Ferry the link is between the browser and the relay, for the plain
 * `<video src>` between the browser and the origin (and the page that holds it). Both are timed from
 * navigation, so Ferry pays for loading its page and opening its socket as a user does. Profiles: 20 ms each
 * way at 100 Mbit/s, and 50 ms each way at 20 Mbit/s; 2 GB and 8 GB moov-at-end files (with --mkv, the 2 GB
 * film as Matroska, Cues at the end). The deep link from a fresh browser timed to the first frame and to
 * playback moving (a frame 0.1 s in), and whether it waited before 1 s; five seeks to unbuffered points timed
 * the same way; medians of 3 runs.
 */
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../test/helpers/browser.js';
import { GB, median, openAndStart, startOrigin, startPageServer, startRelayFor, table, timeToMoving } from './lib.js';
import type { Start } from './lib.js';
import { Link, PROFILES, type LinkProfile } from './link.js';
import { benchMatroska, benchVideo } from './video.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SEEKS = [0.1, 0.5, 0.9, 0.3, 0.7];

type Kind = 'plain' | 'ferry';
interface RunResult { start: Start; seeks: Start[] }

async function runOne(url: string): Promise<RunResult> {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const start = await openAndStart(page, url);
    const duration = await page.evaluate(() => document.querySelector('video')!.duration);
    const seeks: Start[] = [];
    for (const f of SEEKS) seeks.push(await timeToMoving(page, `video.currentTime = ${f * duration}`));
    return { start, seeks };
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
        const seeks = r.seeks.map((x) => `${x.frame.toFixed(0)}/${x.moving.toFixed(0)}`).join(' ');
        const start = `first frame ${r.start.frame.toFixed(0)} ms, moving ${r.start.moving.toFixed(0)} ms`;
        process.stderr.write(`${profile.name}, ${kind} run ${i + 1}: ${start}, seeks ${seeks} ms\n`);
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
    const start = (k: Kind, f: (s: Start) => number): number => median(r[k].map((x) => f(x.start)));
    const seek = (k: Kind): number => median(r[k].flatMap((x) => x.seeks.map((s) => s.moving)));
    const waited = (k: Kind): number => r[k].flatMap((x) => [x.start, ...x.seeks]).filter((s) => s.waits > 0).length;
    const cells = (f: (k: Kind) => number): string[] =>
      [f('plain').toFixed(0), f('ferry').toFixed(0), (f('ferry') / f('plain')).toFixed(2)];
    const frame = cells((k) => start(k, (s) => s.frame));
    const moving = cells((k) => start(k, (s) => s.moving));
    rows.push([profile.name, size, ...frame, ...moving, ...cells(seek), `${waited('plain')} / ${waited('ferry')}`]);
  }
}
const runs = `medians of ${RUNS} runs (seek: median of all ${SEEKS.length * RUNS} seeks)`;
console.log(`\nbench:wan, ${MKV ? 'Matroska' : 'moov-at-end'} 720p files, ${runs}, from navigation\n`);
const both = (what: string, target: string): string[] =>
  [`plain ${what}`, `Ferry ${what}`, `Ferry / plain (${target})`];
const headers = ['link', 'file', ...both('first frame (ms)', 'was ≤ 0.80'), ...both('moving (ms)', 'target ≤ 0.80'),
  ...both('seek to moving (ms)', 'target ≤ 1.00'), `waited in the first second (of ${RUNS * (SEEKS.length + 1)})`];
console.log(table(headers, rows));
process.exit(0);
