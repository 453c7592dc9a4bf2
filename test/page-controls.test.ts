/**
 * The page's own controls around the video, in headless Chromium through a real relay: the keys, the speed
 * menu, the list of keys, Media Session, the remembered position with its offer, and previews on the seek bar.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testMedia } from './helpers/media.js';
import { pages, startStage, stopStage, type Stage } from './helpers/stage.js';

let stage: Stage;
const { pageUrl, playingPage, playing, video } = pages(() => stage);

beforeAll(async () => {
  stage = await startStage((origin) => origin.set('/film.mp4', { body: testMedia().moovLast, type: 'video/mp4' })); // 120 s
});

afterAll(() => stopStage(stage));

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
    const context = await stage.browser.newContext();
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
