/**
 * Issue 9, part one: who may use the relay. Foreign pages and rebound names are refused, sockets are capped,
 * clients that write without reading or never say hello are cut off, /metrics and /healthz say nothing to
 * strangers, and guessing the password is slowed without locking the owner out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { FerryError } from '../src/protocol/codes.js';
import type { Relay } from '../src/relay/node/server.js';
import { Origin, testBytes } from './helpers/origin.js';
import { connect, rawRequest, signIn, startRelay } from './helpers/relay.js';

let origin: Origin;
beforeAll(async () => {
  origin = await new Origin().start();
  origin.set('/f.bin', { body: testBytes(1024 * 1024, 3) });
});
afterAll(() => origin.close());

const httpBase = (r: Relay): string => `http://127.0.0.1:${r.port}`;

/** Opens a raw socket with these headers: 'open', or the HTTP status the upgrade was refused with. */
function upgrade(r: Relay, headers: Record<string, string>, keep = false, from = '127.0.0.1'): Promise<string | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(r.url, { headers, localAddress: from });
    ws.on('open', () => {
      resolve('open');
      if (!keep) ws.close();
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve('error'));
  });
}

async function counter(r: Relay, name: 'socketsRefused' | 'socketsClosed', reason: string): Promise<number> {
  return (await r.metrics[name].get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe('pages from other sites', () => {
  let relay: Relay;
  beforeAll(async () => {
    relay = await startRelay({ allow: [origin.hostPort], allowOrigins: ['https://ferry.example.com'] });
  });
  afterAll(() => relay.close());

  it('refuses a foreign page’s socket before the upgrade, and lets the relay’s own page and programs in', async () => {
    const own = `127.0.0.1:${relay.port}`;
    expect(await upgrade(relay, { Origin: 'https://evil.example' })).toBe(403);
    expect(await upgrade(relay, { Origin: 'null' })).toBe(403);
    expect(await upgrade(relay, { Origin: `http://127.0.0.1:${relay.port + 1}` })).toBe(403);
    expect(await upgrade(relay, { Origin: `http://${own}` })).toBe('open');
    expect(await upgrade(relay, {})).toBe('open');
    // A program sends no Origin and cannot be steered by a page: it may name the relay any way it likes.
    expect(await upgrade(relay, { Host: 'relay.example.net' })).toBe('open');
    // A name the operator allowed, as a proxy in front would present it.
    expect(await upgrade(relay, { Host: 'ferry.example.com', Origin: 'https://ferry.example.com' })).toBe('open');
    expect(await counter(relay, 'socketsRefused', 'foreign site')).toBe(3);
  });

  it('refuses a rebound name (DNS rebinding) on the socket and on every HTTP path', async () => {
    const port = relay.port;
    expect(await upgrade(relay, { Host: `evil.example:${port}`, Origin: `http://evil.example:${port}` })).toBe(403);
    for (const path of ['/', '/config.json', '/metrics', '/save/x/y']) {
      const res = await fetchWithHost(relay, path, `evil.example:${port}`);
      expect(res.status, path).toBe(421);
    }
    expect((await fetch(`${httpBase(relay)}/`)).status).toBe(200);
    expect((await fetchWithHost(relay, '/', `localhost:${port}`)).status).toBe(200);
  });

  it('refuses a download a foreign page starts', async () => {
    const c = connect(relay.url);
    const ticket = await new Promise<string>((resolve, reject) => {
      const save = c.download(origin.url('/f.bin'));
      save.events = { ticket: (t) => resolve(t.path), error: reject };
    });
    const cross = await fetch(httpBase(relay) + ticket, { headers: { 'sec-fetch-site': 'cross-site' } });
    expect(cross.status).toBe(403);
    expect(await cross.text()).toMatch(/only from the relay/);
    expect((await fetch(httpBase(relay) + ticket, { headers: { origin: 'https://evil.example' } })).status).toBe(403);
    const own = await fetch(httpBase(relay) + ticket, { headers: { 'sec-fetch-site': 'same-origin' } });
    expect(own.status).toBe(200);
    await own.arrayBuffer();
    c.close();
  });
});

/** fetch() will not set Host; a raw request will. */
async function fetchWithHost(r: Relay, path: string, host: string): Promise<{ status: number }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: r.port, path, headers: { host } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('sockets that hold the relay', () => {
  it('caps sockets in all and per network, before the upgrade, and counts the refusals', async () => {
    const r = await startRelay({ maxSockets: 6, maxSocketsPerAddress: 4 });
    const held: (string | number)[] = [];
    // 127.0.0.1 to .5 share one /24: the fifth is over the per-network cap; another /24 may go on.
    for (let i = 1; i <= 5; i++) held.push(await upgrade(r, {}, true, `127.0.0.${i}`));
    for (let i = 1; i <= 3; i++) held.push(await upgrade(r, {}, true, `127.0.1.${i}`));
    expect(held).toEqual(['open', 'open', 'open', 'open', 503, 'open', 'open', 503]);
    expect(await counter(r, 'socketsRefused', 'address full')).toBe(1);
    expect(await counter(r, 'socketsRefused', 'relay full')).toBe(1);
    expect((await fetch(`${httpBase(r)}/healthz`)).status).toBe(200);
    await r.close();
  });

  it('closes a socket that sends no hello at the hello timeout, even if it never answers the close', async () => {
    const r = await startRelay({ limits: { helloTimeoutMs: 300, closeGraceMs: 200 } });
    const ws = new WebSocket(r.url);
    await new Promise((done) => ws.on('open', done));
    // Stop reading: the close frame is never answered.
    (ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    // The TCP connection itself, not only the session, is gone (one never cut would stay for good).
    const connections = (): Promise<number> => new Promise((resolve) => r.server.getConnections((_e, n) => resolve(n)));
    await expect.poll(connections, { timeout: 10_000, interval: 20 }).toBe(0);
    expect(await counter(r, 'socketsClosed', 'no hello in time')).toBe(1);
    ws.terminate();
    await r.close();
  });

  it('closes a client that keeps asking but never reads, once its replies pass the cap', async () => {
    const r = await startRelay({ limits: { maxQueuedBytes: 256 * 1024, pingIntervalMs: 60_000 } });
    const ws = new WebSocket(r.url);
    await new Promise((done) => ws.on('open', done));
    ws.send(JSON.stringify({ t: 'hello', v: 1 }));
    (ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    const rss = process.memoryUsage().rss;
    // Each open of a malformed URL is answered with an error naming it; none is a protocol error.
    const url = `not a url ${'x'.repeat(200)}`;
    let id = 0;
    const spam = setInterval(() => {
      for (let i = 0; i < 200 && ws.readyState === WebSocket.OPEN; i++) ws.send(JSON.stringify({ t: 'open', id: id++, url, credit: 0 }));
    }, 5);
    // What is asserted is what the relay does, not how fast a busy machine lets it: the reason it closed.
    await expect.poll(() => counter(r, 'socketsClosed', 'outgoing queue full'), { timeout: 60_000, interval: 20 }).toBe(1);
    clearInterval(spam);
    // Relay and client share this process: both stay within the kernel's socket buffers and the cap.
    expect(process.memoryUsage().rss - rss).toBeLessThan(100 * 1024 * 1024);
    ws.terminate();
    await r.close();
  });

  it('takes a pong, not any message, as a sign of life', async () => {
    const r = await startRelay({ limits: { pingIntervalMs: 200 } });
    const ws = new WebSocket(r.url, { autoPong: false });
    await new Promise((done) => ws.on('open', done));
    ws.send(JSON.stringify({ t: 'hello', v: 1 }));
    const chatter = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ t: 'credit', id: 9, bytes: 1 })), 50);
    await expect.poll(() => counter(r, 'socketsClosed', 'ping timeout'), { timeout: 3000 }).toBe(1);
    clearInterval(chatter);
    ws.terminate();
    await r.close();
  });
});

