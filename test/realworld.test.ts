/**
 * Files written by other muxers (../shared/realworld/: Apple, Android, GoPro, GPAC, Bento4, Shaka, mkvmerge,
 * GStreamer and others, each with what a plain `<video>` does with it in its manifest), played through the
 * page in Chromium on both engines: the browser's own, and MSE where it takes the file (`threshold=1`). Every
 * file a plain `<video>` plays, plays, and seeks; every other one says what it is and what stops it, or plays
 * what it can with a word about the rest.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineStats } from '../src/player/engine.js';
import { REALWORLD_DIR } from './helpers/realworld.js';
import { startStage, stopStage, type Stage } from './helpers/stage.js';

const DIR = REALWORLD_DIR;

interface Entry { name: string; expect: 'play' | 'error' }
const FILES: Entry[] = DIR ? (JSON.parse(readFileSync(join(DIR, '../manifest.json'), 'utf8')) as { files: Entry[] }).files : [];

const HEVC_ALONE = /cannot play this file's HEVC video \(hvc1[^)]*\): the rest plays without it/;

/**
 * What the page says of each file a plain `<video>` cannot play: an error (alert), or a notice while it
 * plays; or that Ferry plays it (sound converted in the page).
 */
const SAYS: Record<string, { alert?: RegExp; notice?: RegExp; plays?: true }> = {
  // Their sound plays, as in a plain <video>, with a word about the picture.
  'android-hevc-mett-rot90.mp4': { notice: HEVC_ALONE },
  'apple-iphone-hevc-rot90.mov': { notice: HEVC_ALONE },
  'audiobook-stub-big-moov.m4b': { alert: /this file holds none of its media/ },
  // Its E-AC-3 5.1 converted in the page (before issue 25: "E-AC-3 audio (ec-3), which this browser cannot play").
  'bento4-eac3.mp4': { plays: true },
  'mkvmerge-alac.mka': { alert: /ALAC audio \(alac\), which this browser cannot play/ },
  'mpegts-h264-aac.ts': { alert: /this is an MPEG transport stream/ },
  'phone-h263-amr.3gp': { alert: /H\.263 video \(s263\) and AMR audio \(samr\), which this browser cannot play/ },
  'quicktime-mjpeg-noftyp.mov': { alert: /Motion JPEG video \(jpeg\), which this browser cannot play/ },
  'theora-vorbis.ogv': { notice: /cannot play this file's Theora video \(theora\): the rest plays without it/ },
  'usp-cbcs-frag.mp4': { alert: /this file is encrypted \(DRM: encv\)/ },
};

let stage: Stage;

beforeAll(async () => {
  if (!DIR) return;
  // Served as a careless server serves files: with no useful type, so the page must tell them by their bytes.
  stage = await startStage((origin) => {
    for (const f of FILES) origin.set(`/${f.name}`, { body: readFileSync(join(DIR, f.name)), type: 'application/octet-stream' });
  });
});
afterAll(() => stage && stopStage(stage));

async function open(name: string, extra: string): Promise<Page> {
  const page = await stage.browser.newPage();
  await page.goto(`http://127.0.0.1:${stage.relay.port}/?url=${encodeURIComponent(stage.origin.url(`/${name}`))}&autoplay=1${extra}`);
  return page;
}

const stats = (page: Page): Promise<EngineStats> => page.evaluate(() => window.ferry.stats());
const passes = (page: Page, t: number): Promise<unknown> =>
  page.waitForFunction((at) => document.querySelector('video')!.currentTime > at || document.querySelector('video')!.ended, t, { timeout: 20_000, polling: 100 });

/** Plays past half a second, then (a file of a known length over 2 s) seeks to its middle and plays on. */
async function playsAndSeeks(page: Page): Promise<void> {
  await passes(page, 0.5);
  expect((await stats(page)).error).toBeNull();
  const duration = await page.evaluate(() => document.querySelector('video')!.duration);
  if (!Number.isFinite(duration) || duration < 2) return;
  await page.evaluate((t) => (document.querySelector('video')!.currentTime = t), duration / 2);
  await passes(page, duration / 2 + 0.2);
  expect((await stats(page)).error).toBeNull();
}

describe.skipIf(!DIR)('files written by other muxers', () => {
  const cases = FILES.flatMap((f) => [[f.name, f.expect, ''], [f.name, f.expect, '&threshold=1']] as const);
  it.each(cases)('%s (a plain <video>: %s) %s', async (name, expected, extra) => {
    const page = await open(name, extra);
    try {
      const says = SAYS[name];
      if (expected === 'play' || says?.plays) return await playsAndSeeks(page);
      expect(says, `what the page says of ${name}`).toBeDefined();
      if (says!.alert) {
        await page.getByRole('alert').waitFor({ state: 'visible', timeout: 20_000 });
        expect(await page.getByRole('alert').textContent()).toMatch(says!.alert);
      } else {
        await passes(page, 0.5);
        expect(await page.getByRole('status').textContent()).toMatch(says!.notice!);
      }
    } finally {
      await page.close();
    }
  });
});
