/**
 * Matroska and WebM through MSE, in headless Chromium through a real relay: every audio track in the menu and a
 * switch heard, the embedded subtitles (SubRip, ASS, WebVTT) as text tracks with each cue at its time, seeks
 * by the Cues, and a 2 GB film that plays and seeks.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cueAt, newlyYellow, topOfVideo } from './helpers/cues.js';
import { assScript, ATTACHED_FONT, bigMatroska, FILM_CUES, fontFilm, matroskaMedia } from './helpers/matroska-media.js';
import { pages, startStage, stopStage, type Stage } from './helpers/stage.js';
import { tone } from './helpers/tone.js';

let stage: Stage;
const { pageUrl, playingPage, playing, video } = pages(() => stage);
let bigSeconds = 0;

beforeAll(async () => {
  stage = await startStage((origin) => {
    const { film, webm } = matroskaMedia();
    origin.set('/film.mkv', { body: film, type: 'video/x-matroska' });
    origin.set('/film.webm', { body: webm, type: 'video/webm' });
    origin.set('/fonts.mkv', { body: fontFilm(), type: 'video/x-matroska' });
    origin.set('/film.ass', { body: assScript(), type: 'text/plain' });
    // The same film with its SeekHead's entry for the Cues made unknown: a file without Cues, as recordings are.
    const noCues = Buffer.from(film);
    const entry = noCues.indexOf(Buffer.from([0x53, 0xab, 0x84, 0x1c, 0x53, 0xbb, 0x6b]));
    noCues[entry + 6] = 0x6c;
    origin.set('/no-cues.mkv', { body: noCues, type: 'video/x-matroska' });
    const big = bigMatroska();
    bigSeconds = big.seconds;
    origin.set('/big.mkv', { body: big.body, type: 'video/x-matroska' });
  });
}, 240_000);

afterAll(() => stopStage(stage));

const options = (page: Page, menu: string): Promise<string[]> =>
  page.evaluate((m) => [...(document.querySelector(m) as HTMLSelectElement).options].map((o) => o.text), menu);

describe('Matroska and WebM through MSE', () => {
  it('lists an MKV’s audio tracks by name, language, codec; the default plays, a switch is heard', async () => {
    const page = await playingPage('', '/film.mkv');
    expect((await page.evaluate(() => window.ferry.stats())).engine).toBe('mse');
    await page.evaluate(() => (document.querySelector('video')!.muted = false));
    await page.waitForFunction(() => (document.querySelector('#audio') as HTMLSelectElement).options.length === 2);
    expect(await options(page, '#audio')).toEqual(['eng · AAC', 'Commentaire · fre · AAC']);
    expect(Math.abs((await tone(page)) - 440)).toBeLessThan(15);
    const before = await video<number>(page, 'video.currentTime');
    await page.getByLabel('Audio').selectOption({ label: 'Commentaire · fre · AAC' });
    await page.waitForFunction((t) => document.querySelector('video')!.currentTime > t + 1.5, before, {
      timeout: 10_000,
    });
    expect(Math.abs((await tone(page)) - 330)).toBeLessThan(15);
    expect(await video<number>(page, 'video.currentTime')).toBeGreaterThan(before);
    expect((await page.evaluate(() => window.ferry.stats())).error).toBeNull();
    await page.close();
  });

  it('shows an MKV’s SubRip and ASS subtitles in the menu, each cue at its time, seeking both ways', async () => {
    const page = await playingPage('', '/film.mkv');
    await page.waitForFunction(() => (document.querySelector('#captions') as HTMLSelectElement).options.length === 3);
    expect(await options(page, '#captions')).toEqual(['Off', 'eng', 'fre']);
    await page.keyboard.press('k');
    await page.getByLabel('Captions').selectOption('eng');
    for (const [start, end, english] of FILM_CUES) expect(await cueAt(page, (start + end) / 2)).toBe(english);
    expect(await cueAt(page, 8)).toBeNull();
    await page.getByLabel('Captions').selectOption('fre');
    // Back before the first cue, after the Cues sent the reading to the second.
    for (const [start, end, , french] of [...FILM_CUES].reverse())
      expect(await cueAt(page, (start + end) / 2)).toBe(french);
    await page.close();
  });

  /** The page paused in the French ASS cue, with `captions` chosen; the top of its video as the screen shows it. */
  const pausedInAssCue = async (page: Page, captions: string): Promise<Buffer> => {
    await page.getByLabel('Captions').selectOption(captions);
    await page.evaluate(() => document.querySelector('video')!.pause());
    const [, , english, french] = FILM_CUES[0]!;
    const says: Record<string, string> = { fre: french, 'film.ass': french, eng: english };
    expect(await cueAt(page, 3.5)).toBe(says[captions] ?? null);
    return topOfVideo(page);
  };

  /**
   * Paused in the French ASS cue (the captions menu holding `options`, the ASS track by its `label`), drawn by
   * libass: yellow at the top, as the file's style says, where a text track shows white lines at the bottom.
   * The top of the video without captions, returned.
   */
  const drawnByLibass = async (page: Page, options: number, label = 'fre'): Promise<Buffer> => {
    const menu = (n: number): boolean => document.querySelector<HTMLSelectElement>('#captions')!.options.length === n;
    await page.waitForFunction(menu, options);
    const bare = await pausedInAssCue(page, 'Off');
    await pausedInAssCue(page, label);
    await page.waitForFunction(() => document.querySelector('video')!.classList.contains('ass-drawn'));
    const drawn = async (): Promise<number> => newlyYellow(page, bare, await topOfVideo(page));
    await expect.poll(drawn, { timeout: 10_000 }).toBeGreaterThan(3000);
    return bare;
  };

  it('draws an MKV’s ASS subtitles with libass: in the file’s colour and place, gone for another', async () => {
    const page = await playingPage('', '/film.mkv');
    const bare = await drawnByLibass(page, 3);
    await pausedInAssCue(page, 'eng');
    expect(await page.evaluate(() => document.querySelectorAll('canvas.JASSUB').length)).toBe(0);
    expect(await newlyYellow(page, bare, await topOfVideo(page))).toBeLessThan(50);
    await page.close();
  });

  it('shows an ASS track as plain lines where libass cannot load', async () => {
    const page = await stage.browser.newPage();
    await page.route('**/*.wasm', (route) => route.abort());
    await page.goto(pageUrl('', '/film.mkv'));
    await playing(page);
    await page.waitForFunction(() => (document.querySelector('#captions') as HTMLSelectElement).options.length === 3);
    const bare = await pausedInAssCue(page, 'Off');
    const warned = page.waitForEvent('console', (m) => m.text().includes('libass could not load'));
    await pausedInAssCue(page, 'fre');
    await warned;
    expect(await page.evaluate(() => document.querySelector('video')!.classList.contains('ass-drawn'))).toBe(false);
    expect(await cueAt(page, 3.5)).toBe(FILM_CUES[0]![3]);
    expect(await newlyYellow(page, bare, await topOfVideo(page))).toBeLessThan(50);
    await page.close();
  });

  it('draws an ASS track in the font the file attaches', async () => {
    const page = await stage.browser.newPage();
    const fallbacks: string[] = [];
    page.on('console', (m) => void (m.text().includes('Using default font family') && fallbacks.push(m.text())));
    await page.goto(pageUrl('', '/fonts.mkv'));
    await playing(page);
    await drawnByLibass(page, 2);
    // libass says when a style's font is missing and it draws with its default one instead.
    expect(fallbacks.filter((line) => line.includes(ATTACHED_FONT))).toEqual([]);
    await page.close();
  });

  it('draws an .ass script from a link with libass too', async () => {
    const page = await playingPage(`&subs=${encodeURIComponent(stage.origin.url('/film.ass'))}`, '/film.webm');
    await drawnByLibass(page, 3, 'film.ass');
    await page.close();
  });

  it('plays a WebM (VP9, two Opus tracks, WebVTT) through MSE: its tracks, a switch and a cue', async () => {
    const page = await playingPage('', '/film.webm');
    const s = await page.evaluate(() => window.ferry.stats());
    expect(s).toMatchObject({ engine: 'mse', error: null, codecs: ['vp9', 'opus'] });
    await page.evaluate(() => (document.querySelector('video')!.muted = false));
    expect(await options(page, '#audio')).toEqual(['eng · Opus', 'Commentaire · fre · Opus']);
    await page.getByLabel('Audio').selectOption({ label: 'Commentaire · fre · Opus' });
    await page.waitForFunction(
      () =>
        window.ferry
          .player()
          .audioTracks()
          .find((t) => t.playing)?.language === 'fre',
    );
    await playing(page, (await video<number>(page, 'video.currentTime')) + 1);
    expect(Math.abs((await tone(page)) - 330)).toBeLessThan(15);
    await page.keyboard.press('k');
    await page.getByLabel('Captions').selectOption('eng');
    expect(await cueAt(page, 13)).toBe(FILM_CUES[1]![2]);
    await page.close();
  });

  it('seeks in an MKV without Cues by a bounded search for the Cluster before the target, both ways', async () => {
    const page = await playingPage('', '/no-cues.mkv');
    for (const target of [22, 5, 27]) {
      await page.evaluate((t) => (document.querySelector('video')!.currentTime = t), target);
      await playing(page, target + 0.5);
    }
    expect((await page.evaluate(() => window.ferry.stats())).error).toBeNull();
    await page.close();
  });

  it('plays a 2 GB MKV from its first bytes, and a seek near its end by the Cues lands and plays', async () => {
    const page = await stage.browser.newPage();
    await page.goto(pageUrl('', '/big.mkv').replace('&threshold=0', ''));
    await playing(page, 1);
    const target = Math.floor(bigSeconds * 0.9);
    await page.evaluate((t) => (document.querySelector('video')!.currentTime = t), target);
    await playing(page, target + 1);
    const s = await page.evaluate(() => window.ferry.stats());
    expect(s).toMatchObject({ engine: 'mse', error: null });
    expect(s.totalBytes).toBeGreaterThan(1.9e9);
    // The seek read from the Cluster before it, not the file up to there.
    expect(s.bytesReceived).toBeLessThan(200e6);
    await page.close();
  });
});
