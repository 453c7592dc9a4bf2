/** What a browser test stands on: the page built, a real origin, a relay allowed to reach it, and Chromium. */
import type { Browser } from 'playwright-core';
import type { Relay } from '../../src/relay/node/server.js';
import { buildPage, launchBrowser } from './browser.js';
import { Origin } from './origin.js';
import { startRelay } from './relay.js';

export interface Stage {
  origin: Origin;
  relay: Relay;
  browser: Browser;
}

/** `files` puts the test's files on the origin before the relay starts. */
export async function startStage(files: (origin: Origin) => void): Promise<Stage> {
  buildPage();
  const origin = await new Origin().start();
  files(origin);
  const relay = await startRelay({ allow: [origin.hostPort] });
  return { origin, relay, browser: await launchBrowser() };
}

/** Closes what started, in reverse order; parts that never started are skipped. */
export async function stopStage(stage: Partial<Stage>): Promise<void> {
  await stage.browser?.close();
  await stage.relay?.close();
  await stage.origin?.close();
}
