/**
 * The page's own controls around the video, in headless Chromium through a real relay: the keys, the speed
 * menu, the list of keys, Media Session, and the remembered position with its offer.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Relay } from '../src/relay/node/server.js';
import { formatMedia, SUBTITLE_CUES, testMedia } from './helpers/media.js';
import { Origin } from './helpers/origin.js';
import { startStage, stopStage } from './helpers/stage.js';

let origin: Origin;
let relay: Relay;
let browser: Browser;

beforeAll(async () => {
  ({ origin, relay, browser } = await startStage((origin) => {
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
  }));
});

afterAll(() => stopStage({ origin, relay, browser }));

const pageUrl = (extra = '', path = '/film.mp4'): string => `http://127.0.0.1:${relay.port}/?url=${encodeURIComponent(origin.url(path))}&autoplay=1&threshold=0${extra}`;
const video = <T>(page: Page, read: string): Promise<T> => page.evaluate(`(() => { const video = document.querySelector('video'); return ${read}; })()`);

/** A new page playing the link (`pageUrl`'s arguments), past its first half second. */
async function playingPage(extra = '', path = '/film.mp4'): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(pageUrl(extra, path));
  await playing(page);
  return page;
}

async function playing(page: Page, beyond = 0.5): Promise<void> {
  await page.waitForFunction((t) => document.querySelector('video')!.currentTime > t, beyond, { timeout: 20_000, polling: 100 });
}

describe('keys', () => {
  it('play, pause, seek, volume, mute, speed, jump and the list of keys; none while typing in a field', async () => {
    const page = await playingPage();
    await page.keyboard.press('k');
    expect(await video(page, 'video.paused')).toBe(true);
    await page.keyboard.press(' ');
    expect(await video(page, 'video.paused')).toBe(false);
    await page.keyboard.press('k');
    const t0 = await video<number>(page, 'video.currentTime');
    const after = async (key: string): Promise<number> => (await page.keyboard.press(key), video<number>(page, 'video.currentTime'));
    expect(await after('l')).toBeCloseTo(t0 + 10, 1);
    expect(await after('j')).toBeCloseTo(t0, 1);
    expect(await after('ArrowRight')).toBeCloseTo(t0 + 5, 1);
    expect(await after('ArrowLeft')).toBeCloseTo(t0, 1);
    expect(await after('5')).toBeCloseTo(60, 0);
    await page.keyboard.press('ArrowDown');
    expect(await video(page, 'video.volume')).toBeCloseTo(0.9, 5);
    const muted = await video<boolean>(page, 'video.muted');
    await page.keyboard.press('m');
    expect(await video(page, 'video.muted')).toBe(!muted);
    await page.keyboard.press('>');
    expect(await video(page, 'video.playbackRate')).toBe(1.25);
    expect(await page.inputValue('#speed')).toBe('1.25');
    await page.keyboard.press('<');
    await page.keyboard.press('<');
    expect(await video(page, 'video.playbackRate')).toBe(0.75);
    await page.keyboard.press('?');
    expect(await page.evaluate(() => document.querySelector('dialog')!.open)).toBe(true);
    expect(await page.locator('#keys-help dt').allTextContents()).toContain('j, l');
    await page.keyboard.press('Escape');
    expect(await page.evaluate(() => document.querySelector('dialog')!.open)).toBe(false);
    // Typed into the URL field, the same keys are letters.
    const before = await video<number>(page, 'video.currentTime');
    await page.focus('#url');
    await page.keyboard.type('kl5');
    expect(await page.inputValue('#url')).toMatch(/kl5$/);
    expect(await video(page, 'video.currentTime')).toBe(before);
    expect(await video(page, 'video.paused')).toBe(true);
    await page.close();
  });
});

describe('controls beside the video', () => {
  it('a labelled speed menu that sets and follows the speed, picture-in-picture, and the keys button', async () => {
    const page = await playingPage();
    await page.getByLabel('Speed').selectOption('1.5');
    expect(await video(page, 'video.playbackRate')).toBe(1.5);
    await page.evaluate(() => (document.querySelector('video')!.playbackRate = 2));
    await page.waitForFunction(() => (document.querySelector('#speed') as HTMLSelectElement).value === '2');
    expect(await page.getByRole('group', { name: 'Playback' }).getByRole('button', { name: 'Picture in picture' }).count()).toBe(1);
    await page.getByRole('button', { name: 'Keys (?)' }).click();
    expect(await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).isVisible()).toBe(true);
    await page.close();
  });

  it('tells the operating system the title, the state and the position (Media Session)', async () => {
    const page = await playingPage();
    expect(await page.evaluate(() => navigator.mediaSession.metadata?.title)).toBe('film.mp4');
    expect(await page.evaluate(() => navigator.mediaSession.playbackState)).toBe('playing');
    await page.keyboard.press('k');
    // The state follows the element's pause event, which comes as a task after the pause.
    await page.waitForFunction(() => navigator.mediaSession.playbackState === 'paused', undefined, { timeout: 2000 });
    await page.close();
  });
});

describe('remembered position', () => {
  it('offers to resume the same file where it was left, and a deep link starts at its time', async () => {
    const context = await browser.newContext();
    const first = await context.newPage();
    await first.goto(pageUrl());
    await playing(first);
    await first.evaluate(() => (document.querySelector('video')!.currentTime = 40));
    await playing(first, 40.5);
    await first.keyboard.press('k'); // a pause saves at once
    await first.close();

    const again = await context.newPage();
    await again.goto(pageUrl());
    const offer = again.getByRole('status').getByRole('button', { name: /^Resume at 00:4[01]$/ });
    await offer.waitFor({ timeout: 10_000 });
    await offer.click();
    await playing(again, 40);
    expect(await video<number>(again, 'video.currentTime')).toBeLessThan(44);
    await again.close();

    const deep = await context.newPage();
    await deep.goto(pageUrl('&t=30'));
    await playing(deep, 30);
    expect(await video<number>(deep, 'video.currentTime')).toBeLessThan(34);
    await deep.close();
    await context.close();
  });
});