describe('what strangers learn', () => {
  it('keeps /metrics for the admin or the metrics token off loopback; /healthz says only ok', async () => {
    const r = await startRelay({ password: 'correct horse', adminPassword: 'battery staple', metricsToken: 'scrape-me-please-0123', metricsOpen: false });
    const metrics = (auth?: string): Promise<Response> => fetch(`${httpBase(r)}/metrics`, auth ? { headers: { authorization: `Bearer ${auth}` } } : {});
    expect((await metrics()).status).toBe(401);
    expect((await metrics('correct horse')).status).toBe(401);
    expect((await metrics('battery staple')).status).toBe(200);
    expect(await (await metrics('scrape-me-please-0123')).text()).toMatch(/ferry_sockets /);
    expect(await (await fetch(`${httpBase(r)}/healthz`)).text()).toBe('{"ok":true}');
    expect((await fetch(`${httpBase(r)}/%E0%A4%A`)).status).toBe(400);
    // A request target that parses as HTTP but is no URL, on the socket path and elsewhere.
    for (const upgrade of ['', 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n']) {
      const raw = await rawRequest(r.port, `GET http://[ HTTP/1.1\r\nHost: 127.0.0.1\r\n${upgrade}\r\n`);
      expect(raw).toMatch(/^HTTP\/1.1 (400|404)/);
    }
    expect((await fetch(`${httpBase(r)}/healthz`)).status).toBe(200);
    await r.close();
  });
});

describe('requests that get no answer', () => {
  it('the relay names the id of a request it refuses, so that transfer fails at once', async () => {
    const r = await startRelay();
    const c = connect(r.url);
    const err = await c.open({ url: `http://127.0.0.1:9/${'x'.repeat(9000)}` }).meta.catch((e: FerryError) => e);
    expect(err).toMatchObject({ code: 'bad_request' });
    c.close();
    await r.close();
  });

  it('the client fails a request its relay never answers', async () => {
    const { WebSocketServer } = await import('ws');
    // A relay that welcomes and then says nothing more.
    const mute = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    mute.on('connection', (ws) =>
      ws.on('message', (d) => {
        if ((JSON.parse(String(d)) as { t: string }).t === 'hello') ws.send(JSON.stringify({ t: 'welcome', v: 1, role: 'user', session: 's', limits: {} }));
      }),
    );
    await new Promise((done) => mute.on('listening', done));
    const c = connect(`ws://127.0.0.1:${(mute.address() as { port: number }).port}`, { answerTimeoutMs: 300 });
    const [opened, saved] = await Promise.all([
      c.open({ url: 'http://127.0.0.1:9/a' }).meta.catch((e: FerryError) => e),
      new Promise<FerryError>((resolve) => (c.download('http://127.0.0.1:9/b').events.error = resolve)),
    ]);
    expect(opened).toMatchObject({ code: 'upstream_timeout' });
    expect(saved).toMatchObject({ code: 'upstream_timeout' });
    c.close();
    mute.close();
  });
});

describe('password guessing', () => {
  it('slows every address of a network alike, and never keeps out a browser that signed in before', async () => {
    const r = await startRelay({ password: 'open sesame', limits: { auth: { baseDelayMs: 200, maxDelayMs: 5000 } } });
    let key = '';
    expect(await signIn(r.url, { password: 'open sesame', onDeviceKey: (k) => (key = k) })).toBe('ok');
    expect(key).toMatch(/^user\./);
    // 127.0.0.1 and 127.0.0.2 are one /24: the second address's guess waits for the first's penalty.
    const guesses = [1, 2, 3, 4].map((i) => new Promise<string>((resolve) => {
      const ws = new WebSocket(r.url, { localAddress: `127.0.0.${1 + (i % 2)}` });
      ws.on('open', () => ws.send(JSON.stringify({ t: 'hello', v: 1, password: `guess ${i}` })));
      ws.on('message', (d) => resolve((JSON.parse(String(d)) as { code: string }).code));
      ws.on('error', () => resolve('error'));
    }));
    const started = Date.now();
    expect(await Promise.all(guesses)).toEqual(['auth_refused', 'auth_refused', 'auth_refused', 'auth_refused']);
    // Judged one at a time: 0 + 200 + 400 + 800 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1300);
    // The owner's browser, with its device key, is let in at once: before a guess that waits out 1.6 s.
    const guess = signIn(r.url, { password: 'guess 5' }).then((code) => `guess: ${code}`);
    const owner = signIn(r.url, { deviceKey: key }).then((code) => `owner: ${code}`);
    expect(await Promise.race([guess, owner])).toBe('owner: ok');
    expect(await guess).toBe('guess: auth_refused');
    // A forged key is worth nothing.
    expect(await signIn(r.url, { deviceKey: `admin.${Date.now() + 1e9}.${'A'.repeat(43)}` })).toBe('auth_required');
    await r.close();
  });
});
