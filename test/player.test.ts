/** The player in headless Chromium, through a real relay, from a real origin. */
import { spawn } from 'node:child_process';
import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineStats } from '../src/player/engine.js';
import { decodeDataFrame } from '../src/protocol/frames.js';
import { DEFAULT_GOALS } from '../src/player/mse-engine.js';
import type { Relay } from '../src/relay/node/server.js';
import { launchBrowser } from './helpers/browser.js';
import { testMedia, type TestMedia } from './helpers/media.js';
import { Origin, sha256 } from './helpers/origin.js';
import { startStage, stopStage } from './helpers/stage.js';
import { startRelay } from './helpers/relay.js';

let media: TestMedia;
let origin: Origin;
let relay: Relay;
let browser: Browser;

beforeAll(async () => {
  ({ origin, relay, browser } = await startStage((origin) => {
    media = testMedia();
    origin.set('/last.mp4', { body: media.moovLast, type: 'video/mp4' });
    origin.set('/first.mp4', { body: media.moovFirst, type: 'video/mp4' });
    origin.set('/hevc.mp4', { body: media.hevc, type: 'video/mp4' });
    origin.set('/audio.mp4', { body: media.audioOnly, type: 'audio/mp4' });
    origin.set('/video.mp4', { body: media.videoOnly, type: 'video/mp4' });
    origin.set('/cut.mp4', { body: media.truncated, type: 'video/mp4' });
    origin.set('/bframes.mp4', { body: media.bframes, type: 'video/mp4' });
    origin.set('/page.mp4', { body: new TextEncoder().encode('<!doctype html><html><body>Sign in to continue</body></html>'), type: 'text/html' });
  }));
});

afterAll(() => stopStage({ origin, relay, browser }));

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

