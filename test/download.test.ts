/** Downloads from the page, in Chromium, through the relay: bytes identical across cuts, cancel, changed file. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Browser, Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Relay } from '../src/relay/node/server.js';
import { buildPage, launchBrowser } from './helpers/browser.js';
import { testMedia } from './helpers/media.js';
import { Origin, sha256, testBytes } from './helpers/origin.js';
import { CutProxy, startRelay } from './helpers/relay.js';

const SIZE = 300 * 1024 * 1024;
const body = testBytes(SIZE, 42);
const expected = sha256(body);
let origin: Origin;
let relay: Relay;
let proxy: CutProxy;
let browser: Browser;

beforeAll(async () => {
  buildPage();
  origin = await new Origin().start();
  // Paced, so that cuts and cancels land mid-download rather than after it.
  origin.set('/films/big%20film.bin', { body, bytesPerSecond: 100 * 1024 * 1024 });
  origin.set('/film.mp4', { body: testMedia().moovFirst, type: 'video/mp4' });
  origin.set('/stalls.bin', { body, stallAfter: 4 * 1024 * 1024 });
  origin.set('/slow.bin', { body, bytesPerSecond: 30 * 1024 * 1024 });
  // Every response is reset (RST) after so many bytes, as a flaky origin would. Chromium resumes a download
  // by itself at most 5 times, and a reset loses what was in flight: the first needs 2 or 3, the second more.
  origin.set('/resets.bin', { body: body.subarray(0, 32 * 1024 * 1024), dropAfter: 16 * 1024 * 1024, reset: true });
  origin.set('/resets-often.bin', { body: body.subarray(0, 40 * 1024 * 1024), dropAfter: 3 * 1024 * 1024, reset: true });
  origin.set('/named.bin', { body: body.subarray(0, 40 * 1024 * 1024), disposition: 'attachment; filename="holiday.mp4"' });
  relay = await startRelay({ allow: [origin.hostPort] });
  proxy = await new CutProxy(relay.port).start();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await relay?.close();
  await origin?.close();
});

async function openPage(): Promise<Page> {
  const page = await browser.newPage();
  // Through the proxy, so the page's connection to the relay can be cut.
  await page.goto(`http://127.0.0.1:${proxy.port}/`);
  return page;
}

function fileHash(path: string): Promise<string> {
  return new Promise((done, fail) => {
    const hash = createHash('sha256');
    createReadStream(path).on('data', (d) => hash.update(d)).on('end', () => done(hash.digest('hex'))).on('error', fail);
  });
}

/** Types the URL, presses Download, and returns the browser's download once it has begun. */
async function clickDownload(page: Page, url: string): Promise<Download> {
  await page.fill('#url', url);
  const saved = page.waitForEvent('download', { timeout: 60_000 });
  await page.click('#download');
  return saved;
}

const started = (page: Page): Promise<unknown> =>
  page.waitForFunction(() => /[1-9]\d*\.\d+% of/.test(document.querySelector('li[data-kind="download"] .line')?.textContent ?? ''));

const lineOf = (page: Page): Promise<string> => page.locator('li[data-kind="download"] .line').first().innerText();

async function receivedMB(page: Page): Promise<number> {
  const line = await lineOf(page).catch(() => '');
  const m = /([\d.]+)% of (\d+) MB/.exec(line);
  return m ? (Number(m[1]) / 100) * Number(m[2]) : 0;
}

