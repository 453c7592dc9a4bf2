/**
 * Faults on the way: the client's connection cut at random points many times, during a transfer and during
 * playback; two relays behind nginx with one killed mid-transfer, and mid-download from the page.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, buildPage } from './helpers/browser.js';
import { testMedia } from './helpers/media.js';
import { Origin, sha256, testBytes } from './helpers/origin.js';
import { startNginx } from './helpers/nginx.js';
import { connect, CutProxy, readThroughCuts, startRelay } from './helpers/relay.js';

const SIZE = 120 * 1024 * 1024;
const body = testBytes(SIZE, 5);
let origin: Origin;

beforeAll(async () => {
  origin = await new Origin().start();
  origin.set('/big.bin', { body });
  origin.set('/paced.bin', { body, bytesPerSecond: 40 * 1024 * 1024 });
  origin.set('/film.mp4', { body: testMedia().moovFirst, type: 'video/mp4' });
});
afterAll(() => origin.close());

/** A seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe('random cuts', () => {
  it('keeps bytes identical through 20 cuts at random points', async () => {
    const relay = await startRelay({ allow: [origin.hostPort] });
    const proxy = await new CutProxy(relay.port).start();
    const client = connect(proxy.url);
    const next = random(20261125);
    const cutsAt = Array.from({ length: 20 }, () => Math.floor(next() * SIZE)).sort((a, b) => a - b);
    expect((await readThroughCuts(client.open({ url: origin.url('/big.bin') }), proxy, cutsAt)).sha256).toBe(sha256(body));
    expect(client.reconnects).toBeGreaterThanOrEqual(10);
    client.close();
    await proxy.close();
    await relay.close();
  });

  describe('during playback', () => {
    let browser: Browser;
    beforeAll(async () => {
      buildPage();
      browser = await launchBrowser();
    });
    afterAll(() => browser?.close());

    it('plays on through cuts every 700 ms', async () => {
      const relay = await startRelay({ allow: [origin.hostPort] });
      const proxy = await new CutProxy(relay.port).start();
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${proxy.port}/?url=${encodeURIComponent(origin.url('/film.mp4'))}&autoplay=1&threshold=0`);
      await page.waitForFunction(() => document.querySelector('video')!.currentTime > 0.5, undefined, { timeout: 20_000 });
      await page.evaluate(() => (document.querySelector('video')!.playbackRate = 4));
      const cutter = setInterval(() => proxy.cut(), 700);
      try {
        // 40 s of media at 4x: well past what was buffered when the cuts began.
        await page.waitForFunction(() => document.querySelector('video')!.currentTime > 40, undefined, { timeout: 45_000, polling: 200 });
      } finally {
        clearInterval(cutter);
      }
      const stats = await page.evaluate(() => window.ferry.stats());
      expect(stats.error).toBeNull();
      expect(stats.reconnects).toBeGreaterThanOrEqual(5);
      await page.close();
      await proxy.close();
      await relay.close();
    });
  });
});

describe('relays behind a load balancer', () => {
  it('resumes through the other relay when one is killed mid-transfer', async () => {
    const a = await startRelay({ allow: [origin.hostPort] });
    const b = await startRelay({ allow: [origin.hostPort] });
    const nginx = await startNginx([a.port, b.port]);
    try {
      const client = connect(`ws://127.0.0.1:${nginx.port}/ws`);
      const hash = createHash('sha256');
      let received = 0;
      let killed: string | null = null;
      for await (const chunk of client.open({ url: origin.url('/big.bin') })) {
        hash.update(chunk.data);
        received += chunk.data.byteLength;
        if (!killed && received > SIZE / 3) {
          // Kill whichever relay carries this socket.
          const carrier = (await a.metrics.sockets.get()).values[0]?.value ? a : b;
          killed = carrier === a ? 'a' : 'b';
          await carrier.close();
        }
      }
      expect(hash.digest('hex')).toBe(sha256(body));
      expect(client.reconnects).toBe(1);
      const survivor = killed === 'a' ? b : a;
      expect((await survivor.metrics.streamsOpened.get()).values[0]?.value).toBeGreaterThanOrEqual(1);
      client.close();
    } finally {
      await nginx.stop();
      await a.close().catch(() => {});
      await b.close().catch(() => {});
    }
  });

  it('finishes a page download through the other relay when the one sending it is killed', async () => {
    const secret = 'the same on every relay behind the balancer';
    const a = await startRelay({ allow: [origin.hostPort], ticketSecret: secret });
    const b = await startRelay({ allow: [origin.hostPort], ticketSecret: secret });
    const nginx = await startNginx([a.port, b.port]);
    buildPage();
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${nginx.port}/`);
      const sentBefore = origin.bytesSent;
      await page.fill('#url', origin.url('/paced.bin'));
      const saved = page.waitForEvent('download', { timeout: 30_000 });
      await page.click('#download');
      const download = await saved;
      const sending = async (r: typeof a): Promise<number> => (await r.metrics.downloads.get()).values[0]?.value ?? 0;
      await expect.poll(async () => (await sending(a)) + (await sending(b)), { timeout: 10_000 }).toBe(1);
      await expect.poll(() => origin.bytesSent - sentBefore, { timeout: 10_000 }).toBeGreaterThan(SIZE / 3);
      const carrier = (await sending(a)) ? a : b;
      await carrier.close();
      expect(await download.failure()).toBeNull();
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(await download.path())) hash.update(chunk as Buffer);
      expect(hash.digest('hex')).toBe(sha256(body));
      // The page's socket moved to the survivor too, and hears the end from it.
      await page.waitForFunction(() => /100\.00% of 120 MB · saved/.test(document.querySelector('li[data-kind="download"] .line')?.textContent ?? ''), undefined, { timeout: 10_000 });
      const survivor = carrier === a ? b : a;
      expect((await survivor.metrics.bytes.get()).values[0]?.value).toBeGreaterThan(0);
      await page.close();
    } finally {
      await browser.close();
      await nginx.stop();
      await a.close().catch(() => {});
      await b.close().catch(() => {});
    }
  });
});