/** Bytes received once they stop growing for a second. */
async function settledBytes(page: Page): Promise<number> {
  let last = -1;
  for (;;) {
    const now = (await stats(page)).bytesReceived;
    if (now === last) return now;
    last = now;
    await page.waitForTimeout(1000);
  }
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

  it('starts with one request, sent with the hello before any answer: the index of the file', async () => {
    const page = await browser.newPage();
    const seen: string[] = [];
    page.on('websocket', (ws) => {
      ws.on('framesent', (f) => seen.push(`sent ${String(f.payload)}`));
      ws.on('framereceived', (f) => seen.push(typeof f.payload === 'string' ? `received ${f.payload}` : 'received data'));
    });
    await page.goto(pageUrl('/last.mp4'));
    await waitPlaying(page, 0.5);
    expect(seen[0]).toMatch(/^sent \{"t":"hello"/);
    expect(seen[1]).toMatch(/^sent \{"t":"open","id":1,.*"index":"mp4"/);
    // The relay answered with the moov, coded and deflated: what the page would otherwise fetch by range.
    expect(seen.find((f) => f.startsWith('received {"t":"meta","id":1'))).toMatch(/"index":\{"encoding":"head-delta-deflate"/);
    await page.close();
  });

  it('asks for a link that plays at once before the page’s script has arrived, and the script takes it over', async () => {
    const page = await browser.newPage();
    const sent: string[] = [];
    let scriptServedAt = Infinity;
    let mediaOffset: number | null = null;
    let mediaAt = Infinity;
    // The player's script is held back for a second: the request must not wait for it.
    await page.route('**/assets/*.js', async (route) => {
      await new Promise((done) => setTimeout(done, 1000));
      scriptServedAt = Date.now();
      await route.continue();
    });
    page.on('websocket', (ws) => {
      ws.on('framesent', (f) => sent.push(String(f.payload)));
      ws.on('framereceived', (f) => {
        if (typeof f.payload === 'string') mediaOffset ??= (JSON.parse(f.payload) as { index?: { mediaOffset: number } }).index?.mediaOffset ?? null;
        else if (decodeDataFrame(f.payload).id === 2) mediaAt = Math.min(mediaAt, Date.now());
      });
    });
    await page.goto(pageUrl('/last.mp4'));
    await waitPlaying(page, 0.5);
    expect(sent[0]).toMatch(/^\{"t":"hello"/);
    // The index stream, asking the relay to open the media at the first mdat itself as stream 2.
    expect(sent[1]).toMatch(/^\{"t":"open","id":1,.*"index":"mp4".*"media":\{"id":2,/);
    // That media came before the script did: the page asked for nothing more to get it.
    expect(mediaOffset).toBeGreaterThan(0);
    expect(mediaAt).toBeLessThan(scriptServedAt);
    // The script took both over: one hello, one index stream, and no request of its own for that media.
    expect(sent.filter((f) => f.startsWith('{"t":"hello"'))).toHaveLength(1);
    expect(sent.filter((f) => f.includes('"index":"mp4"'))).toHaveLength(1);
    expect(sent.filter((f) => f.startsWith('{"t":"open","id":2,') || (f.startsWith('{"t":"open"') && f.includes(`"offset":${mediaOffset},`)))).toHaveLength(0);
    expect((await page.evaluate(() => window.ferry.stats())).error).toBeNull();
    await page.close();
  });

  it('sends the page’s script gzipped to a browser that takes it, and whole to one that does not', async () => {
    const html = await (await fetch(`http://127.0.0.1:${relay.port}/`)).text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const get = (encoding: string): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> =>
      new Promise((done, fail) => {
        httpGet({ host: '127.0.0.1', port: relay.port, path: script, headers: { 'accept-encoding': encoding } }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => done({ headers: res.headers, body: Buffer.concat(parts) }));
        }).on('error', fail);
      });
    const [zipped, plain] = [await get('gzip, deflate, br'), await get('identity')];
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(zipped.body.byteLength).toBeLessThan(plain.body.byteLength / 2);
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
  });

  it('plays a file with the moov first', async () => {
    const page = await open('/first.mp4');
    await waitPlaying(page, 1.5);
    expect((await stats(page)).engine).toBe('mse');
    await page.close();
  });

  it('seeks to unbuffered points, fetching from the keyframe before them', async () => {
    const page = await open('/last.mp4');
    await waitPlaying(page, 0.5);
    for (const target of [96, 30, 70]) {
      const before = (await stats(page)).bytesReceived;
      await page.evaluate((t) => (document.querySelector('video')!.currentTime = t), target);
      await waitPlaying(page, target + 1);
      expect(await currentTime(page)).toBeLessThan(target + 10);
      expect((await stats(page)).bytesReceived).toBeGreaterThan(before);
    }
    // A seek within what is buffered fetches nothing (backwards, so the forward goal is not what moves).
    await page.evaluate(() => document.querySelector('video')!.pause());
    const settled = await settledBytes(page);
    const t = await currentTime(page);
    await page.evaluate((x) => (document.querySelector('video')!.currentTime = x), t - 0.5);
    await page.waitForTimeout(500);
    expect((await stats(page)).bytesReceived).toBe(settled);
    await page.close();
  });

  it('plays on when the relay restarts mid-play', async () => {
    const r = await startRelay({ allow: [origin.hostPort] });
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${r.port}/?url=${encodeURIComponent(origin.url('/first.mp4'))}&autoplay=1&threshold=0`);
    await waitPlaying(page, 1);
    // Drop far enough ahead that the restart happens while the engine still needs bytes.
    await page.evaluate(() => (document.querySelector('video')!.currentTime = 60));
    await waitPlaying(page, 60.5);
    const port = r.port;
    await r.close();
    // Everything buffered when the relay went away; playing past it proves the bytes came back.
    const { buffered } = await stats(page);
    const heldEnd = Math.max(...buffered.map(([, end]) => end));
    await page.evaluate(() => (document.querySelector('video')!.playbackRate = 4));
    await page.waitForTimeout(700);
    const again = await startRelay({ allow: [origin.hostPort], port });
    await waitPlaying(page, heldEnd + 2, 60_000);
    const s = await stats(page);
    expect(s.error).toBeNull();
    expect(s.reconnects).toBeGreaterThanOrEqual(1);
    await page.close();
    await again.close();
  });

  it('holds the forward goal: paused, it stops fetching, and holds little itself', async () => {
    const page = await open('/first.mp4');
    await waitPlaying(page, 0.5);
    await page.evaluate(() => document.querySelector('video')!.pause());
    const settled = await settledBytes(page);
    await page.waitForTimeout(2000);
    const b = await stats(page);
    expect(b.bytesReceived).toBe(settled);
    expect(b.bytesReceived).toBeLessThan(media.moovFirst.byteLength * 0.6);
    expect(b.bufferedAhead).toBeGreaterThanOrEqual(DEFAULT_GOALS.forwardSeconds - 1);
    expect(b.bufferedAhead).toBeLessThanOrEqual(DEFAULT_GOALS.forwardSeconds + 15);
    // Queued fragments, unread transfer bytes and bytes awaiting a lagging track: a few MB, not the file.
    expect(b.bytesHeld).toBeLessThanOrEqual(12 * 1024 * 1024);
    const heap = await page.evaluate(() => (performance as unknown as { memory: { usedJSHeapSize: number } }).memory.usedJSHeapSize);
    expect(heap).toBeLessThan(64 * 1024 * 1024);
    await page.close();
  });

  it.each([
    ['/audio.mp4', ['mp4a']],
    ['/video.mp4', ['avc1']],
    ['/bframes.mp4', ['avc1', 'mp4a']],
  ])('plays %s', async (path, codecs) => {
    const page = await open(path);
    await waitPlaying(page, 1);
    const s = await stats(page);
    expect(s.codecs.map((c) => c.slice(0, 4))).toEqual(codecs);
    expect(s.error).toBeNull();
    await page.close();
  });

  it('plays a short file to its end and signals the end of stream', async () => {
    const page = await open('/bframes.mp4');
    await waitPlaying(page, 0.2);
    await page.evaluate(() => (document.querySelector('video')!.playbackRate = 4));
    await page.waitForFunction(() => document.querySelector('video')!.ended, undefined, { timeout: 20_000 });
    expect((await stats(page)).state).toBe('ended');
    await page.close();
  });

  it('offers to download what it cannot play, and names a refused address', async () => {
    const page = await open('/hevc.mp4');
    await bannerText(page);
    const saved = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download instead' }).click();
    const download = await saved;
    expect(download.suggestedFilename()).toBe('hevc.mp4');
    expect(sha256(readFileSync(await download.path()))).toBe(sha256(media.hevc));
    await page.goto(`http://127.0.0.1:${relay.port}/?url=${encodeURIComponent('http://10.0.0.1/film.mp4')}&autoplay=1`);
    expect(await bannerText(page)).toMatch(/relay refused this address: 10\.0\.0\.1 is a private address/);
    await page.close();
  });

  it.each([
    ['/hevc.mp4', /HEVC video.*cannot play/],
    ['/page.mp4', /web page.*not a video/],
    ['/missing.mp4', /server answered 404/],
  ])('shows a clear error for %s', async (path, message) => {
    const page = await open(path);
    expect(await bannerText(page)).toMatch(message);
    expect((await stats(page)).error?.message).toMatch(message);
    await page.close();
  });

  it('opens on the built-in demo, played through the relay, when given no URL', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--log-level', 'warn', '--demo', media.paths.moovLast]);
    try {
      const port = await new Promise<string>((done) => {
        let seen = '';
        child.stderr.on('data', (d: Buffer) => {
          seen += d.toString();
          const m = /relay on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen);
          if (m) done(m[1]!);
        });
      });
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${port}/`);
      await waitPlaying(page, 1);
      expect(await page.inputValue('#url')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/moov-last\.mp4$/);
      // 32 MB is under the MSE threshold: the browser's own player reads it from the relay.
      expect(await stats(page)).toMatchObject({ engine: 'native', error: null });
      expect(await page.locator('#auth-form').isVisible()).toBe(false);
      await page.close();
    } finally {
      child.kill();
    }
  });

  it('asks for the password when the relay needs one, then plays', async () => {
    const r = await startRelay({ allow: [origin.hostPort], password: 'open sesame' });
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${r.port}/?url=${encodeURIComponent(origin.url('/last.mp4'))}&autoplay=1&threshold=0`);
    await page.locator('#password').waitFor({ state: 'visible' });
    await page.fill('#password', 'wrong');
    await page.press('#password', 'Enter');
    expect(await bannerText(page)).toMatch(/wrong password/);
    await page.fill('#password', 'open sesame');
    await page.press('#password', 'Enter');
    await waitPlaying(page, 1);
    await page.close();
    await r.close();
  });

  it('recovers from QuotaExceededError without losing a fragment', async () => {
    // A browser whose SourceBuffers hold only 3 MB of video and 1 MB of audio: the 20 s goal cannot fit.
    const small = await launchBrowser(['--mse-video-buffer-size-limit-mb=3', '--mse-audio-buffer-size-limit-mb=1']);
    try {
      const page = await small.newPage();
      await page.goto(pageUrl('/first.mp4'));
      await waitPlaying(page, 0.5);
      await page.evaluate(() => (document.querySelector('video')!.playbackRate = 4));
      // 40 s of media at 4x: far more than the quota holds at once, so eviction and retries must carry it.
      await page.waitForFunction(() => document.querySelector('video')!.currentTime > 40, undefined, { timeout: 40_000, polling: 200 });
      const s = await stats(page);
      expect(s.quotaHits).toBeGreaterThan(0);
      expect(s.error).toBeNull();
      await page.close();
    } finally {
      await small.close();
    }
  });

  it('notices a playhead stopped by missing media and fetches it again', async () => {
    const page = await browser.newPage();
    // The page's SourceBuffers, as the browser's own API hands them out (nothing of the engine's insides).
    await page.addInitScript(() => {
      const add = MediaSource.prototype.addSourceBuffer;
      const seen: SourceBuffer[] = [];
      (window as unknown as { sourceBuffers: SourceBuffer[] }).sourceBuffers = seen;
      MediaSource.prototype.addSourceBuffer = function (this: MediaSource, type: string) {
        const sb = add.call(this, type);
        seen.push(sb);
        return sb;
      };
    });
    await page.goto(pageUrl('/first.mp4'));
    await waitPlaying(page, 1);
    // The reading is well past the hole made below (it keeps the forward goal, so while playing it never stops).
    await page.waitForFunction(() => window.ferry.stats().bufferedAhead > 10, undefined, { timeout: 20_000, polling: 100 });
    // Take away what lies just ahead, as an eviction by the browser would; the reading has already passed it.
    const hole = await page.evaluate(async () => {
      const t = document.querySelector('video')!.currentTime;
      for (const sb of (window as unknown as { sourceBuffers: SourceBuffer[] }).sourceBuffers) {
        while (sb.updating) await new Promise((done) => sb.addEventListener('updateend', done, { once: true }));
        sb.remove(t + 1, t + 8);
      }
      return t + 1;
    });
    await waitPlaying(page, hole + 10, 30_000);
    expect((await stats(page)).error).toBeNull();
    await page.close();
  });

  it('a second play() while the first is choosing its engine leaves no orphan engine and no stale error', async () => {
    const page = await browser.newPage();
    await page.addInitScript(() => {
      const Original = window.MediaSource;
      const w = window as unknown as { mediaSources: MediaSource[] };
      w.mediaSources = [];
      window.MediaSource = class extends Original {
        constructor() {
          super();
          w.mediaSources.push(this);
        }
      };
    });
    await page.goto(`http://127.0.0.1:${relay.port}/?threshold=0`);
    await page.evaluate(([missing, film]) => Promise.all([window.ferry.play(missing!), window.ferry.play(film!)]), [origin.url('/missing.mp4'), origin.url('/first.mp4')]);
    await waitPlaying(page, 1);
    // Each play() attached its own; the first one's was let go with it: one is open, the one playing.
    expect(await page.evaluate(() => (window as unknown as { mediaSources: MediaSource[] }).mediaSources.map((m) => m.readyState))).toEqual(['closed', 'open']);
    expect((await stats(page)).error).toBeNull();
    expect(await page.getByRole('alert').isVisible()).toBe(false);
    await page.close();
  });
});
