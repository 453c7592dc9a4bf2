/**
 * The relay's decoder of sound no page decodes (`--decode-audio`: TrueHD with ffmpeg): who may open it, what
 * comes back for a page's packets, and that a decoder never outlives its socket or takes more than its share.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Connection } from '../src/client/connection.js';
import type { Relay } from '../src/relay/node/server.js';
import { CONVERTED_SECONDS, trueHdSound } from './helpers/converted-media.js';
import { Origin, testBytes } from './helpers/origin.js';
import { connect, startRelay } from './helpers/relay.js';

const sound = trueHdSound();
let origin: Origin;
let relay: Relay;
let plain: Relay;
let client: Connection;
let base: string;

beforeAll(async () => {
  origin = await new Origin().start();
  origin.set('/film.mkv', { body: sound, type: 'video/x-matroska' });
  origin.set('/other.bin', { body: testBytes(1000) });
  const allow = [`127.0.0.1:${origin.port}`];
  relay = await startRelay({ allow, decodeAudio: true });
  plain = await startRelay({ allow });
  client = connect(relay.url);
  await client.whenReady();
  base = `ws://127.0.0.1:${relay.port}/decode/`;
});

afterAll(async () => {
  client.close();
  await Promise.all([relay.close(), plain.close()]);
  await new Promise((done) => origin.server.close(done));
});

const playTicket = async (c = client): Promise<string> =>
  (await c.download(origin.url('/film.mkv'), { type: 'video/x-matroska' }).whenTicketed()).ticket;

interface Decoded { pcm: Buffer; code: number; reason: string }

/** Opens a decode socket; resolves with the HTTP refusal's status and text when there is no socket. */
type Opened = WebSocket | { status: number; text: string };

function open(url: string, headers: Record<string, string> = {}): Promise<Opened> {
  return new Promise((done) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => done(ws));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => done({ status: res.statusCode ?? 0, text }));
    });
  });
}

/** Everything a socket sends back until it closes. */
function drain(ws: WebSocket): Promise<Decoded> {
  const parts: Buffer[] = [];
  ws.on('message', (data: Buffer) => parts.push(data));
  return new Promise((done) => {
    ws.once('close', (code, reason) => done({ pcm: Buffer.concat(parts), code, reason: reason.toString() }));
  });
}

/** The file sent in pieces of `step` bytes, then `end`. */
function send(ws: WebSocket, bytes: Buffer, step = 64 * 1024, end = true): void {
  for (let at = 0; at < bytes.byteLength; at += step) ws.send(bytes.subarray(at, at + step));
  if (end) ws.send('end');
}

/** Rising zero crossings a second of the left channel (interleaved 32-bit float stereo at 48 kHz). */
function pitch(pcm: Buffer): number {
  const left = new Float32Array(pcm.buffer, pcm.byteOffset, pcm.byteLength / 4).filter((_, i) => i % 2 === 0);
  let rising = 0;
  for (let i = 1; i < left.length; i++) if (left[i - 1]! < 0 && left[i]! >= 0) rising++;
  return rising / (left.length / 48000);
}

/** ffmpeg processes this test's relays have running, the one waiting for the next socket included. */
function decoders(): number {
  let count = 0;
  for (const entry of readdirSync('/proc')) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8').trim();
      const [, name, rest] = /^\d+ \((.*)\) (.*)$/.exec(stat) ?? [];
      if (name === 'ffmpeg' && Number(rest?.split(' ')[1]) === process.pid) count++;
    } catch {
      // not a process, or gone
    }
  }
  return count;
}

