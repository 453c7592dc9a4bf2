/**
 * Dropped connections: a 210 MB transfer whose client connection is cut mid-frame several times, and a relay
 * replaced by another mid-transfer. The bytes must be identical and fetched again only as far as a cut loses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { DEFAULT_WINDOW } from '../src/client/transfer.js';
import { Origin, sha256, testBytes } from './helpers/origin.js';
import { connect, CutProxy, readThroughCuts, startRelay } from './helpers/relay.js';

const SIZE = 210 * 1024 * 1024;
const body = testBytes(SIZE, 7);
const expected = sha256(body);
let origin: Origin;

beforeAll(async () => {
  origin = await new Origin().start();
  origin.set('/big.bin', { body });
});
afterAll(() => origin.close());

/** What one cut can cost at most: the stream's credit, the relay's socket queue, and TCP buffers on the way. */
const PER_CUT = DEFAULT_WINDOW + 8 * 1024 * 1024 + 16 * 1024 * 1024;

describe('resume', () => {
  it('survives five cuts of the client connection with identical bytes', async () => {
    const relay = await startRelay({ allow: [origin.hostPort] });
    const proxy = await new CutProxy(relay.port).start();
    const client = connect(proxy.url);
    const sentBefore = origin.bytesSent;
    const cutsAt = [0.1, 0.3, 0.5, 0.7, 0.9].map((f) => Math.floor(f * SIZE));
    expect(await readThroughCuts(client.open({ url: origin.url('/big.bin') }), proxy, cutsAt)).toEqual({ received: SIZE, sha256: expected });
    expect(proxy.cuts).toBe(5);
    expect(client.reconnects).toBe(5);
    const fetched = origin.bytesSent - sentBefore;
    expect(fetched).toBeLessThanOrEqual(SIZE + 5 * PER_CUT);
    // Streams cut with their sockets are accounted for, not leaked in the gauge.
    expect((await relay.metrics.streams.get()).values[0]?.value).toBe(0);
    client.close();
    await proxy.close();
    await relay.close();
  });

  it('resumes through another relay when the first one dies (stateless relays)', async () => {
    const first = await startRelay({ allow: [origin.hostPort] });
    const second = await startRelay({ allow: [origin.hostPort] });
    const proxy = await new CutProxy(first.port).start();
    const client = connect(proxy.url);
    const t = client.open({ url: origin.url('/big.bin'), end: 50 * 1024 * 1024 - 1 });
    const hash = createHash('sha256');
    let received = 0;
    let switched = false;
    for await (const chunk of t) {
      hash.update(chunk.data);
      received += chunk.data.byteLength;
      if (!switched && received > 20 * 1024 * 1024) {
        switched = true;
        proxy.retarget(second.port);
        await first.close();
      }
    }
    expect(hash.digest('hex')).toBe(sha256(body.subarray(0, 50 * 1024 * 1024)));
    expect(client.reconnects).toBe(1);
    expect(origin.seen.at(-1)?.ifRange).toMatch(/^"/);
    client.close();
    await proxy.close();
    await second.close();
  });

  it('fails every transfer clearly when the relay stays away', async () => {
    const relay = await startRelay({ allow: [origin.hostPort] });
    const proxy = await new CutProxy(relay.port).start();
    const client = connect(proxy.url, { maxAttempts: 3 });
    const t = client.open({ url: origin.url('/big.bin'), window: 1024 * 1024 });
    await t.read();
    await relay.close();
    proxy.cut();
    await expect(t.read().then(async () => { for (;;) await t.read(); })).rejects.toMatchObject({ code: 'relay_unreachable' });
    client.close();
    await proxy.close();
  });
});

describe('backpressure', () => {
  it('pauses the origin for a stalled reader while another stream on the socket keeps flowing', async () => {
    const slowOrigin = await new Origin().start();
    slowOrigin.set('/slow.bin', { body });
    const relay = await startRelay({ allow: [origin.hostPort, slowOrigin.hostPort] });
    const client = connect(relay.url);
    const stalled = client.open({ url: slowOrigin.url('/slow.bin') });
    await stalled.meta;
    const rssBefore = process.memoryUsage().rss;
    const t = client.open({ url: origin.url('/big.bin'), end: 100 * 1024 * 1024 - 1 });
    const hash = createHash('sha256');
    for await (const chunk of t) hash.update(chunk.data);
    expect(hash.digest('hex')).toBe(sha256(body.subarray(0, 100 * 1024 * 1024)));
    // The stalled stream got its window and no more; the origin behind it is paused, not drained into memory.
    expect(stalled.buffered).toBeLessThanOrEqual(DEFAULT_WINDOW);
    // Socket buffers on the way may still take a few MB (the kernel grows them under load); then nothing moves.
    const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));
    let heldBack = -1;
    for (let i = 0; i < 10 && heldBack !== slowOrigin.bytesSent; i++) {
      heldBack = slowOrigin.bytesSent;
      await sleep(300);
    }
    await sleep(500);
    expect(slowOrigin.bytesSent).toBe(heldBack);
    expect(heldBack).toBeLessThan(DEFAULT_WINDOW + 16 * 1024 * 1024);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(150 * 1024 * 1024);
    // Reading again resumes it.
    let more = 0;
    while (more < 40 * 1024 * 1024) more += (await stalled.read())!.data.byteLength;
    expect(slowOrigin.bytesSent).toBeGreaterThan(heldBack);
    client.close();
    await relay.close();
    await slowOrigin.close();
  });
});
