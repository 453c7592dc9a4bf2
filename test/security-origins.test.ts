/**
 * Issue 23, the second security pass: what a hostile origin, or a client using one, can make the relay hold.
 * One-byte chunks, moovs nested without end or split into hundreds of traks, and index streams that never
 * take a byte. Each test asserts what the relay holds (memory, connections, slots) and that another user's
 * start still goes through.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Relay } from '../src/relay/node/server.js';
import { HostileOrigin, oneByteChunks } from './helpers/hostile-origin.js';
import { startRelay } from './helpers/relay.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MB = 1024 * 1024;

/** What the relay's process holds in JavaScript objects and buffers, after a full collection. */
function held(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo();
});

async function socketOn(relay: Relay): Promise<WebSocket> {
  const ws = new WebSocket(relay.url);
  await new Promise((done) => ws.on('open', done));
  ws.send(JSON.stringify({ t: 'hello', v: 1 }));
  cleanup.push(() => ws.terminate());
  return ws;
}

describe('an origin that sends one-byte chunks', () => {
  it('costs the relay what its bytes cost: eight streams without credit hold a few MB, and nothing once closed', async () => {
    let blocked = 0;
    const origin = await new HostileOrigin((_, socket) => oneByteChunks(socket, () => blocked++)).start();
    cleanup.push(() => origin.close());
    const relay = await startRelay({ allow: [origin.hostPort] });
    cleanup.push(() => relay.close());
    const before = held();
    const ws = await socketOn(relay);
    for (let id = 1; id <= 8; id++) ws.send(JSON.stringify({ t: 'open', id, url: origin.url(`/${id}`), credit: 0 }));
    // Each connection's origin stops being read: the relay holds what it will hold.
    await expect.poll(() => blocked, { timeout: 60_000, interval: 200 }).toBeGreaterThanOrEqual(8);
    const holding = held() - before;
    ws.terminate();
    await expect.poll(() => origin.connections, { timeout: 5000 }).toBe(0);
    const after = held() - before;
    // Before issue 23: ~1 MiB of one-byte views per stream, 500-600 MB for eight.
    expect(holding).toBeLessThan(48 * MB);
    expect(after).toBeLessThan(16 * MB);
  });
});
