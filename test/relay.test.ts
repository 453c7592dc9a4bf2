/**
 * The Node relay end to end: a real origin, a real relay, real WebSockets; what it does beyond the protocol
 * both edges pass (edges.test.ts): the welcome's round trip, hostile input, auth, dialling, operations.
 */
import { createServer as createTcpServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Connection } from '../src/client/connection.js';
import type { Relay } from '../src/relay/node/server.js';
import { Origin, sha256, testBytes } from './helpers/origin.js';
import { connect, failure, rawRequest, readAll, signIn, startRelay } from './helpers/relay.js';
import { Link } from '../bench/link.js';

const body = testBytes(6 * 1024 * 1024 + 123);
let origin: Origin;
let relay: Relay;
let client: Connection;

beforeAll(async () => {
  origin = await new Origin().start();
  origin.set('/file.bin', { body, type: 'video/mp4', disposition: 'attachment; filename="film.mp4"' });
  origin.set('/silent', { body, stallAfter: 0 });
  relay = await startRelay({ allow: [origin.hostPort], limits: { idleMs: 300 } });
  client = connect(relay.url);
});

afterAll(async () => {
  client.close();
  await relay.close();
  await origin.close();
});

/** A raw socket, to say what a well-behaved client never would. */
async function rawSocket(url: string): Promise<{ ws: WebSocket; next: () => Promise<Record<string, unknown>>; closed: Promise<number> }> {
  const ws = new WebSocket(url);
  const inbox: Record<string, unknown>[] = [];
  const waiting: ((m: Record<string, unknown>) => void)[] = [];
  ws.on('message', (data, binary) => {
    if (binary) return;
    const m = JSON.parse(String(data)) as Record<string, unknown>;
    const w = waiting.shift();
    if (w) w(m);
    else inbox.push(m);
  });
  const closed = new Promise<number>((done) => ws.on('close', (code) => done(code)));
  await new Promise((done) => ws.on('open', done));
  return { ws, closed, next: () => new Promise((done) => (inbox.length ? done(inbox.shift()!) : waiting.push(done))) };
}

