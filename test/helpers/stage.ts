/** What a browser test stands on: the page built, a real origin, a relay allowed to reach it, and Chromium. */
import type { Browser, Page } from 'playwright-core';
import type { Relay } from '../../src/relay/node/server.js';
import { buildPage, launchBrowser } from './browser.js';
import { Origin } from './origin.js';
import { startRelay, type TestRelayOptions } from './relay.js';

export interface Stage {
  origin: Origin;
  relay: Relay;
  browser: Browser;
}

/** `files` puts the test's files on the origin before the relay starts; `relay`: the relay's settings beyond. */
export async function startStage(files: (origin: Origin) => void, relayOptions: TestRelayOptions = {}): Promise<Stage> {
  buildPage();
  const origin = await new Origin().start();
  files(origin);
  const relay = await startRelay({ allow: [origin.hostPort], ...relayOptions });
  return { origin, relay, browser: await launchBrowser() };
}

/** Closes what started, in reverse order; parts that never started are skipped. */
export async function stopStage(stage: Partial<Stage>): Promise<void> {
  await stage.browser?.close();
  await stage.relay?.close();
  await stage.origin?.close();
}

/** Pages of the relay's player on the stage's links (made before the stage starts, so it is read late). */
export function pages(stage: () => Stage): {
  pageUrl: (extra?: string, path?: string) => string;
  playingPage: (extra?: string, path?: string) => Promise<Page>;
  playing: (page: Page, beyond?: number) => Promise<void>;
  video: <T>(page: Page, read: string) => Promise<T>;
} {
  /** The page on the origin's `path`, autoplaying through MSE whatever the size, with `extra` arguments. */
  const pageUrl = (extra = '', path = '/film.mp4'): string =>
    `http://127.0.0.1:${stage().relay.port}/?url=${encodeURIComponent(stage().origin.url(path))}&autoplay=1&threshold=0${extra}`;
  /** Resolves once the video has played past `beyond` seconds. */
  const playing = async (page: Page, beyond = 0.5): Promise<void> => {
    await page.waitForFunction((t) => document.querySelector('video')!.currentTime > t, beyond, { timeout: 20_000, polling: 100 });
  };
  /** A new page playing the link (`pageUrl`'s arguments), past its first half second. */
  const playingPage = async (extra = '', path = '/film.mp4'): Promise<Page> => {
    const page = await stage().browser.newPage();
    await page.goto(pageUrl(extra, path));
    await playing(page);
    return page;
  };
  /** `read`, an expression of `video` (the page's element), evaluated in the page. */
  const video = <T>(page: Page, read: string): Promise<T> => page.evaluate(`(() => { const video = document.querySelector('video'); return ${read}; })()`);
  return { pageUrl, playingPage, playing, video };
}
