/**
 * Downloads for a browser's download manager, without a browser: tickets over the socket, bytes over HTTP
 * from the relay's /save/ endpoint, resumes by Range, versions pinned, cancel, and forged or stale tickets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Connection } from '../src/client/connection.js';
import type { Download } from '../src/client/download.js';
import type { FerryError } from '../src/protocol/codes.js';
import type { TicketMessage } from '../src/protocol/frames.js';
import type { Relay } from '../src/relay/node/server.js';
import { TicketSealer } from '../src/relay/core/ticket.js';
import { Origin, sha256, testBytes } from './helpers/origin.js';
import { connect, CutProxy, startRelay } from './helpers/relay.js';

const SECRET = 'shared by the relays behind one address';
const body = testBytes(12 * 1024 * 1024 + 77, 5);
let origin: Origin;
let relay: Relay;
let client: Connection;

beforeAll(async () => {
  origin = await new Origin().start();
  origin.set('/film.bin', { body, disposition: 'attachment; filename="holiday film.mp4"' });
  origin.set('/slow.bin', { body, bytesPerSecond: 4 * 1024 * 1024 });
  relay = await startRelay({ allow: [origin.hostPort], ticketSecret: SECRET });
  client = connect(relay.url);
});

afterAll(async () => {
  client.close();
  await relay.close();
  await origin.close();
});

const base = (r: Relay): string => `http://127.0.0.1:${r.port}`;


/** Resolves with the save's last progress once it is done, or rejects with its error. */
function outcome(save: Download): Promise<{ bytes: number; reports: number }> {
  let reports = 0;
  return new Promise((resolve, reject) => {
    save.events.progress = (bytes, _total, done) => {
      reports++;
      if (done) resolve({ bytes, reports });
    };
    save.events.error = reject;
  });
}

/** The error a save ends with; a save that completes instead fails the test. */
function failureOf(save: Download): Promise<FerryError> {
  return outcome(save).then(
    () => {
      throw new Error('the download completed');
    },
    (err: FerryError) => err,
  );
}

/** Reads a response body to its end; rejects if the relay breaks it off. */
async function readToEnd(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  while (!(await reader.read()).done);
}

