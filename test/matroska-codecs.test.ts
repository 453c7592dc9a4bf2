/**
 * Each codec the Matroska engine takes, in Chromium through a real relay: a short film per pairing (VP8 and
 * Vorbis, AV1 and Opus in WebM; H.264 with MP3 and with FLAC, HEVC with AAC in Matroska). Where MSE takes
 * both tracks, it plays through MSE with its sound, reports the codecs it decodes, and seeks. Where it does
 * not, the browser's own player plays what it can, as a plain <video> would: this build decodes no HEVC (the
 * sound plays, and the page names the picture it cannot show). MP3 goes in MP4 where MSE takes it there
 * (Firefox), else as plain frames into an audio/mpeg SourceBuffer (Chromium).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codecFilms, type CodecFilm } from './helpers/matroska-media.js';
import { pages, startStage, stopStage, type Stage } from './helpers/stage.js';
import { tone } from './helpers/tone.js';

let stage: Stage;
let films: CodecFilm[] = [];
const { pageUrl, playing, video } = pages(() => stage);

beforeAll(async () => {
  films = codecFilms();
  stage = await startStage((origin) => {
    for (const film of films) origin.set(`/${film.name}`, { body: film.body, type: 'video/x-matroska' });
  });
}, 240_000);

afterAll(() => stopStage(stage));

describe('Matroska and WebM codecs', () => {
  it.each(['vp8-vorbis.webm', 'av1-opus.webm', 'h264-mp3.mkv', 'h264-flac.mkv', 'hevc-aac.mkv'])('%s', async (name) => {
    const film = films.find((f) => f.name === name)!;
    const page = await stage.browser.newPage();
    const takes = (tracks: string[][]): boolean[] => tracks.map((t) => t.some((m) => MediaSource.isTypeSupported(m)));
    const [pictureInMse, soundInMse] = await page.evaluate(takes, film.mimes);
    await page.goto(pageUrl('', `/${name}`));
    await playing(page, 1);
    const stats = await page.evaluate(() => window.ferry.stats());
    if (pictureInMse && soundInMse) expect(stats).toMatchObject({ engine: 'mse', error: null, codecs: film.codecs });
    else expect(stats).toMatchObject({ engine: 'native', error: null });
    if (!pictureInMse) {
      await expect.poll(() => page.locator('body').innerText()).toContain(`HEVC video (${film.codecs[0]})`);
    } else {
      expect(await video<number>(page, 'video.videoWidth')).toBe(320);
    }
    await page.evaluate(() => (document.querySelector('video')!.muted = false));
    expect(Math.abs((await tone(page)) - 440)).toBeLessThan(15);
    await page.evaluate(() => (document.querySelector('video')!.currentTime = 5));
    await playing(page, 5.5);
    await page.close();
  });
});
