/**
 * npm run bench:timeline: one start of the 2 GB moov-at-end film, laid out step by step, as a visitor has it:
 * a fresh browser opens the deep link (`/?url=…&autoplay=1`), and each step is timed from that navigation (the
 * page's own `ferry:` marks, src/client/start-marks.ts; the HTML and the script from the browser's navigation
 * and resource timing; the first frame and a frame 0.1 s in from the video). The plain `<video src autoplay>`
 * of the same film over the same link, beside it. On loopback and on each of bench:wan's links; medians of 3.
 */
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../test/helpers/browser.js';
import { GB, median, openAndStart, startOrigin, startPageServer, startRelayFor, table } from './lib.js';
import { Link, PROFILES, type LinkProfile } from './link.js';
import { benchVideo } from './video.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

/** The steps, in the order a start takes them, with what each is. */
const STEPS: [string, string][] = [
  ['html', 'the page\'s HTML in'],
  ['socket-open', 'the relay\'s socket open (hello and index request sent)'],
  ['welcome', 'the relay\'s welcome'],
  ['first-bytes', 'the index\'s first bytes'],
  ['script-in', 'the player\'s script in'],
  ['script', 'the player\'s script running'],
  ['first-answer', 'the index read, the first answer taken'],
  ['source-open', 'the MediaSource open'],
  ['engine', 'the engine chosen'],
  ['first-append', 'the first append'],
  ['frame', 'first frame presented'],
  ['moving', 'playback moving (a frame 0.1 s in)'],
];

type Times = Record<string, number>;

/** One start in a fresh browser: each step's ms from navigation (missing: not reached, or not marked). */
async function startOnce(url: string): Promise<Times> {
  const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    await openAndStart(page, url);
    return await page.evaluate(`(() => {
      const times = {};
      const nav = performance.getEntriesByType('navigation')[0];
      times.html = nav.responseEnd;
      const script = performance.getEntriesByType('resource').find((r) => /\\/assets\\/index-[^/]*\\.js$/.test(r.name));
      if (script) times['script-in'] = script.responseEnd;
      for (const m of performance.getEntriesByType('mark')) {
        if (m.name.startsWith('ferry:')) times[m.name.slice(6)] = m.startTime;
      }
      times.frame = window.started.frame;
      times.moving = window.started.moving;
      return times;
    })()`);
  } finally {
    await browser.close();
  }
}

/** The medians of RUNS starts of each kind over one link (none: loopback). */
type Both = { ferry: Times; plain: Times };

async function onLink(file: string, profile: LinkProfile | null, pagePort: number): Promise<Both> {
  const origin = await startOrigin(file);
  const originPort = Number(origin.match[1]);
  const relay = await startRelayFor(originPort);
  const relayPort = Number(relay.match[1]);
  const link = async (port: number): Promise<{ port: number; close(): Promise<void> }> =>
    profile ? new Link(port, profile).start() : { port, close: async () => {} };
  const links = [await link(relayPort), await link(originPort), await link(pagePort)] as const;
  const originUrl = origin.match[2]!;
  const viaLink = originUrl.replace(`:${originPort}/`, `:${links[1].port}/`);
  const ferryUrl = `http://127.0.0.1:${links[0].port}/?url=${encodeURIComponent(originUrl)}&autoplay=1`;
  const plainUrl = `http://127.0.0.1:${links[2].port}/plain.html?src=${encodeURIComponent(viaLink)}`;
  const runs: { ferry: Times[]; plain: Times[] } = { ferry: [], plain: [] };
  try {
    for (let i = 0; i < RUNS; i++) {
      runs.ferry.push(await startOnce(ferryUrl));
      runs.plain.push(await startOnce(plainUrl));
    }
  } finally {
    for (const l of links) await l.close();
    relay.child.kill();
    origin.child.kill();
  }
  const medians = (all: Times[]): Times => Object.fromEntries(STEPS.flatMap(([step]) => {
    const seen = all.map((t) => t[step]).filter((v): v is number => v !== undefined);
    return seen.length ? [[step, median(seen)]] : [];
  }));
  return { ferry: medians(runs.ferry), plain: medians(runs.plain) };
}

const file = benchVideo(2 * GB);
const pagePort = await startPageServer();
const links: (LinkProfile | null)[] = [null, ...PROFILES];
const results: Both[] = [];
for (const profile of links) results.push(await onLink(file, profile, pagePort));
const cell = (t: Times, step: string): string => (t[step] === undefined ? '' : t[step]!.toFixed(0));
const names = links.map((p) => p?.name ?? 'loopback');
console.log(`\nbench:timeline, the 2 GB moov-at-end film, ms from navigation, medians of ${RUNS} fresh browsers\n`);
console.log(table(['step', ...names.map((n) => `Ferry, ${n}`)], STEPS.map(([step, what]) =>
  [what, ...results.map((r) => cell(r.ferry, step))])));
console.log(table(['plain <video src autoplay>', ...names], [['the page\'s HTML in', 'html'],
  ['first frame presented', 'frame'], ['playback moving (a frame 0.1 s in)', 'moving']].map(([what, step]) =>
  [what!, ...results.map((r) => cell(r.plain, step!))])));
process.exit(0);