describe('the welcome', () => {
  it("gives the socket's round trip, timed by a ping as it opened, before any data", async () => {
    // 20 ms each way: a link of our own between this client and the relay (bench/link.ts).
    const link = await new Link(Number(new URL(relay.url).port), { name: '20 ms', delayMs: 20, bitsPerSecond: 100e6 }).start();
    try {
      const s = await rawSocket(relay.url.replace(/:\d+\//, `:${link.port}/`));
      // The hello after the pong is back, as a page's is once its script has loaded.
      await new Promise((done) => setTimeout(done, 150));
      s.ws.send(JSON.stringify({ t: 'hello', v: 1 }));
      const welcome = await s.next();
      expect(welcome).toMatchObject({ t: 'welcome' });
      expect(welcome.rtt).toBeGreaterThanOrEqual(39);
      expect(welcome.rtt).toBeLessThan(100);
      s.ws.close();
    } finally {
      await link.close();
    }
  });
});

describe('hostile input', () => {
  it('answers malformed and oversized messages with errors and carries on', async () => {
    const s = await rawSocket(relay.url);
    s.ws.send(JSON.stringify({ t: 'hello', v: 1 }));
    expect(await s.next()).toMatchObject({ t: 'welcome', role: 'user' });
    const healthy = client.open({ url: origin.url('/file.bin') });
    for (const bad of ['{', '[]', '{"t":"nope"}', '{"t":"open","id":"x"}', JSON.stringify({ t: 'open', id: 1, url: 'x', credit: 1, headers: 'x'.repeat(70_000) })]) {
      s.ws.send(bad);
      expect((await s.next()).t).toBe('error');
    }
    s.ws.send(Buffer.from([1, 2, 3]));
    expect(await s.next()).toMatchObject({ t: 'error', code: 'protocol_error' });
    s.ws.send(JSON.stringify({ t: 'credit', id: 999, bytes: 5 }));
    s.ws.send(JSON.stringify({ t: 'open', id: 1, url: origin.url('/file.bin'), credit: 10 }));
    expect(await s.next()).toMatchObject({ t: 'meta', id: 1 });
    s.ws.send(JSON.stringify({ t: 'credit', id: 1, bytes: 2 ** 40 }));
    expect(await s.next()).toMatchObject({ t: 'error', id: 1, code: 'protocol_error' });
    s.ws.send(JSON.stringify({ t: 'open', id: 2, url: origin.url('/file.bin'), credit: 2 ** 40 }));
    expect(await s.next()).toMatchObject({ t: 'error', id: 2, code: 'limit_reached' });
    // A frame beyond what ws will buffer closes this socket (1009) and nothing else.
    s.ws.send('x'.repeat(2 * 1024 * 1024));
    expect(await s.closed).toBe(1009);
    expect(sha256(await readAll(healthy))).toBe(sha256(body));
  });

  it('refuses anything before hello, and more streams than the limit', async () => {
    const s = await rawSocket(relay.url);
    s.ws.send(JSON.stringify({ t: 'open', id: 1, url: origin.url('/file.bin'), credit: 10 }));
    expect(await s.next()).toMatchObject({ t: 'error', code: 'auth_required' });
    s.ws.send(JSON.stringify({ t: 'hello', v: 1 }));
    await s.next();
    for (let id = 1; id <= 65; id++) s.ws.send(JSON.stringify({ t: 'open', id, url: origin.url('/silent'), credit: 0 }));
    const answers = await Promise.all(Array.from({ length: 65 }, () => s.next()));
    expect(answers.filter((m) => m.code === 'limit_reached')).toHaveLength(1);
    s.ws.close();
  });

  it('closes a socket that never says hello', async () => {
    const r = await startRelay({ limits: { helloTimeoutMs: 100 } });
    const s = await rawSocket(r.url);
    expect(await s.closed).toBe(1008);
    await r.close();
  });
});

describe('auth', () => {
  it('requires the password, refuses a wrong one and slows guessing down', async () => {
    const r = await startRelay({ allow: [origin.hostPort], password: 'sesame', adminPassword: 'root-of-trust', limits: { auth: { baseDelayMs: 50 } } });
    const outcome = (password?: string): Promise<string> => signIn(r.url, { ...(password !== undefined && { password }) });
    expect(await outcome()).toBe('auth_required');
    expect(await outcome('sesame')).toBe('ok');
    const started = Date.now();
    for (let i = 0; i < 5; i++) expect(await outcome(`guess${i}`)).toBe('auth_refused');
    // Each guess after the first waited twice as long as the one before: 50 + 100 + 200 + 400 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(750);
    // Slowed, not locked out: the right password still gets in, after the last delay (800 ms).
    const before = Date.now();
    expect(await outcome('sesame')).toBe('ok');
    expect(Date.now() - before).toBeGreaterThanOrEqual(700);
    expect(await r.metrics.authFailures.get()).toMatchObject({ values: [{ value: 5 }] });
    await r.close();
  });

  it('gives admin powers only to the admin credential', async () => {
    const r = await startRelay({ allow: [origin.hostPort], password: 'sesame', adminPassword: 'root-of-trust' });
    const user = connect(r.url, { password: 'sesame' });
    const admin = connect(r.url, { admin: 'root-of-trust' });
    await admin.whenReady();
    expect(admin.welcome?.role).toBe('admin');
    const t = user.open({ url: origin.url('/file.bin'), window: 64 * 1024 });
    await t.meta;
    const s = await rawSocket(r.url);
    s.ws.send(JSON.stringify({ t: 'hello', v: 1, password: 'sesame' }));
    await s.next();
    s.ws.send(JSON.stringify({ t: 'list' }));
    expect(await s.next()).toMatchObject({ t: 'error', code: 'forbidden' });
    const { list } = await admin.admin.list();
    const mine = list.find((x) => x.url.endsWith('/file.bin'));
    expect(mine).toBeDefined();
    admin.admin.kill(mine!.session, mine!.id);
    expect((await failure(t)).code).toBe('cancelled');
    s.ws.close();
    user.close();
    admin.close();
    await r.close();
  });
});

describe('dialling', () => {
  it('connects to the very address it resolved, not to a second answer', async () => {
    let calls = 0;
    // First answer: where the origin listens. Any later answer: ::1, where nothing listens.
    const r = await startRelay({
      allow: [`pinned.test:${origin.port}`],
      resolver: async () => [{ address: calls++ === 0 ? '127.0.0.1' : '::1', family: calls === 1 ? 4 : 6 }],
    });
    const c = connect(r.url);
    const t = c.open({ url: `http://pinned.test:${origin.port}/file.bin` });
    expect(sha256(await readAll(t))).toBe(sha256(body));
    expect(calls).toBe(1);
    c.close();
    await r.close();
  });
});

describe('misbehaving origins', () => {
  /** An origin that answers every connection with these raw bytes. */
  async function rawOrigin(answer: string): Promise<{ port: number; close: () => Promise<void> }> {
    const server = createTcpServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => socket.end(answer));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const port = (server.address() as { port: number }).port;
    return { port, close: () => new Promise((done) => server.close(() => done())) };
  }

  it.each([
    // undici's parser reads past the bad line and then finds the body short of its length.
    ['malformed headers', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nBad Header Line\r\n\r\nhello', ['truncated', 'upstream_error']],
    ['huge headers', `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(100_000)}\r\nContent-Length: 5\r\n\r\nhello`, ['upstream_error']],
    ['not HTTP at all', 'SSH-2.0-OpenSSH_9.2\r\n', ['upstream_error']],
  ])('ends %s with an error, not a hang', async (_name, answer, codes) => {
    const raw = await rawOrigin(answer);
    const r = await startRelay({ allow: [`127.0.0.1:${raw.port}`] });
    const c = connect(r.url);
    expect(codes).toContain((await failure(c.open({ url: `http://127.0.0.1:${raw.port}/x` }))).code);
    c.close();
    await r.close();
    await raw.close();
  });

  it('times out an origin slow to its first byte', async () => {
    const slow = await new Origin().start();
    slow.set('/slow', { body, delayMs: 1500 });
    const r = await startRelay({ allow: [slow.hostPort], limits: { headersTimeoutMs: 300 } });
    const c = connect(r.url);
    expect((await failure(c.open({ url: slow.url('/slow') }))).code).toBe('upstream_timeout');
    c.close();
    await r.close();
    await slow.close();
  });
});

describe('operations', () => {
  it('serves /healthz, /metrics and a page', async () => {
    const base = relay.url.replace('ws://', 'http://').replace('/ws', '');
    expect(await (await fetch(`${base}/healthz`)).json()).toMatchObject({ ok: true });
    // Bytes relayed, and an error sent (a resume of a version the origin no longer has), to be counted.
    await readAll(client.open({ url: origin.url('/file.bin'), end: 9 }));
    expect((await failure(client.open({ url: origin.url('/file.bin'), offset: 5, validator: { etag: '"gone"' } }))).code).toBe('source_changed');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/ferry_bytes_relayed_total [1-9]\d*/);
    expect(metrics).toMatch(/ferry_errors_total\{code="source_changed"\} \d+/);
    expect((await fetch(`${base}/`)).status).toBe(200);
    // fetch() would resolve the dots itself; a raw request sends them as they are.
    for (const path of ['/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fpackage.json', '/assets/../../package.json']) {
      expect(await rawRequest(relay.port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`), path).toMatch(/^HTTP\/1.1 404/);
    }
  });
});