describe('subtitles', () => {
  const cueAt = async (page: Page, t: number): Promise<string | null> => {
    await page.evaluate((time) => (document.querySelector('video')!.currentTime = time), t);
    await page.waitForFunction(() => !document.querySelector('video')!.seeking);
    return (await shownCue(page))?.text ?? null;
  };
  /** The cue on screen: its text, and its line and alignment where it sets a line. */
  const shownCue = (page: Page): Promise<{ text: string; settings: string } | null> =>
    page.evaluate(() => {
      const cue = [...document.querySelector('video')!.textTracks].find((tr) => tr.mode === 'showing')?.activeCues?.[0] as VTTCue | undefined;
      return cue ? { text: cue.text, settings: cue.line === 'auto' ? '' : `line ${cue.line} ${cue.align}` } : null;
    });

  it('shows an .srt from a link through the relay, the right cue at its time; the menu chooses, and is remembered', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(pageUrl(`&subs=${encodeURIComponent(origin.url('/film.srt'))}`));
    await playing(page);
    await page.waitForFunction(() => (document.querySelector('#captions') as HTMLSelectElement).value === 'film.srt');
    await page.keyboard.press('k');
    await page.waitForFunction(() => document.querySelector('video')!.textTracks[0]?.cues?.length === 2);
    expect(await cueAt(page, 2)).toBe('Hello from Ferry');
    expect(await cueAt(page, 6)).toBe('Second cue');
    expect(await cueAt(page, 4.5)).toBeNull();
    // Another language, added with the field.
    await page.fill('#subs', origin.url('/other.vtt'));
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
    await again.goto(pageUrl(`&subs=${encodeURIComponent(origin.url('/film.srt'))}`));
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

  it('says so in words when the link is a web page, and the film plays on', async () => {
    const page = await playingPage(`&subs=${encodeURIComponent(origin.url('/login.html'))}`);
    await page.getByRole('alert').filter({ hasText: 'the subtitles could not be added: the subtitles link gave a web page, not subtitles' }).waitFor({ timeout: 10_000 });
    await playing(page, 1.5);
    await page.close();
  });
});

describe('audio tracks', () => {
  /** The strongest frequency in what the element plays now, through Web Audio. */
  const tone = (page: Page): Promise<number> =>
    page.evaluate(async () => {
      const w = window as unknown as { analyser?: AnalyserNode; audio?: AudioContext };
      if (!w.analyser) {
        w.audio = new AudioContext();
        w.analyser = w.audio.createAnalyser();
        w.analyser.fftSize = 8192;
        w.audio.createMediaElementSource(document.querySelector('video')!).connect(w.analyser);
      }
      await new Promise((done) => setTimeout(done, 400));
      const bins = new Float32Array(w.analyser.frequencyBinCount);
      w.analyser.getFloatFrequencyData(bins);
      const peak = bins.indexOf(Math.max(...bins));
      return (peak * w.audio!.sampleRate) / w.analyser.fftSize;
    });

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
      const context = await browser.newContext({ locale });
      const page = await context.newPage();
      await page.goto(pageUrl('', '/no-default.mp4'));
      await playing(page);
      const playingTrack = await page.evaluate(() => window.ferry.player().audioTracks().find((t) => t.playing)?.language);
      expect(playingTrack).toBe(language);
      await context.close();
    }
  });

  it('shows a track this browser cannot play (AC-3) without offering it', async () => {
    const page = await playingPage('', '/two-audio.mp4');
    await page.waitForFunction(() => (document.querySelector('#audio') as HTMLSelectElement).options.length === 2);
    const options = await page.evaluate(() => [...(document.querySelector('#audio') as HTMLSelectElement).options].map((o) => [o.text, o.disabled]));
    expect(options).toEqual([['Track 1 · AAC', false], ['Track 2 · AC-3 (not playable here)', true]]);
    await page.close();
  });
});

describe('previews on the timeline', () => {
  it('shows a picture of the hovered moment, decoded from its keyframe fetched by range, and hides it when the pointer leaves', async () => {
    const page = await playingPage();
    await page.keyboard.press('k');
    const bar = page.getByRole('slider', { name: 'Seek' });
    await bar.scrollIntoViewIfNeeded();
    const box = (await bar.boundingBox())!;
    // Three quarters along the 120 s film: 90 s, far from anything buffered.
    await bar.hover({ position: { x: box.width * 0.75, y: box.height / 2 } });
    await page.locator('#preview').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await page.locator('#preview figcaption').textContent()).toMatch(/^01:(29|30)$/);
    // A real picture: the canvas holds many colours, not one.
    const colours = await page.evaluate(() => {
      const c = document.querySelector('#preview canvas') as HTMLCanvasElement;
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set<number>();
      for (let i = 0; i < data.length; i += 4 * 37) seen.add((data[i]! >> 4) * 256 + (data[i + 1]! >> 4) * 16 + (data[i + 2]! >> 4));
      return { width: c.width, colours: seen.size };
    });
    expect(colours.width).toBe(160);
    expect(colours.colours).toBeGreaterThan(8);
    // Playback was not moved by it.
    expect(await video<number>(page, 'video.currentTime')).toBeLessThan(10);
    await page.mouse.move(box.x + box.width * 0.5, box.y - 200);
    await page.locator('#preview').waitFor({ state: 'hidden', timeout: 2000 });
    await page.close();
  });
});
