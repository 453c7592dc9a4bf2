/** The player in headless Chromium, through a real relay, from a real origin. */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineStats } from '../src/player/engine.js';
import type { Relay } from '../src/relay/server.js';
import { buildPage, launchBrowser } from './helpers/browser.js';
import { testMedia, type TestMedia } from './helpers/media.js';
import { Origin } from './helpers/origin.js';
import { startRelay } from './helpers/relay.js';

let media: TestMedia;
let origin: Origin;
let relay: Relay;
let browser: Browser;

beforeAll(async () => {
  buildPage();
  media = testMedia();
  origin = await new Origin().start();
  origin.set('/last.mp4', { body: media.moovLast, type: 'video/mp4' });
  origin.set('/first.mp4', { body: media.moovFirst, type: 'video/mp4' });
  origin.set('/hevc.mp4', { body: media.hevc, type: 'video/mp4' });
  origin.set('/audio.mp4', { body: media.audioOnly, type: 'audio/mp4' });
  origin.set('/video.mp4', { body: media.videoOnly, type: 'video/mp4' });
  origin.set('/cut.mp4', { body: media.truncated, type: 'video/mp4' });
  origin.set('/page.mp4', { body: new TextEncoder().encode('<!doctype html><html><body>Sign in to continue</body></html>'), type: 'text/html' });
  relay = await startRelay({ allow: [origin.hostPort] });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await relay?.close();
  await origin?.close();
});

const pageUrl = (path: string, extra = ''): string =>
  `http://127.0.0.1:${relay.port}/?url=${encodeURIComponent(origin.url(path))}&autoplay=1&threshold=0${extra}`;

async function open(path: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(pageUrl(path));
  return page;
}

const stats = (page: Page): Promise<EngineStats> => page.evaluate(() => window.ferry.stats());
const currentTime = (page: Page): Promise<number> => page.evaluate(() => document.querySelector('video')!.currentTime);

async function waitPlaying(page: Page, beyond: number, timeout = 20_000): Promise<void> {
  await page.waitForFunction((t) => document.querySelector('video')!.currentTime > t, beyond, { timeout, polling: 100 });
}

async function bannerText(page: Page): Promise<string> {
  const alert = page.getByRole('alert');
  await alert.waitFor({ state: 'visible', timeout: 20_000 });
  return (await alert.textContent()) ?? '';
}

describe('player', () => {
  it('plays a file with the moov at the end', async () => {
    const page = await open('/last.mp4');
    await waitPlaying(page, 1.5);
    const s = await stats(page);
    expect(s).toMatchObject({ engine: 'mse', error: null });
    expect(s.codecs).toEqual(expect.arrayContaining([expect.stringMatching(/^avc1/), expect.stringMatching(/^mp4a/)]));
    await page.close();
  });

  it('plays a file with the moov first', async () => {
    const page = await open('/first.mp4');
    await waitPlaying(page, 1.5);
    expect((await stats(page)).engine).toBe('mse');
    await page.close();
  });
});
