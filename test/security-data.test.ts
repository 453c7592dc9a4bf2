/**
 * Issue 9, part two: what the relay holds and hands out. Streams without credit and downloads nobody reads
 * give their upstream back; tickets are sealed under a key of their own and stay cancelled; ranges and
 * answers that do not add up are refused without harm; a broken download says how to resume.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Connection } from '../src/client/connection.js';
import type { FerryError } from '../src/protocol/codes.js';
import type { Relay } from '../src/relay/node/server.js';
import { TicketSealer } from '../src/relay/core/ticket.js';
import { Origin, sha256, testBytes } from './helpers/origin.js';
import { connect, startRelay } from './helpers/relay.js';

const body = testBytes(32 * 1024 * 1024 + 5, 11);
let origin: Origin;
let relay: Relay;
let client: Connection;

beforeAll(async () => {
  origin = await new Origin().start();
  origin.set('/f.bin', { body });
  relay = await startRelay({ allow: [origin.hostPort], limits: { creditIdleMs: 300, downloads: { maxRecords: 3, maxCancelled: 2 } } });
  client = connect(relay.url);
});
afterAll(async () => {
  client.close();
  await relay.close();
  await origin.close();
});

const base = (r: Relay): string => `http://127.0.0.1:${r.port}`;
const gauge = async (r: Relay, g: 'streams' | 'downloads'): Promise<number> => (await r.metrics[g].get()).values[0]?.value ?? 0;


describe('what an idle client holds', () => {
  it('a stream without credit gives its upstream back, and goes on by range when credit comes', async () => {
    const t = client.open({ url: origin.url('/f.bin'), window: 256 * 1024 });
    await t.meta;
    await expect.poll(() => origin.connections, { timeout: 5000 }).toBe(0);
    expect((await relay.metrics.streamsParked.get()).values[0]?.value).toBeGreaterThanOrEqual(1);
    const parts: Uint8Array[] = [];
    for await (const c of t) parts.push(c.data);
    expect(sha256(Buffer.concat(parts))).toBe(sha256(body));
    const resumed = origin.seen.filter((s) => s.path === '/f.bin' && s.range?.startsWith('bytes=') && s.ifRange);
    expect(resumed.length).toBeGreaterThanOrEqual(1);
  });

  it('a stream waiting for credit is not mistaken for a silent origin', async () => {
    const r = await startRelay({ allow: [origin.hostPort], limits: { idleMs: 300 } });
    const c = connect(r.url);
    const t = c.open({ url: origin.url('/f.bin'), window: 64 * 1024 });
    await t.meta;
    await new Promise((done) => setTimeout(done, 1000));
    const parts: Uint8Array[] = [];
    for await (const chunk of t) parts.push(chunk.data);
    expect(sha256(Buffer.concat(parts))).toBe(sha256(body));
    c.close();
    await r.close();
  });

  it('many streams opened with no credit at all hold no upstream connection after the idle time', async () => {
    const sockets = await Promise.all(
      [0, 1].map(async () => {
        const ws = new WebSocket(relay.url);
        await new Promise((done) => ws.on('open', done));
        ws.send(JSON.stringify({ t: 'hello', v: 1 }));
        for (let id = 1; id <= 64; id++) ws.send(JSON.stringify({ t: 'open', id, url: origin.url('/f.bin'), credit: 0 }));
        return ws;
      }),
    );
    await expect.poll(() => gauge(relay, 'streams'), { timeout: 5000 }).toBe(128);
    await expect.poll(() => origin.connections, { timeout: 5000 }).toBe(0);
    // The pool is free for everyone else.
    const parts: Uint8Array[] = [];
    for await (const c of client.open({ url: origin.url('/f.bin'), end: 1023 })) parts.push(c.data);
    expect(Buffer.concat(parts).byteLength).toBe(1024);
    for (const ws of sockets) ws.terminate();
  });

  it('holds at most so many idle upstreams across the relay: past that, the longest idle is parked at once', async () => {
    const r = await startRelay({ allow: [origin.hostPort], limits: { creditIdleMs: 60_000, maxIdleUpstreams: 4 } });
    const ws = new WebSocket(r.url);
    await new Promise((done) => ws.on('open', done));
    ws.send(JSON.stringify({ t: 'hello', v: 1 }));
    for (let id = 1; id <= 16; id++) ws.send(JSON.stringify({ t: 'open', id, url: origin.url('/f.bin'), credit: 0 }));
    await expect.poll(async () => (await r.metrics.streamsParked.get()).values[0]?.value, { timeout: 5000 }).toBe(12);
    await expect.poll(() => origin.connections, { timeout: 5000 }).toBe(4);
    ws.terminate();
    await r.close();
  });

  it('a download the browser stops reading is dropped, so the browser can resume it later', async () => {
    const ticket = await client.download(origin.url('/f.bin')).whenTicketed();
    const res = await fetch(base(relay) + ticket.path);
    const reader = res.body!.getReader();
    await reader.read();
    await expect.poll(() => gauge(relay, 'downloads'), { timeout: 5000 }).toBe(0);
    await expect.poll(() => origin.connections, { timeout: 5000 }).toBe(0);
    await expect(async () => {
      while (!(await reader.read()).done);
    }).rejects.toThrow();
  });
});

describe('tickets', () => {
  it('are sealed under a key of their own: not the password, and the URL is not readable in them', async () => {
    const r = await startRelay({ allow: [origin.hostPort], password: 'open sesame' });
    const c = connect(r.url, { password: 'open sesame' });
    const url = `http://someone:secretpw@${origin.hostPort}/f.bin?token=hunter2`;
    const { ticket } = await c.download(url).whenTicketed();
    const readable = Buffer.from(ticket, 'base64url').toString('latin1') + ticket;
    for (const secret of ['secretpw', 'hunter2', 'someone', origin.hostPort]) expect(readable).not.toContain(secret);
    await expect(new TicketSealer(['open sesame']).unseal(ticket)).rejects.toMatchObject({ code: 'ticket_invalid' });
    c.close();
    await r.close();
  });

  it('rotate: a relay with the new and the old secret opens old tickets; one with only the new does not', async () => {
    const OLD = 'the old secret, at least thirty-two characters';
    const NEW = 'the new secret, at least thirty-two characters';
    const before = await startRelay({ allow: [origin.hostPort], ticketSecret: OLD });
    const during = await startRelay({ allow: [origin.hostPort], ticketSecrets: [NEW, OLD] });
    const after = await startRelay({ allow: [origin.hostPort], ticketSecret: NEW });
    const c = connect(before.url);
    const { path } = await c.download(origin.url('/f.bin')).whenTicketed();
    const range = { headers: { range: 'bytes=0-99' } };
    expect((await fetch(base(during) + path, range)).status).toBe(206);
    expect((await fetch(base(after) + path, range)).status).toBe(403);
    c.close();
    await Promise.all([before.close(), during.close(), after.close()]);
  });

  it('a cancel holds for the ticket’s life, however many newer tickets come after it', async () => {
    const first = client.download(origin.url('/f.bin'));
    const { path } = await first.whenTicketed();
    first.cancel();
    await expect.poll(async () => (await fetch(base(relay) + path)).status).toBe(410);
    // maxRecords is 3: these evict the cancelled download's record.
    for (let i = 0; i < 4; i++) await client.download(origin.url('/f.bin')).whenTicketed();
    expect((await fetch(base(relay) + path)).status).toBe(410);
    // maxCancelled is 2: these push the first cancel out of the set; the floor still refuses it.
    for (let i = 0; i < 2; i++) {
      const s = client.download(origin.url('/f.bin'));
      await s.whenTicketed();
      s.cancel();
    }
    await new Promise((done) => setTimeout(done, 50));
    const res = await fetch(base(relay) + path);
    expect(res.status).toBe(410);
    expect(await res.text()).toMatch(/start the download again/);
  });

  it('a malformed range is a 416 for that request and never spoils the ticket', async () => {
    const { path } = await client.download(origin.url('/f.bin')).whenTicketed();
    for (const range of ['bytes=5-3', `bytes=${'9'.repeat(30)}-`, 'bytes=-', 'bytes=1-2,5-6', `bytes=${body.byteLength}-`]) {
      const res = await fetch(base(relay) + path, { headers: { range } });
      expect(res.status, range).toBe(416);
      await res.arrayBuffer();
    }
    const whole = await fetch(base(relay) + path);
    expect(whole.status).toBe(200);
    expect(sha256(new Uint8Array(await whole.arrayBuffer()))).toBe(sha256(body));
  });
});

describe('a download cut by a reset', () => {
  it('is broken off (never ended cleanly), reported stopped, and resumes to identical bytes', async () => {
    const cutAt = 3 * 1024 * 1024;
    origin.set('/reset.bin', { body, dropAfter: cutAt, reset: true });
    const save = client.download(origin.url('/reset.bin'));
    const stopped = new Promise<number>((resolve) => {
      save.events.progress = (bytes, _total, _done, isStopped) => isStopped && resolve(bytes);
    });
    const { path } = await save.whenTicketed();
    const res = await fetch(base(relay) + path);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('etag')).toMatch(/^"/);
    const got: Uint8Array[] = [];
    const reader = res.body!.getReader();
    await expect(async () => {
      for (let r = await reader.read(); !r.done; r = await reader.read()) got.push(r.value);
    }).rejects.toThrow();
    const have = Buffer.concat(got);
    expect(await stopped).toBeGreaterThan(0);
    // The origin recovers; the browser's Resume asks for the rest of the same version.
    origin.set('/reset.bin', { body });
    const rest = await fetch(base(relay) + path, { headers: { range: `bytes=${have.byteLength}-` } });
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe(`bytes ${have.byteLength}-${body.byteLength - 1}/${body.byteLength}`);
    expect(sha256(Buffer.concat([have, new Uint8Array(await rest.arrayBuffer())]))).toBe(sha256(body));
  });
});

describe('answers that do not add up', () => {
  it('a 206 whose Content-Range is not the range asked for, or not its own length, is refused', async () => {
    origin.set('/wrong-start.bin', { body, contentRange: `bytes 0-99/${body.byteLength}` });
    origin.set('/wrong-length.bin', { body, contentRange: `bytes 100-199/${body.byteLength}` });
    for (const path of ['/wrong-start.bin', '/wrong-length.bin']) {
      const err = await client.open({ url: origin.url(path), offset: 100 }).meta.catch((e: FerryError) => e);
      expect((err as FerryError).code, path).toBe('upstream_error');
    }
  });
});
