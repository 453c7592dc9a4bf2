/**
 * Tracks in the page, in headless Chromium through a real relay: subtitles from links and a file's own (tx3g,
 * wvtt) with the captions menu, and the audio menu with what a switch makes heard.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cueAt, shownCue } from './helpers/cues.js';
import { formatMedia, SUBTITLE_CUES, testMedia } from './helpers/media.js';
import { pages, startStage, stopStage, type Stage } from './helpers/stage.js';
import { tone } from './helpers/tone.js';

let stage: Stage;
const { pageUrl, playingPage, playing, video } = pages(() => stage);

beforeAll(async () => {
  stage = await startStage((origin) => {
    origin.set('/film.mp4', { body: testMedia().moovLast, type: 'video/mp4' }); // 120 s
    // SubRip as found in the wild: a byte-order mark, CRLF, an ASS position tag.
    const srt = '\uFEFF1\r\n00:00:01,000 --> 00:00:04,000\r\n{\\an8}Hello from Ferry\r\n\r\n2\r\n00:00:05,000 --> 00:00:08,500\r\nSecond cue\r\n';
    origin.set('/film.srt', { body: new TextEncoder().encode(srt), type: 'application/x-subrip' });
    origin.set('/other.vtt', { body: new TextEncoder().encode('WEBVTT\n\n00:00:01.000 --> 00:00:09.000\nAutre langue\n'), type: 'text/vtt' });
    const { twoTones, twoAudio, subtitled, subtitledWebVtt } = formatMedia();
    // The same, with no track flagged enabled in its tkhd: the browser's language decides.
    const unflagged = Buffer.from(twoTones);
    for (let at = unflagged.indexOf('tkhd'); at >= 0; at = unflagged.indexOf('tkhd', at + 4)) unflagged[at + 7] = unflagged[at + 7]! & ~1;
    const films = { 'two-tones': twoTones, 'no-default': unflagged, 'two-audio': twoAudio, subtitled, 'subtitled-wvtt': subtitledWebVtt };
    for (const [name, body] of Object.entries(films)) origin.set(`/${name}.mp4`, { body, type: 'video/mp4' });
    origin.set('/login.html', { body: new TextEncoder().encode('<!doctype html><title>Sign in</title>'), type: 'text/html' });
  });
});

afterAll(() => stopStage(stage));

describe('subtitles', () => {
  it('shows an .srt from a link through the relay, the right cue at its time; the menu chooses, and is remembered', async () => {
    const context = await stage.browser.newContext();
    const page = await context.newPage();
    await page.goto(pageUrl(`&subs=${encodeURIComponent(stage.origin.url('/film.srt'))}`));
    await playing(page);
    await page.waitForFunction(() => (document.querySelector('#captions') as HTMLSelectElement).value === 'film.srt');
    await page.keyboard.press('k');
    await page.waitForFunction(() => document.querySelector('video')!.textTracks[0]?.cues?.length === 2);
    expect(await cueAt(page, 2)).toBe('Hello from Ferry');
    expect(await cueAt(page, 6)).toBe('Second cue');
    expect(await cueAt(page, 4.5)).toBeNull();
    // Another language, added with the field.
    await page.fill('#subs', stage.origin.url('/other.vtt'));
    await page.getByRole('button', { name: 'Add subtitles' }).click();
    await page.waitForFunction(() => (document.querySelector('#captions') as HTMLSelectElement).value === 'other.vtt');
    expect(await cueAt(page, 2)).toBe('Autre langue');
    // c turns them off and on again.
    await page.keyboard.press('c');
    expect(await cueAt(page, 2)).toBeNull();
    await page.keyboard.press('c');
    expect(await cueAt(page, 2)).toBe('Autre langue');
    await page.getByLabel('Captions').selectOption('off');
    expect(await cueAt(page, 2)).toBeNull();
    await page.close();
    // The same film again: its subtitles come, but stay off, as chosen.
    const again = await context.newPage();
    await again.goto(pageUrl(`&subs=${encodeURIComponent(stage.origin.url('/film.srt'))}`));
    await playing(again);
    await again.waitForFunction(() => document.querySelector('video')!.textTracks.length === 1);
    expect(await again.inputValue('#captions')).toBe('off');
    await again.close();
    await context.close();
  });

  it.each([['mov_text', '/subtitled.mp4', ''], ['WebVTT in MP4 (wvtt)', '/subtitled-wvtt.mp4', 'line 10 start']])(
    'shows the file’s own subtitles (%s) through MSE: in the menu, each cue at its time, before the head’s end and after',
    async (_format, path, afterHeadSettings) => {
      const page = await playingPage('', path);
      await page.waitForFunction(() => [...(document.querySelector('#captions') as HTMLSelectElement).options].some((o) => o.value === 'fra'));
      await page.getByLabel('Captions').selectOption('fra');
      await page.keyboard.press('k');
      for (const [start, end, text] of SUBTITLE_CUES) expect(await cueAt(page, (start + end) / 2)).toBe(text);
      // The cue's own settings (a wvtt sample's sttg), where it has some.
      expect((await shownCue(page))?.settings).toBe(afterHeadSettings);
      expect(await cueAt(page, 8)).toBeNull();
      await page.close();
    },
  );

  it('plays a small MP4 with its own subtitles or a second audio track through MSE, so they can be chosen', async () => {
    for (const [path, menu, option] of [['/subtitled-wvtt.mp4', '#captions', 'fra'], ['/two-tones.mp4', '#audio', '3']]) {
      const page = await stage.browser.newPage();
      await page.goto(pageUrl('', path!).replace('&threshold=0', ''));
      await playing(page);
      await page.waitForFunction(([m, o]) => [...(document.querySelector(m!) as HTMLSelectElement).options].some((x) => x.value === o), [menu, option]);
      await page.close();
    }
  });

  it('says so in words when the link is a web page, and the film plays on', async () => {
    const page = await playingPage(`&subs=${encodeURIComponent(stage.origin.url('/login.html'))}`);
    await page.getByRole('alert').filter({ hasText: 'the subtitles could not be added: the subtitles link gave a web page, not subtitles' }).waitFor({ timeout: 10_000 });
    await playing(page, 1.5);
    await page.close();
  });
});

describe('audio tracks', () => {
  it('lists every audio track by language and codec, and a switch changes what is heard, from where it was', async () => {
    const page = await playingPage('', '/two-tones.mp4');
    await page.evaluate(() => (document.querySelector('video')!.muted = false));
    const menu = page.getByLabel('Audio');
    await page.waitForFunction(() => (document.querySelector('#audio') as HTMLSelectElement).options.length === 2);
    expect(await menu.locator('option').allTextContents()).toEqual(['eng · AAC', 'fra · AAC']);
    expect(Math.abs((await tone(page)) - 440)).toBeLessThan(15);
    const before = await video<number>(page, 'video.currentTime');
    await menu.selectOption({ label: 'fra · AAC' });
    await page.waitForFunction((t) => document.querySelector('video')!.currentTime > t + 1.5, before, { timeout: 10_000 });
    expect(Math.abs((await tone(page)) - 330)).toBeLessThan(15);
    // The same film, from where it was: not a restart.
    expect(await video<number>(page, 'video.currentTime')).toBeGreaterThan(before);
    expect(await page.inputValue('#audio')).toBe(String((await page.evaluate(() => window.ferry.player().audioTracks().find((t) => t.playing)!.id))));
    expect((await page.evaluate(() => window.ferry.stats())).error).toBeNull();
    await page.close();
  });

  it('with no track flagged to play first, plays the one in the browser’s language', async () => {
    for (const [locale, language] of [['fr-FR', 'fra'], ['en-GB', 'eng']] as const) {
      const context = await stage.browser.newContext({ locale });
      const page = await context.newPage();
      await page.goto(pageUrl('', '/no-default.mp4'));
      await playing(page);
      const playingTrack = await page.evaluate(() => window.ferry.player().audioTracks().find((t) => t.playing)?.language);
      expect(playingTrack).toBe(language);
      await context.close();
    }
  });

  it('offers a track this browser cannot decode (AC-3) converted in the page, and says so', async () => {
    // Before issue 25: "Track 2 · AC-3 (not playable here)", shown and not offered.
    const page = await playingPage('', '/two-audio.mp4');
    await page.waitForFunction(() => (document.querySelector('#audio') as HTMLSelectElement).options.length === 2);
    const options = await page.evaluate(() => [...(document.querySelector('#audio') as HTMLSelectElement).options].map((o) => [o.text, o.disabled]));
    expect(options).toEqual([['Track 1 · AAC', false], [expect.stringMatching(/^Track 2 · AC-3 \S+, converted in the browser$/), false]]);
    await page.close();
  });
});
