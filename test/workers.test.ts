/**
 * What a user of the Workers build sees, run in workerd by Miniflare: `ferry get` through it with its
 * password, and the page it serves as static assets playing an MP4 through MSE and a WebM in the browser's
 * own player (by a play ticket on /media/), in Chromium.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { launchBrowser } from './helpers/browser.js';
import { ferry } from './helpers/cli.js';
import { EDGES, type EdgeRelay } from './helpers/edges.js';
import { formatMedia, testMedia } from './helpers/media.js';
import { Origin, sha256, testBytes } from './helpers/origin.js';

const body = testBytes(20 * 1024 * 1024, 9);
const PASSWORD = 'a password for the edge';
const dir = mkdtempSync(join(tmpdir(), 'ferry-workers-'));
let origin: Origin;
let guarded: EdgeRelay;
let open: EdgeRelay;
let browser: Browser;

beforeAll(async () => {
  origin = await new Origin().start();
  origin.set('/film.bin', { body });
  origin.set('/film.mp4', { body: testMedia().moovLast, type: 'video/mp4' });
  origin.set('/film.webm', { body: formatMedia().webm, type: 'video/webm' });
  guarded = await EDGES.workers({ allow: [origin.hostPort], password: PASSWORD });
  open = await EDGES.workers({ allow: [origin.hostPort] });
  browser = await launchBrowser();
  writeFileSync(join(dir, 'pw'), `${PASSWORD}\n`);
  writeFileSync(join(dir, 'bad'), 'not the password\n');
});

afterAll(async () => {
  await browser?.close();
  await guarded?.close();
  await open?.close();
  await origin?.close();
});

const ferryGet = (url: string, out: string, passwordFile: string): Promise<{ code: number; stderr: string }> =>
  ferry(['get', url, '-o', out, '--relay', guarded.url, '--password-file', passwordFile]);

describe('the Workers build', () => {
  it('`ferry get` downloads through it byte for byte, and a wrong password is refused', async () => {
    const out = join(dir, 'film.bin');
    expect((await ferryGet(origin.url('/film.bin'), out, join(dir, 'pw'))).code).toBe(0);
    expect(sha256(readFileSync(out))).toBe(sha256(body));
    const refused = await ferryGet(origin.url('/film.bin'), join(dir, 'other.bin'), join(dir, 'bad'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/auth_refused/);
  });

  it('refuses a socket from another site’s page, and a Worker set up without a ticket secret says what is missing', async () => {
    const foreign = new WebSocket(open.url, { origin: 'https://evil.example' });
    const status = await new Promise<number>((done) => {
      foreign.once('unexpected-response', (_req, res) => done(res.statusCode ?? 0));
      foreign.once('open', () => done(101));
    });
    expect(status).toBe(403);
    const unset = await EDGES.workers({ allow: [origin.hostPort], ticketSecret: null });
    try {
      const res = await fetch(`${unset.base}/healthz`);
      expect(res.status).toBe(500);
      expect(await res.text()).toMatch(/FERRY_TICKET_SECRET must be a secret of at least 32 characters/);
    } finally {
      await unset.close();
    }
  });

  it.each([['an MP4 through MSE', '/film.mp4'], ['a WebM in the browser’s own player', '/film.webm']])('its page plays %s', async (_what, path) => {
    const page = await browser.newPage();
    await page.goto(`${open.base}/?url=${encodeURIComponent(origin.url(path))}&autoplay=1&threshold=0`);
    await page.waitForFunction(() => document.querySelector('video')!.currentTime > 1, undefined, { timeout: 20_000, polling: 100 });
    expect(await page.evaluate(() => window.ferry.stats().error)).toBeNull();
    await page.close();
  });
});