describe('the relay decodes TrueHD for a page (--decode-audio)', () => {
  it('says so in its welcome, and a relay without it does not', async () => {
    expect(client.welcome?.decodes).toEqual(['truehd']);
    const other = connect(plain.url);
    await other.whenReady();
    expect(other.welcome?.decodes).toBeUndefined();
    const ticket = await playTicket(other);
    const refused = await open(`ws://127.0.0.1:${plain.port}/decode/${ticket}`);
    expect(refused).toMatchObject({ status: 404 });
    other.close();
  });

  it('sends back the whole sound, as stereo at 48 kHz, at its pitch, as it comes in', async () => {
    const ws = (await open(base + (await playTicket()))) as WebSocket;
    const decoded = drain(ws);
    let received = 0;
    ws.on('message', (data: Buffer) => (received += data.byteLength));
    // Half the packets, no end: their sound comes back without waiting for the rest.
    const half = Math.floor(sound.byteLength / 2);
    send(ws, sound.subarray(0, half), 64 * 1024, false);
    await expect.poll(() => received / 8 / 48000, { timeout: 10_000 }).toBeGreaterThan(CONVERTED_SECONDS / 2 - 1);
    send(ws, sound.subarray(half));
    const { pcm, code } = await decoded;
    expect(code).toBe(1000);
    expect(pcm.byteLength).toBe(CONVERTED_SECONDS * 48000 * 2 * 4);
    expect(pitch(pcm)).toBeCloseTo(440, -1);
  });

  it('refuses a socket without a valid playback ticket, from another site, or past one a core', async () => {
    expect(await open(`${base}nonsense`)).toMatchObject({ status: 403 });
    const save = (await client.download(origin.url('/other.bin')).whenTicketed()).ticket;
    expect(await open(base + save)).toMatchObject({ status: 403, text: 'this ticket is not for playing\n' });
    const ticket = await playTicket();
    const foreign = await open(base + ticket, { origin: 'https://evil.example' });
    expect(foreign).toMatchObject({ status: 403 });
    const held = await Promise.all(Array.from({ length: availableParallelism() }, () => open(base + ticket)));
    const full = await open(base + ticket);
    expect(full).toMatchObject({ status: 503, text: expect.stringMatching(/decoding as much sound as it may/) });
    for (const ws of held) (ws as WebSocket).close();
    await expect.poll(decoders).toBe(1);
    const again = (await open(base + ticket)) as WebSocket;
    expect(again.readyState).toBe(WebSocket.OPEN);
    again.close();
  });

  it('says why it cannot decode what is no TrueHD, and decodes the next socket as before', async () => {
    const ticket = await playTicket();
    const ws = (await open(base + ticket)) as WebSocket;
    const decoded = drain(ws);
    send(ws, Buffer.from(testBytes(200_000, 7)));
    const { code, reason } = await decoded;
    expect(code).toBe(1011);
    expect(reason).toMatch(/^the relay could not decode this sound/);
    const next = (await open(base + ticket)) as WebSocket;
    const good = drain(next);
    send(next, sound);
    expect((await good).pcm.byteLength).toBe(CONVERTED_SECONDS * 48000 * 8);
  });

  it('keeps one ffmpeg started ahead for the next socket, and ends it with the relay', async () => {
    const before = decoders();
    const another = await startRelay({ decodeAudio: true });
    const ws = (await open(`ws://127.0.0.1:${another.port}/decode/nonsense`)) as { status: number };
    expect(ws.status).toBe(403);
    await expect.poll(decoders).toBe(before + 1);
    await another.close();
    await expect.poll(decoders).toBe(before);
  });

  it('ends the decoder when its page goes, or says anything but packets and end', async () => {
    const ticket = await playTicket();
    const gone = (await open(base + ticket)) as WebSocket;
    send(gone, sound.subarray(0, 100_000), 64 * 1024, false);
    await expect.poll(decoders).toBe(2);
    gone.terminate();
    await expect.poll(decoders).toBe(1);
    const chatty = (await open(base + ticket)) as WebSocket;
    const closed = drain(chatty);
    chatty.send('{"t":"hello"}');
    expect(await closed).toMatchObject({ code: 1003 });
    await expect.poll(decoders).toBe(1);
  });
});
