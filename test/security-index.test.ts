/**
 * Issue 23, index streams: a client that opens dozens of them and never grants credit, or opens them on an
 * origin that never answers, takes turns at building them behind its own and its network's, not in front of
 * everyone's; and the media such streams ask the relay to open gives its connection back like any stream
 * left without credit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Relay } from '../src/relay/node/server.js';
import { HostileOrigin } from './helpers/hostile-origin.js';
import { testMedia } from './helpers/media.js';
import { Origin } from './helpers/origin.js';
import { connect, indexHead, startRelay } from './helpers/relay.js';

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo();
});

/** A socket from `localAddress` (another client network than 127.0.0.1's), said hello on. */
async function socketFrom(relay: Relay, localAddress: string): Promise<WebSocket> {
  const ws = new WebSocket(relay.url, { localAddress });
  await new Promise((done, fail) => (ws.once('open', done), ws.once('error', fail)));
  ws.on('error', () => {});
  ws.send(JSON.stringify({ t: 'hello', v: 1 }));
  cleanup.push(() => ws.terminate());
  return ws;
}

/** Milliseconds from a fresh client's index open to its head (ftyp and moov head) in hand. */
async function startTime(relay: Relay, url: string): Promise<number> {
  const client = connect(relay.url);
  cleanup.push(() => client.close());
  await client.whenReady();
  const started = performance.now();
  await indexHead(client.open({ url, index: 'mp4', window: 4 * 1024 * 1024 }));
  return performance.now() - started;
}

async function films(): Promise<Origin> {
  const origin = await new Origin().start();
  origin.set('/film.mp4', { body: testMedia().moovLast, type: 'video/mp4' });
  cleanup.push(() => origin.close());
  return origin;
}

describe('turns at building index streams', () => {
  it('another user starts at once while a client holds dozens of index streams without credit or on a silent origin', async () => {
    const origin = await films();
    // An origin that takes every request and never answers: a walk to its moov holds its turn until the timeout.
    const silent = await new HostileOrigin(() => {}).start();
    cleanup.push(() => silent.close());
    const relay = await startRelay({ allow: [origin.hostPort, silent.hostPort] });
    cleanup.push(() => relay.close());
    for (let s = 0; s < 3; s++) {
      const ws = await socketFrom(relay, `127.0.5.${s + 1}`);
      for (let id = 1; id <= 24; id++) ws.send(JSON.stringify({ t: 'open', id, url: origin.url(`/film.mp4?${s}-${id}`), index: 'mp4', credit: 0 }));
      for (let id = 25; id <= 40; id++) ws.send(JSON.stringify({ t: 'open', id, url: silent.url(`/${id}`), index: 'mp4', credit: 1 << 20 }));
    }
    await expect.poll(() => silent.requests, { timeout: 5000 }).toBeGreaterThanOrEqual(4);
    await new Promise((done) => setTimeout(done, 500));
    // Before issue 23: the relay's 8 turns were held 15 to 20 s each, and no meta came within 16 s.
    expect(await startTime(relay, origin.url('/film.mp4'))).toBeLessThan(5000);
    // The client's network held at most its share of turns on the silent origin.
    expect(silent.requests).toBeLessThanOrEqual(4);
  });
});

describe('the media an index stream asks the relay to open', () => {
  it('gives its connection back when the index never gets credit, as any stream without credit does', async () => {
    const origin = await films();
    const relay = await startRelay({ allow: [origin.hostPort], limits: { creditIdleMs: 500 } });
    cleanup.push(() => relay.close());
    const ws = await socketFrom(relay, '127.0.0.1');
    for (let id = 1; id <= 8; id++) {
      const open = { t: 'open', id, url: origin.url(`/film.mp4?${id}`), index: 'mp4', credit: 0, media: { id: 100 + id, credit: 1 << 20 } };
      ws.send(JSON.stringify(open));
    }
    // Eight index streams and their eight media streams are parked; the origin holds no connection of theirs.
    await expect.poll(async () => (await relay.metrics.streamsParked.get()).values[0]?.value, { timeout: 10_000 }).toBeGreaterThanOrEqual(16);
    await expect.poll(() => origin.connections, { timeout: 10_000 }).toBe(0);
  });
});
