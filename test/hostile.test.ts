/**
 * Hostile input against a real relay: property-based fuzzing of the frame decoder and of sessions, floods of
 * streams, slow handshakes and sockets that never read. The relay answers with errors, stays bounded, and
 * other sessions carry on.
 */
import { connect as connectTcp } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FerryError } from '../src/protocol/codes.js';
import { decodeDataFrame } from '../src/protocol/frames.js';
import { parseClientMessage } from '../src/protocol/parse.js';
import type { Relay } from '../src/relay/node/server.js';
import { Origin, sha256, testBytes } from './helpers/origin.js';
import { connect, startRelay } from './helpers/relay.js';

const body = testBytes(4 * 1024 * 1024, 9);
let origin: Origin;
let relay: Relay;

beforeAll(async () => {
  origin = await new Origin().start();
  origin.set('/f.bin', { body });
  origin.set('/silent', { body, stallAfter: 0 });
  relay = await startRelay({ allow: [origin.hostPort], limits: { handshakeTimeoutMs: 400, pingIntervalMs: 300 } });
});
afterAll(async () => {
  await relay.close();
  await origin.close();
});

async function gauge(g: 'streams' | 'sockets'): Promise<number> {
  return (await relay.metrics[g].get()).values[0]?.value ?? 0;
}

async function closedBy(reason: string): Promise<number> {
  return (await relay.metrics.socketsClosed.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

/** A healthy client still gets a whole file, byte for byte. */
async function healthy(): Promise<void> {
  const c = connect(relay.url);
  const parts: Uint8Array[] = [];
  for await (const chunk of c.open({ url: origin.url('/f.bin') })) parts.push(chunk.data);
  expect(sha256(Buffer.concat(parts))).toBe(sha256(body));
  c.close();
}

const onlyFerryErrors = (fn: () => unknown): void => {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof FerryError)) throw err;
  }
};

describe('decoders under random input', () => {
  it('the data frame decoder either decodes or says protocol_error', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => onlyFerryErrors(() => decodeDataFrame(bytes))), { numRuns: 2000 });
  });

  it('the control message parser either parses or throws a FerryError', () => {
    const anyJson = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v));
    const openish = fc.record(
      { t: fc.constantFrom('open', 'credit', 'cancel', 'hello', 'kill', 'list', 'save', 'watch', 'x'), id: fc.oneof(fc.integer(), fc.double(), fc.string()), url: fc.string(), ticket: fc.oneof(fc.string(), fc.integer()), credit: fc.oneof(fc.integer(), fc.double()), bytes: fc.oneof(fc.integer(), fc.double()), offset: fc.anything(), end: fc.anything(), headers: fc.dictionary(fc.string(), fc.string()), v: fc.integer() },
      { requiredKeys: ['t'] },
    ).map((v) => JSON.stringify(v));
    fc.assert(fc.property(fc.oneof(fc.string(), anyJson, openish), (text) => onlyFerryErrors(() => parseClientMessage(text))), { numRuns: 3000 });
  });
});

describe('sessions under random messages', () => {
  it('answers every random sequence with errors and leaves nothing behind', async () => {
    const message = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 100 }),
      fc.record({ t: fc.constant('open'), id: fc.nat(5), url: fc.constantFrom(origin.url('/f.bin'), origin.url('/silent'), 'http://10.0.0.1/', 'ftp://x', 'nonsense'), credit: fc.nat(2 ** 27), offset: fc.nat(5_000_000) }).map((m) => JSON.stringify(m)),
      fc.record({ t: fc.constant('credit'), id: fc.nat(8), bytes: fc.oneof(fc.nat(), fc.constant(2 ** 53), fc.constant(-1)) }).map((m) => JSON.stringify(m)),
      fc.record({ t: fc.constant('cancel'), id: fc.nat(8) }).map((m) => JSON.stringify(m)),
      fc.record({ t: fc.constant('save'), id: fc.nat(8), url: fc.constantFrom(origin.url('/f.bin'), origin.url('/silent'), 'http://10.0.0.1/', 'nonsense') }).map((m) => JSON.stringify(m)),
      fc.record({ t: fc.constant('watch'), id: fc.nat(8), ticket: fc.string({ maxLength: 100 }) }).map((m) => JSON.stringify(m)),
      fc.constant(JSON.stringify({ t: 'list' })),
      fc.constant(JSON.stringify({ t: 'hello', v: 1 })),
    );
    const rss0 = process.memoryUsage().rss;
    await fc.assert(
      fc.asyncProperty(fc.array(message, { maxLength: 60 }), async (messages) => {
        const ws = new WebSocket(relay.url);
        await new Promise((done) => ws.on('open', done));
        ws.on('message', () => {});
        ws.send(JSON.stringify({ t: 'hello', v: 1 }));
        for (const m of messages) ws.send(m);
        // A round trip proves the relay read everything and is still answering this socket (or closed it).
        await new Promise<void>((done) => {
          ws.on('close', () => done());
          ws.send(JSON.stringify({ t: 'list' }), () => setTimeout(done, 20));
        });
        ws.terminate();
      }),
      { numRuns: 60 },
    );
    await new Promise((done) => setTimeout(done, 200));
    expect(await gauge('streams')).toBe(0);
    expect(await gauge('sockets')).toBe(0);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(200 * 1024 * 1024);
    await healthy();
  });

  it('holds a flood of thousands of opens to the per-socket limit', async () => {
    const ws = new WebSocket(relay.url);
    await new Promise((done) => ws.on('open', done));
    let limited = 0;
    ws.on('message', (d, binary) => {
      if (!binary && (JSON.parse(String(d)) as { code?: string }).code === 'limit_reached') limited++;
    });
    ws.send(JSON.stringify({ t: 'hello', v: 1 }));
    for (let id = 1; id <= 3000; id++) ws.send(JSON.stringify({ t: 'open', id, url: origin.url('/silent'), credit: 1024 }));
    await new Promise((done) => setTimeout(done, 1500));
    expect(await gauge('streams')).toBeLessThanOrEqual(64);
    expect(limited).toBeGreaterThanOrEqual(3000 - 64);
    await healthy();
    ws.terminate();
  });
});

describe('sockets that hold the relay', () => {
  it('closes a handshake that trickles in, and counts it', async () => {
    const before = await closedBy('handshake timeout');
    const socket = connectTcp(relay.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write('GET /ws HTTP/1.1\r\nHost: x\r\n');
    const trickle = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 100);
    await new Promise((done) => socket.on('close', done));
    clearInterval(trickle);
    expect(await closedBy('handshake timeout')).toBe(before + 1);
  });

  it('closes a socket that never reads (no pongs), and counts it', async () => {
    const before = await closedBy('ping timeout');
    const ws = new WebSocket(relay.url);
    await new Promise((done) => ws.on('open', done));
    ws.send(JSON.stringify({ t: 'hello', v: 1 }));
    ws.send(JSON.stringify({ t: 'open', id: 1, url: origin.url('/f.bin'), credit: 4 * 1024 * 1024 }));
    await new Promise((done) => setTimeout(done, 100));
    // Stop reading: the kernel buffers fill, pings go unanswered.
    (ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    await new Promise((done) => setTimeout(done, 1500));
    expect(await closedBy('ping timeout')).toBe(before + 1);
    expect(await gauge('streams')).toBe(0);
    ws.terminate();
  });
});