describe('downloads from the page', () => {
  it('saves 300 MB byte for byte while the connection is cut twice', async () => {
    const page = await openPage();
    const download = await clickDownload(page, origin.url('/films/big%20film.bin'));
    expect(download.suggestedFilename()).toBe('big film.bin');
    for (const at of [60, 180]) {
      await page.waitForFunction(
        (mb) => {
          const m = /([\d.]+)% of (\d+) MB/.exec(document.querySelector('li[data-kind="download"] .line')?.textContent ?? '');
          return m !== null && (Number(m[1]) / 100) * Number(m[2]) >= mb;
        },
        at,
        { timeout: 60_000, polling: 50 },
      );
      proxy.cut();
    }
    const path = await download.path();
    expect(await download.failure()).toBeNull();
    expect(await fileHash(path)).toBe(expected);
    expect(await lineOf(page)).toMatch(/100\.00% of 300 MB · saved/);
    expect(proxy.cuts).toBe(2);
    // The browser resumed (from an offset, naming the version) rather than starting over.
    const resumes = origin.seen.filter((s) => s.path === '/films/big%20film.bin' && /^bytes=[1-9]\d*-$/.test(s.range ?? ''));
    expect(resumes.length).toBeGreaterThanOrEqual(2);
    expect(resumes.every((s) => s.ifRange !== undefined)).toBe(true);
    await page.close();
  });

  it('survives an origin that resets every response: the relay breaks off, the browser resumes', async () => {
    const page = await openPage();
    const download = await clickDownload(page, origin.url('/resets.bin'));
    expect(await download.failure()).toBeNull();
    expect(await fileHash(await download.path())).toBe(sha256(body.subarray(0, 32 * 1024 * 1024)));
    const resumes = origin.seen.filter((s) => s.path === '/resets.bin' && /^bytes=[1-9]\d*-$/.test(s.range ?? ''));
    expect(resumes.length).toBeGreaterThanOrEqual(1);
    await page.close();
  });

  it('says how to resume when the browser gives up on a download that keeps breaking', async () => {
    const page = await openPage();
    const download = await clickDownload(page, origin.url('/resets-often.bin'));
    expect(await download.failure()).not.toBeNull();
    await page.waitForFunction(() => /stopped at \d+%.*press Resume/.test(document.querySelector('li[data-kind="download"] .line')?.textContent ?? ''), undefined, { timeout: 10_000 });
    await page.close();
  });

  it('names the file from Content-Disposition', async () => {
    const page = await openPage();
    const download = await clickDownload(page, origin.url('/named.bin'));
    expect(download.suggestedFilename()).toBe('holiday.mp4');
    expect(await fileHash(await download.path())).toBe(sha256(body.subarray(0, 40 * 1024 * 1024)));
    await page.close();
  });

  it('cancelling stops the relay’s upstream at once', async () => {
    const page = await openPage();
    const download = await clickDownload(page, origin.url('/slow.bin'));
    await started(page);
    await page.click('li[data-kind="download"] button');
    expect(await lineOf(page)).toMatch(/cancelled/);
    await page.waitForTimeout(500);
    const after = origin.bytesSent;
    await page.waitForTimeout(700);
    expect(origin.bytesSent).toBe(after);
    expect((await relay.metrics.downloads.get()).values[0]?.value).toBe(0);
    expect(await download.failure()).not.toBeNull();
    expect(await receivedMB(page)).toBeLessThan(300);
    await page.close();
  });

  it('stops with an error when the file changes on the server mid-download', async () => {
    const changing = new Origin();
    await changing.start();
    changing.set('/v.bin', { body, bytesPerSecond: 30 * 1024 * 1024 });
    const r = await startRelay({ allow: [changing.hostPort] });
    const p = await new CutProxy(r.port).start();
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${p.port}/`);
    const download = await clickDownload(page, changing.url('/v.bin'));
    await started(page);
    // A new version of the file, then a dropped connection: the resume must refuse to splice.
    changing.set('/v.bin', { body: testBytes(SIZE, 43) });
    p.cut();
    const alert = page.getByRole('alert');
    await alert.waitFor({ state: 'visible', timeout: 30_000 });
    expect(await alert.innerText()).toMatch(/file changed on the server/);
    expect(await download.failure()).not.toBeNull();
    await page.close();
    await p.close();
    await r.close();
    await changing.close();
  });

  it('says so when the relay has reported nothing for a while', async () => {
    const page = await openPage();
    const download = await clickDownload(page, origin.url('/stalls.bin'));
    await page.waitForFunction(() => /no report for 1\d s/.test(document.querySelector('li[data-kind="download"] .line')?.textContent ?? ''), undefined, { timeout: 20_000 });
    await page.click('li[data-kind="download"] button');
    expect(await lineOf(page)).toMatch(/cancelled/);
    expect(await download.failure()).not.toBeNull();
    await page.close();
  });

  it('makes progress on two downloads and a playback at once', async () => {
    const page = await openPage();
    await page.goto(`http://127.0.0.1:${proxy.port}/?url=${encodeURIComponent(origin.url('/film.mp4'))}&autoplay=1&threshold=0`);
    const saves = [page.waitForEvent('download'), page.waitForEvent('download')];
    await page.evaluate((u) => {
      window.ferry.download(u);
      window.ferry.download(u);
    }, origin.url('/slow.bin'));
    await Promise.all(saves);
    await page.waitForFunction(() => document.querySelector('video')!.currentTime > 2, undefined, { timeout: 30_000 });
    const progress = async (): Promise<number[]> =>
      page.$$eval('li[data-kind="download"] .line', (lines) => lines.map((l) => Number(/([\d.]+)%/.exec(l.textContent ?? '')?.[1] ?? 0)));
    const before = await progress();
    await page.waitForTimeout(1500);
    const after = await progress();
    expect(after).toHaveLength(2);
    for (let i = 0; i < 2; i++) expect(after[i]!).toBeGreaterThan(before[i]!);
    expect(await page.evaluate(() => window.ferry.stats().error)).toBeNull();
    await page.close();
  });
});
