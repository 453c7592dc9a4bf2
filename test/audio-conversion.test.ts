/**
 * Sound Chromium cannot decode, converted in the page (AC-3, E-AC-3, DTS): each film plays through MSE with
 * its 440 Hz tone heard, seeks and plays on, and names what it converts in the Audio menu.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertedFilms, type ConvertedFilm } from './helpers/converted-media.js';
import { pages, startStage, stopStage, type Stage } from './helpers/stage.js';
import { tone } from './helpers/tone.js';

let stage: Stage;
let films: ConvertedFilm[] = [];
const { pageUrl, playing } = pages(() => stage);

beforeAll(async () => {
  films = convertedFilms();
  stage = await startStage((origin) => {
    for (const film of films) origin.set(`/${film.name}`, { body: film.body, type: 'video/mp4' });
  });
}, 240_000);

afterAll(() => stopStage(stage));

describe('sound converted in the page', () => {
  it.each(['ac3.mp4', 'ac3.mkv', 'eac3.mp4', 'dts.mkv'])('%s plays with its sound, and seeks', async (name) => {
    const film = films.find((f) => f.name === name)!;
    const page = await stage.browser.newPage();
    page.on('console', (m) => console.log(name, m.text()));
    await page.goto(pageUrl('', `/${name}`));
    await playing(page, 1);
    const stats = await page.evaluate(() => window.ferry.stats());
    expect(stats).toMatchObject({ engine: 'mse', error: null });
    expect(stats.codecs).toContain(film.codec);
    await page.evaluate(() => (document.querySelector('video')!.muted = false));
    expect(Math.abs((await tone(page)) - 440)).toBeLessThan(15);
    await page.evaluate(() => (document.querySelector('video')!.currentTime = 9));
    await playing(page, 10);
    expect(Math.abs((await tone(page)) - 440)).toBeLessThan(15);
    await page.close();
  });
});
