/**
 * Sound Chromium cannot decode, converted in the page (AC-3, E-AC-3, DTS; TrueHD decoded by the relay, on the
 * stage's relay started with `--decode-audio`): each film plays through MSE with its 440 Hz tone heard, seeks
 * and plays on, and names what it converts in the Audio menu.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertedFilms, longSyncFilm, syncFilm, type ConvertedFilm } from './helpers/converted-media.js';
import { beepOnsets, recordConversions, type Onset } from './helpers/converted-sound.js';
import { availableParallelism } from 'node:os';
import { WebSocket } from 'ws';
import type { Relay } from '../src/relay/node/server.js';
import { connect, startRelay } from './helpers/relay.js';
import { pages, startStage, stopStage, type Stage } from './helpers/stage.js';
import { tone } from './helpers/tone.js';

let stage: Stage;

/** A decode socket of the relay's, opened and left idle. */
function openSocket(relay: Relay, ticket: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${relay.port}/decode/${ticket}`);
  return new Promise((done, fail) => (ws.once('open', () => done(ws)), ws.once('error', fail)));
}
let films: ConvertedFilm[] = [];
const { pageUrl, playing } = pages(() => stage);

beforeAll(async () => {
  films = convertedFilms();
  stage = await startStage((origin) => {
    for (const film of films) origin.set(`/${film.name}`, { body: film.body, type: 'video/mp4' });
    origin.set('/sync-ac3.mp4', { body: syncFilm(), type: 'video/mp4' });
    origin.set('/sync-truehd.mkv', { body: syncFilm('truehd'), type: 'video/x-matroska' });
    origin.set('/sync-truehd-long.mkv', { body: longSyncFilm(), type: 'video/x-matroska' });
  }, { decodeAudio: true });
}, 240_000);

afterAll(() => stopStage(stage));

describe('sound converted in the page', () => {
  const names = ['ac3.mp4', 'ac3.mkv', 'eac3.mp4', 'dts.mkv', 'truehd.mkv', 'truehd.mp4'];
  it.each(names)('%s plays with its sound, and seeks', async (name) => {
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

describe('converted sound in step with the picture', () => {
  /** The beeps of every run heard, each as far from its whole second as it is (the picture flashes on it). */
  const drift = (onsets: Onset[], run: (name: string) => boolean): number[] =>
    onsets.filter((o) => run(o.run)).map((o) => Math.abs(o.at - Math.round(o.at)));

  const syncPage = async (path = '/sync-ac3.mp4'): Promise<Page> => {
    const page = await stage.browser.newPage();
    await recordConversions(page);
    await page.goto(pageUrl('', path));
    await playing(page, 3.2);
    const start = drift(await beepOnsets(page), (run) => run === '0/0');
    expect(start.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...start)).toBeLessThan(0.04);
    return page;
  };

  it.each(['/sync-ac3.mp4', '/sync-truehd.mkv'])('%s: within 40 ms at the start, and after a seek', async (path) => {
    const page = await syncPage(path);
    // Far ahead, then back to what has left the buffers (30 s behind): read and converted again, from a keyframe.
    await page.evaluate(() => (document.querySelector('video')!.currentTime = 45.4));
    await playing(page, 46.2);
    await page.evaluate(() => (document.querySelector('video')!.currentTime = 5.4));
    await playing(page, 8.2);
    const seeked = drift(await beepOnsets(page), (run) => run.startsWith('0/') && run !== '0/0');
    expect(seeked.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...seeked)).toBeLessThan(0.04);
    await page.close();
  });

  it('TrueHD paused longer than the relay keeps an idle decoder: the sound goes on, in step', async () => {
    const limits = { decodeIdleMs: 1500 };
    const idle = await startRelay({ allow: [stage.origin.hostPort], decodeAudio: true, limits });
    const page = await stage.browser.newPage();
    await recordConversions(page);
    await page.goto(pageUrl('', '/sync-truehd-long.mkv').replace(`:${stage.relay.port}/`, `:${idle.port}/`));
    await playing(page, 2);
    // Read ahead (about 64 s of this film), then nothing for the relay's decoder: it closes (1001), and the
    // page opens another once it reads on.
    const read = await page.evaluate(() => document.querySelector('video')!.buffered.end(0));
    await page.evaluate(() => document.querySelector('video')!.pause());
    await page.waitForTimeout(3000);
    await page.evaluate(() => {
      const video = document.querySelector('video')!;
      video.playbackRate = 8;
      void video.play();
    });
    await playing(page, read + 8);
    const after = (await beepOnsets(page)).filter((o) => o.run === '0/0' && o.at > read + 2);
    expect(after.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...drift(after, () => true))).toBeLessThan(0.04);
    // No notice: the sound was never silenced.
    expect(await page.locator('#notice').textContent()).not.toMatch(/could not be converted/);
    await page.close();
    await idle.close();
  });

  it('within 40 ms after a switch to the AAC track and back, from where playback was, then a seek', async () => {
    const page = await syncPage();
    const audio = page.getByLabel('Audio');
    const before = await page.evaluate(() => document.querySelector('video')!.currentTime);
    await audio.selectOption({ index: 1 });
    await playing(page, before + 0.5);
    await audio.selectOption({ index: 0 });
    await playing(page, before + 2.5);
    expect(await page.evaluate(() => window.ferry.stats().codecs)).toContain('ac-3');
    // A new worker converts the track chosen again.
    const switched = drift(await beepOnsets(page), (run) => run === '1/0');
    expect(switched.length).toBeGreaterThanOrEqual(1);
    expect(Math.max(...switched)).toBeLessThan(0.04);
    // And on past what the moov's head described: a track chosen before the whole index came was made from
    // the head's tables, and playback stopped where they ended (issue 24's switch, found here).
    await page.evaluate(() => (document.querySelector('video')!.currentTime = 45.4));
    await playing(page, 47);
    await page.close();
  });
});

describe('sound the page cannot convert', () => {
  it('TrueHD from a relay that does not decode it: the picture plays, and the page says what would', async () => {
    const plain = await startRelay({ allow: [stage.origin.hostPort] });
    const page = await stage.browser.newPage();
    await page.goto(pageUrl('', '/truehd.mkv').replace(`:${stage.relay.port}/`, `:${plain.port}/`));
    await playing(page, 1);
    expect(await page.evaluate(() => window.ferry.stats())).toMatchObject({ error: null });
    const said = /this file's TrueHD audio \(mlpa\): the picture plays without sound \(Download it .*--decode-audio/;
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(said);
    await page.close();
    await plain.close();
  });

  it('a relay too busy to decode: the picture plays on, and the page says why the TrueHD is silent', async () => {
    // Every decoder the relay may run (one a core) taken by another client.
    const other = connect(stage.relay.url);
    const { ticket } = await other.download(stage.origin.url('/truehd.mkv'), { type: null }).whenTicketed();
    const cores = availableParallelism();
    const busy = await Promise.all(Array.from({ length: cores }, () => openSocket(stage.relay, ticket)));
    const page = await stage.browser.newPage();
    await page.goto(pageUrl('', '/truehd.mkv'));
    await playing(page, 2);
    expect(await page.evaluate(() => window.ferry.stats())).toMatchObject({ engine: 'mse', error: null });
    const said = /the TrueHD sound could not be converted in this page \(the relay refused to decode it/;
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(said);
    await page.close();
    for (const ws of busy) ws.close();
    other.close();
  });

  it('a decoder that cannot load: the picture plays on, and the page says the sound was not converted', async () => {
    // As a policy that refuses the decoder's code would (or a network that drops it).
    const page = await stage.browser.newPage();
    await page.route(/mediabunny-ac3-[^/]*\.js$/, (route) => route.abort());
    await page.goto(pageUrl('', '/ac3.mkv'));
    await playing(page, 2);
    expect(await page.evaluate(() => window.ferry.stats())).toMatchObject({ engine: 'mse', error: null });
    const said = /the AC-3 sound could not be converted in this page \(.+\): the picture plays without it/;
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(said);
    await page.close();
  });
});
