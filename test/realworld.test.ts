/**
 * Files written by other muxers (../shared/realworld/, each with what a plain `<video>` does with it), played
 * through the page in Chromium. So far the cases issue 24 names where Ferry did worse than a plain `<video>`:
 * Opus in a GPAC fragmented MP4, a GStreamer WebM whose CodecID ends in a NUL byte, a QuickTime movie with
 * PCM (`sowt`) audio, and a QuickTime movie with no ftyp, which must say what it is.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineStats } from '../src/player/engine.js';
import { startStage, stopStage, type Stage } from './helpers/stage.js';

/** Where the corpus is: FERRY_REALWORLD, else beside the project, as on the machines that run it. */
const DIR = [process.env.FERRY_REALWORLD, join(process.cwd(), '../shared/realworld/files'), '/work/shared/realworld/files'].find(
  (dir): dir is string => dir !== undefined && existsSync(dir),
);
const FILES: Record<string, string> = {
  '/gpac-frag-opus.mp4': 'video/mp4',
  '/gstreamer-vp8.webm': 'video/webm',
  '/quicktime-sowt-pcm.mov': 'video/quicktime',
  '/quicktime-mjpeg-noftyp.mov': 'video/quicktime',
};

let stage: Stage;

beforeAll(async () => {
  stage = await startStage((origin) => {
    for (const [path, type] of Object.entries(FILES)) origin.set(path, { body: readFileSync(join(DIR!, path)), type });
  });
});
afterAll(() => stopStage(stage));

async function open(path: string, extra = ''): Promise<Page> {
  const page = await stage.browser.newPage();
  await page.goto(`http://127.0.0.1:${stage.relay.port}/?url=${encodeURIComponent(stage.origin.url(path))}&autoplay=1${extra}`);
  return page;
}

const stats = (page: Page): Promise<EngineStats> => page.evaluate(() => window.ferry.stats());

describe.skipIf(!DIR)('files written by other muxers', () => {
  it.each([
    ['/gpac-frag-opus.mp4', ''],
    ['/gstreamer-vp8.webm', ''],
    ['/quicktime-sowt-pcm.mov', ''],
    // Asked for MSE, whose MP4 takes no PCM: the browser's own player plays it instead.
    ['/quicktime-sowt-pcm.mov', '&threshold=1'],
  ])('%s plays as a plain <video> plays it (%s)', async (path, extra) => {
    const page = await open(path, extra);
    await page.waitForFunction(() => document.querySelector('video')!.currentTime > 0.5, undefined, { timeout: 20_000, polling: 100 });
    expect(await stats(page)).toMatchObject({ error: null });
    await page.close();
  });

  it('a QuickTime movie with no ftyp and Motion JPEG video says what it is and what stops it', async () => {
    const page = await open('/quicktime-mjpeg-noftyp.mov');
    const alert = page.getByRole('alert');
    await alert.waitFor({ state: 'visible', timeout: 20_000 });
    // Before issue 24: "the server sent something that is not audio or video (video/quicktime)".
    expect(await alert.textContent()).toMatch(/Motion JPEG video \(jpeg\), which this browser cannot play/);
    await page.close();
  });
});