describe('downloads over /save/', () => {
  it('serves the file byte for byte, named, with validators, and reports it done', async () => {
    const save = client.download(origin.url('/film.bin'));
    const ticket = await save.whenTicketed();
    expect(ticket).toMatchObject({ name: 'holiday film.mp4', total: body.byteLength });
    expect(ticket.path).toMatch(/^\/save\/[\w-]+\/holiday%20film\.mp4$/);
    const done = outcome(save);
    const res = await fetch(base(relay) + ticket.path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain("filename*=UTF-8''holiday%20film.mp4");
    expect(res.headers.get('content-length')).toBe(String(body.byteLength));
    expect(res.headers.get('etag')).toMatch(/^"/);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(body));
    expect((await done).bytes).toBe(body.byteLength);
  });

  it('answers a resume with exactly the rest of the file', async () => {
    const ticket = await client.download(origin.url('/film.bin')).whenTicketed();
    const from = 5_000_001;
    const res = await fetch(base(relay) + ticket.path, { headers: { range: `bytes=${from}-` } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes ${from}-${body.byteLength - 1}/${body.byteLength}`);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(body.subarray(from)));
    const past = await fetch(base(relay) + ticket.path, { headers: { range: `bytes=${body.byteLength + 10}-` } });
    expect(past.status).toBe(416);
  });

  it('refuses every request once the file has changed, with or without a range, and says so', async () => {
    origin.set('/v.bin', { body });
    const save = client.download(origin.url('/v.bin'));
    const ticket = await save.whenTicketed();
    const failed = failureOf(save);
    origin.set('/v.bin', { body: testBytes(body.byteLength, 6) });
    const resumed = await fetch(base(relay) + ticket.path, { headers: { range: 'bytes=1000-' } });
    expect(resumed.status).toBe(412);
    expect(await resumed.text()).toMatch(/changed on the server/);
    expect((await failed).code).toBe('source_changed');
    // A browser that then starts over gets the same answer, never the new version under the old name.
    expect((await fetch(base(relay) + ticket.path)).status).toBe(412);
  });

  it('cancel stops the upstream at once and refuses the browser’s resumes', async () => {
    const save = client.download(origin.url('/slow.bin'));
    const ticket = await save.whenTicketed();
    const res = await fetch(base(relay) + ticket.path);
    const reader = res.body!.getReader();
    let got = 0;
    while (got < 1024 * 1024) got += (await reader.read()).value!.byteLength;
    save.cancel();
    await expect(readToEnd(reader)).rejects.toThrow();
    await new Promise((done) => setTimeout(done, 300));
    const sent = origin.bytesSent;
    await new Promise((done) => setTimeout(done, 500));
    expect(origin.bytesSent).toBe(sent);
    expect((await relay.metrics.downloads.get()).values[0]?.value).toBe(0);
    const again = await fetch(base(relay) + ticket.path, { headers: { range: `bytes=${got}-` } });
    expect(again.status).toBe(410);
  });

  it('tells the watcher when the origin fails the download manager’s request', async () => {
    origin.set('/gone.bin', { body });
    const save = client.download(origin.url('/gone.bin'));
    const ticket = await save.whenTicketed();
    const failed = failureOf(save);
    origin.remove('/gone.bin');
    const res = await fetch(base(relay) + ticket.path);
    expect(res.status).toBe(502);
    expect((await failed).code).toBe('upstream_status');
  });

  it('shows the admin every download being sent, and lets the admin stop one', async () => {
    const r = await startRelay({ allow: [origin.hostPort], adminPassword: 'root-of-trust' });
    const user = connect(r.url);
    const admin = connect(r.url, { admin: 'root-of-trust' });
    const save = user.download(origin.url('/slow.bin'));
    const ticket = await save.whenTicketed();
    const failed = failureOf(save);
    const res = await fetch(base(r) + ticket.path);
    const reader = res.body!.getReader();
    await reader.read();
    const { downloads } = await admin.admin.list();
    expect(downloads).toHaveLength(1);
    expect(downloads[0]).toMatchObject({ url: origin.url('/slow.bin'), total: body.byteLength, requests: 1 });
    admin.admin.killDownload(downloads[0]!.download);
    expect((await failed).message).toMatch(/cancelled by an admin/);
    await expect(readToEnd(reader)).rejects.toThrow();
    expect((await admin.admin.list()).downloads).toHaveLength(0);
    expect((await fetch(base(r) + ticket.path)).status).toBe(410);
    // A user may not.
    const raw = new WebSocket(r.url);
    const answers: { code?: string }[] = [];
    raw.on('message', (d) => answers.push(JSON.parse(String(d)) as { code?: string }));
    await new Promise((done) => raw.once('open', done));
    raw.send(JSON.stringify({ t: 'hello', v: 1 }));
    raw.send(JSON.stringify({ t: 'kill', download: downloads[0]!.download }));
    await expect.poll(() => answers.find((a) => a.code)).toMatchObject({ code: 'forbidden' });
    raw.close();
    user.close();
    admin.close();
    await r.close();
  });

  it('refuses forged, truncated and expired tickets', async () => {
    const ticket = await client.download(origin.url('/film.bin')).whenTicketed();
    const token = ticket.ticket;
    const sealer = new TicketSealer([SECRET]);
    const claims = await sealer.unseal(token);
    const middle = token.length >> 1;
    const altered = token.slice(0, middle) + (token[middle] === 'A' ? 'B' : 'A') + token.slice(middle + 1);
    const expired = await sealer.seal({ ...claims, expires: Date.now() - 1 });
    for (const bad of [altered, token.slice(0, -4), token.slice(16), `${token}.x`, expired, 'x'.repeat(9000)]) {
      const res = await fetch(`${base(relay)}/save/${bad}/f.bin`);
      expect(res.status, bad.slice(0, 40)).toBe(403);
      expect(await res.text()).toMatch(/not valid|expired/);
    }
  });

  it('any relay sharing the secret serves a ticket (stateless); another secret does not', async () => {
    const ticket = await client.download(origin.url('/film.bin')).whenTicketed();
    const twin = await startRelay({ allow: [origin.hostPort], ticketSecret: SECRET });
    const stranger = await startRelay({ allow: [origin.hostPort], ticketSecret: 'another' });
    const res = await fetch(base(twin) + ticket.path, { headers: { range: 'bytes=100-' } });
    expect(res.status).toBe(206);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(body.subarray(100)));
    expect((await fetch(base(stranger) + ticket.path)).status).toBe(403);
    await twin.close();
    await stranger.close();
  });

  it('on a relay with a password, the ticket is the download manager’s only credential', async () => {
    const guarded = await startRelay({ allow: [origin.hostPort], password: 'open sesame' });
    const c = connect(guarded.url, { password: 'open sesame' });
    const ticket = await c.download(origin.url('/film.bin')).whenTicketed();
    const res = await fetch(base(guarded) + ticket.path, { headers: { range: 'bytes=10-' } });
    expect(res.status).toBe(206);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(body.subarray(10)));
    // Without the password, no ticket.
    const intruder = connect(guarded.url, { maxAttempts: 1 });
    await expect(intruder.download(origin.url('/film.bin')).whenTicketed()).rejects.toMatchObject({ code: 'auth_required' });
    c.close();
    intruder.close();
    await guarded.close();
  });

  it('a ticket is no way around the address guard', async () => {
    const dials = async (r: Relay): Promise<number> => (await r.metrics.dials.get()).values[0]?.value ?? 0;
    // The relay refuses to sign for a private address...
    const refused = client.download('http://10.1.2.3/secret.bin');
    await expect(refused.whenTicketed()).rejects.toMatchObject({ code: 'blocked' });
    // ...and a relay that does not allow the origin refuses a ticket another relay signed for it.
    const ticket = await client.download(origin.url('/film.bin')).whenTicketed();
    const strict = await startRelay({ ticketSecret: SECRET });
    const before = await dials(strict);
    const res = await fetch(base(strict) + ticket.path);
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/refused this address/);
    expect(await dials(strict)).toBe(before);
    await strict.close();
  });

  it('keeps reporting progress across a dropped socket', async () => {
    const proxy = await new CutProxy(relay.port).start();
    const c = connect(proxy.url);
    const save = c.download(origin.url('/slow.bin'));
    const ticket = await save.whenTicketed();
    const done = outcome(save);
    const res = await fetch(base(relay) + ticket.path);
    const reader = res.body!.getReader();
    let got = 0;
    let cut = false;
    for (;;) {
      const { done: end, value } = await reader.read();
      if (end) break;
      got += value.byteLength;
      if (!cut && got > 2 * 1024 * 1024) {
        proxy.cut();
        cut = true;
      }
    }
    expect(got).toBe(body.byteLength);
    expect((await done).bytes).toBe(body.byteLength);
    expect(c.reconnects).toBeGreaterThanOrEqual(1);
    c.close();
    await proxy.close();
  });

  it('holds a flood of saves to the per-socket limit, and a ticket to a few requests at once', async () => {
    origin.set('/held.bin', { body, delayMs: 500 });
    const ws = new WebSocket(relay.url);
    const replies: { t: string; id?: number; code?: string }[] = [];
    ws.on('message', (d) => replies.push(JSON.parse(String(d)) as (typeof replies)[number]));
    await new Promise((done) => ws.once('open', done));
    ws.send(JSON.stringify({ t: 'hello', v: 1 }));
    const asked = origin.seen.length;
    for (let id = 1; id <= 200; id++) ws.send(JSON.stringify({ t: 'save', id, url: origin.url('/held.bin') }));
    await expect.poll(() => replies.filter((r) => r.t === 'ticket').length, { timeout: 10_000 }).toBe(64);
    expect(replies.filter((r) => r.code === 'limit_reached')).toHaveLength(136);
    expect(origin.seen.length - asked).toBe(64);
    // Following the same ticket under many ids counts the same way.
    const { ticket: token } = replies.find((r) => r.t === 'ticket') as unknown as TicketMessage;
    for (let id = 1001; id <= 1010; id++) ws.send(JSON.stringify({ t: 'watch', id, ticket: token }));
    await expect.poll(() => replies.filter((r) => r.code === 'limit_reached').length).toBe(146);
    ws.close();

    // A save cancelled while its ticket is being issued never gets one.
    const quiet = new WebSocket(relay.url);
    const heard: { t: string }[] = [];
    quiet.on('message', (d) => heard.push(JSON.parse(String(d)) as { t: string }));
    await new Promise((done) => quiet.once('open', done));
    quiet.send(JSON.stringify({ t: 'hello', v: 1 }));
    quiet.send(JSON.stringify({ t: 'save', id: 1, url: origin.url('/held.bin') }));
    quiet.send(JSON.stringify({ t: 'cancel', id: 1 }));
    await new Promise((done) => setTimeout(done, 900));
    expect(heard.map((m) => m.t)).toEqual(['welcome']);
    quiet.close();

    const ticket = await client.download(origin.url('/slow.bin')).whenTicketed();
    // Every response is held open until all ten have answered: eight ranges at once, as aria2c -x8 asks.
    const responses = await Promise.all(Array.from({ length: 10 }, () => fetch(base(relay) + ticket.path)));
    const statuses = responses.map((r) => r.status);
    await Promise.all(responses.map((r) => r.body?.cancel()));
    expect(statuses.filter((s) => s === 200)).toHaveLength(8);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2);
    expect(responses.find((r) => r.status === 429)!.headers.get('retry-after')).toBe('1');
  });

  it('answers malformed save and watch messages with errors, and the socket stays usable', async () => {
    const ws = new WebSocket(relay.url);
    const replies: { t: string; id?: number; code?: string }[] = [];
    ws.on('message', (d) => replies.push(JSON.parse(String(d)) as (typeof replies)[number]));
    await new Promise((done) => ws.once('open', done));
    const send = (m: object): void => ws.send(JSON.stringify(m));
    send({ t: 'hello', v: 1 });
    send({ t: 'save', id: 1 });
    send({ t: 'watch', id: 2, ticket: 'bogus.ticket' });
    send({ t: 'save', id: 3, url: 'not a url' });
    send({ t: 'watch', id: 4 });
    send({ t: 'save', id: 5, url: origin.url('/film.bin') });
    await expect.poll(() => replies.find((r) => r.t === 'ticket'), { timeout: 5000 }).toMatchObject({ id: 5 });
    const errors = replies.filter((r) => r.t === 'error');
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'bad_request' }),
        expect.objectContaining({ id: 2, code: 'ticket_invalid' }),
        expect.objectContaining({ id: 3, code: 'invalid_url' }),
      ]),
    );
    expect(errors.filter((e) => e.code === 'bad_request')).toHaveLength(2);
    ws.close();
  });
});
