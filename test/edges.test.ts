/**
 * The relay's protocol on each edge, the same tests for both: the Node relay, and the Workers build in
 * workerd (Miniflare). Opening, ranges, validators, redirects, upstream errors, credits, cancel, resume
 * across cut connections, and downloads over /save/ with their resumes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from '../src/client/connection.js';
import { WORKERS_LIMITS } from '../src/relay/workers/context.js';
import { EDGES, type EdgeName, type EdgeRelay } from './helpers/edges.js';
import { Origin, sha256, testBytes } from './helpers/origin.js';
import { connect, CutProxy, failure, readAll, readThroughCuts } from './helpers/relay.js';
import { testMedia } from './helpers/media.js';
import { moovHead } from '../src/mp4/moov-head.js';
import { decodeChunkOffsets } from '../src/mp4/chunk-offsets.js';
import { inflateSync } from 'node:zlib';

const body = testBytes(6 * 1024 * 1024 + 123);
/** An MP4 with its moov last. */
let film: Buffer;

/** The moov of an MP4 whose last box it is. */
function lastMoov(file: Buffer): Buffer {
  let pos = 0;
  while (file.toString('latin1', pos + 4, pos + 8) !== 'moov') pos += file.readUInt32BE(pos);
  return file.subarray(pos);
}
const SECRET = 'shared by the relays behind one address';
let origin: Origin;

beforeAll(async () => {
  origin = await new Origin().start();
  origin.set('/file.bin', { body, type: 'video/mp4', disposition: 'attachment; filename="film.mp4"' });
  origin.set('/no-range', { body, ignoreRange: true });
  origin.set('/drops', { body, dropAfter: 1024 * 1024 });
  origin.set('/short', { body: testBytes(300_000), shortBy: 1000 });
  origin.set('/silent', { body, stallAfter: 0 });
  origin.set('/weak', { body, etag: 'W/"weak"' });
  origin.set('/big', { body: testBytes(64 * 1024 * 1024) });
  film = testMedia().moovLast;
  origin.set('/film.mp4', { body: film, type: 'video/mp4' });
  origin.redirect('/r1', '/r2', 301);
  origin.redirect('/r2', '/file.bin', 307);
  origin.redirect('/loop-a', '/loop-b');
  origin.redirect('/loop-b', '/loop-a');
  origin.redirect('/to-private', 'http://10.0.0.1/admin');
});

afterAll(() => origin.close());

describe.each(['node', 'workers'] satisfies EdgeName[])('the relay on %s', (edge) => {
  let relay: EdgeRelay;
  let client: Connection;

  beforeAll(async () => {
    relay = await EDGES[edge]({ allow: [origin.hostPort, `127.0.0.1:${origin.port + 1}`], idleMs: 300, ticketSecret: SECRET });
    client = connect(relay.url);
  });

  afterAll(async () => {
    client.close();
    await relay.close();
  });

  it('relays a whole file byte for byte, with its metadata', async () => {
    const t = client.open({ url: origin.url('/file.bin') });
    const meta = await t.meta;
    expect(meta).toMatchObject({ status: 200, type: 'video/mp4', total: body.byteLength, ranges: true, offset: 0, disposition: 'attachment; filename="film.mp4"' });
    expect(meta.validator?.etag).toMatch(/^"/);
    expect(sha256(await readAll(t))).toBe(sha256(body));
    expect(origin.seen.at(-1)).toMatchObject({ encoding: 'identity', range: undefined });
  });

  it('starts an MP4 with its head and the media the relay opens itself, and sends the whole moov only when asked', async () => {
    const index = client.open({ url: origin.url('/film.mp4'), index: 'mp4', mediaWindow: 256 * 1024 });
    const { ftypSize, mediaOffset } = (await index.meta).index!;
    let got = Buffer.alloc(0);
    while (got.byteLength < ftypSize + 8 || got.byteLength < ftypSize + got.readUInt32BE(ftypSize)) got = Buffer.concat([got, (await index.read())!.data]);
    const headEnd = ftypSize + got.readUInt32BE(ftypSize);
    expect(sha256(got.subarray(ftypSize, headEnd))).toBe(sha256(moovHead(lastMoov(film))));
    const media = await index.media!.read();
    expect(sha256(media!.data)).toBe(sha256(film.subarray(mediaOffset!, mediaOffset! + media!.data.byteLength)));
    index.media!.cancel();
    // Credit is left of the open, yet nothing past the head comes until the page asks.
    await new Promise((r) => setTimeout(r, 200));
    expect(index.nextOffset).toBe(headEnd);
    index.renewCredit();
    const rest = await readAll(index);
    const whole = inflateSync(Buffer.concat([got.subarray(headEnd), rest]));
    decodeChunkOffsets(whole);
    expect(sha256(whole)).toBe(sha256(lastMoov(film)));
  });

  it('serves a byte range', async () => {
    const t = client.open({ url: origin.url('/file.bin'), offset: 1_000_000, end: 2_999_999 });
    expect(await t.meta).toMatchObject({ status: 206, offset: 1_000_000, total: body.byteLength });
    expect(sha256(await readAll(t))).toBe(sha256(body.subarray(1_000_000, 3_000_000)));
    expect(origin.seen.at(-1)?.range).toBe('bytes=1000000-2999999');
  });

  it('resumes with If-Range and refuses a changed file', async () => {
    const t = client.open({ url: origin.url('/file.bin'), offset: 500, validator: { etag: '"an old version"' } });
    expect((await failure(t)).code).toBe('source_changed');
    expect(origin.seen.at(-1)?.ifRange).toBe('"an old version"');
  });

  it('never passes off a 200 as a continuation', async () => {
    expect((await failure(client.open({ url: origin.url('/no-range'), offset: 100 }))).code).toBe('range_ignored');
  });

  it('does not use a weak ETag as a validator', async () => {
    expect((await client.open({ url: origin.url('/weak') }).meta).validator).toBeNull();
  });

  it('follows redirects and reports the final URL', async () => {
    const t = client.open({ url: origin.url('/r1') });
    expect((await t.meta).url).toBe(origin.url('/file.bin'));
    expect(sha256(await readAll(t))).toBe(sha256(body));
  });

  it('stops a redirect loop', async () => {
    expect((await failure(client.open({ url: origin.url('/loop-a') }))).code).toBe('too_many_redirects');
  });

  it('reports an upstream status with its number', async () => {
    const err = await failure(client.open({ url: origin.url('/missing') }));
    expect(err.code).toBe('upstream_status');
    expect(err.status).toBe(404);
    expect(err.message).toMatch(/404/);
  });

  it('refuses other schemes and private addresses, also when a redirect leads there', async () => {
    expect((await failure(client.open({ url: 'file:///etc/passwd' }))).code).toBe('invalid_url');
    expect((await failure(client.open({ url: 'http://169.254.169.254/latest/meta-data/' }))).code).toBe('blocked');
    const redirected = await failure(client.open({ url: origin.url('/to-private') }));
    expect(redirected.code).toBe('blocked');
    expect(redirected.message).toMatch(/10\.0\.0\.1 is/);
  });

  it('reports an unreachable server', async () => {
    expect((await failure(client.open({ url: `http://127.0.0.1:${origin.port + 1}/` }))).code).toBe('connect_failed');
  });

  it('continues past an origin that drops the connection mid-body', async () => {
    expect(sha256(await readAll(client.open({ url: origin.url('/drops') })))).toBe(sha256(body));
  });

  it('reports a body shorter than its Content-Length as truncated', async () => {
    expect((await failure(client.open({ url: origin.url('/short') }))).code).toBe('truncated');
  });

  it('times out an origin that sends nothing', async () => {
    expect((await failure(client.open({ url: origin.url('/silent') }))).code).toBe('upstream_timeout');
  });

  it('lets a reader widen its window: the relay runs further ahead', async () => {
    const t = client.open({ url: origin.url('/file.bin'), window: 64 * 1024 });
    await t.meta;
    await new Promise((done) => setTimeout(done, 200));
    expect(t.buffered).toBeLessThanOrEqual(64 * 1024);
    t.widen(2 * 1024 * 1024);
    await new Promise((done) => setTimeout(done, 200));
    expect(t.buffered).toBeGreaterThan(1024 * 1024);
    expect(t.buffered).toBeLessThanOrEqual(2 * 1024 * 1024);
    t.cancel();
  });

  it('sends HEAD and POST', async () => {
    const head = client.open({ url: origin.url('/file.bin'), method: 'HEAD' });
    expect((await head.meta).total).toBe(body.byteLength);
    expect((await readAll(head)).byteLength).toBe(0);
    expect(origin.seen.at(-1)).toMatchObject({ path: '/file.bin', method: 'HEAD' });
    const post = client.open({ url: origin.url('/file.bin'), method: 'POST', body: btoa('hello'), headers: { 'content-type': 'text/plain' } });
    expect((await post.meta).status).toBe(200);
    expect(origin.seen.at(-1)).toMatchObject({ path: '/file.bin', method: 'POST', body: 'hello' });
    post.cancel();
  });

  it('aborts the upstream at once when a stream is cancelled', async () => {
    const before = origin.bytesSent;
    const t = client.open({ url: origin.url('/big'), window: 1024 * 1024 });
    await t.read();
    t.cancel();
    await new Promise((done) => setTimeout(done, 300));
    const after = origin.bytesSent;
    await new Promise((done) => setTimeout(done, 300));
    expect(origin.bytesSent).toBe(after);
    expect(after - before).toBeLessThan(32 * 1024 * 1024);
  });

  it('holds no more credit for a stream than its edge allows, and the stream still ends whole', async () => {
    // The Workers edge has no socket backpressure: its held credit is what bounds a socket's memory.
    const held = edge === 'workers' ? WORKERS_LIMITS.heldCreditBytes! : 16 * 1024 * 1024;
    const t = client.open({ url: origin.url('/big'), window: 16 * 1024 * 1024 });
    await t.meta;
    await new Promise((done) => setTimeout(done, 400));
    expect(t.buffered).toBeLessThanOrEqual(held);
    expect(t.buffered).toBeGreaterThan(held / 2);
    expect(sha256(await readAll(t))).toBe(sha256(testBytes(64 * 1024 * 1024)));
  });

  it('survives five cuts of the client connection with identical bytes', async () => {
    const proxy = await new CutProxy(relay.port).start();
    const cut = connect(proxy.url);
    const size = 64 * 1024 * 1024;
    const read = await readThroughCuts(cut.open({ url: origin.url('/big') }), proxy, [0.1, 0.3, 0.5, 0.7, 0.9].map((f) => Math.floor(f * size)));
    expect(read).toEqual({ received: size, sha256: sha256(testBytes(size)) });
    expect(cut.reconnects).toBe(5);
    cut.close();
    await proxy.close();
  });

  it('serves a download over /save/ byte for byte, and a resume with exactly the rest', async () => {
    const ticket = await client.download(origin.url('/file.bin')).whenTicketed();
    expect(ticket.path).toMatch(/^\/save\/[\w-]+\/film\.mp4$/);
    const whole = await fetch(relay.base + ticket.path);
    expect(whole.headers.get('content-disposition')).toContain("filename*=UTF-8''film.mp4");
    expect(sha256(new Uint8Array(await whole.arrayBuffer()))).toBe(sha256(body));
    const from = 5_000_001;
    const rest = await fetch(relay.base + ticket.path, { headers: { range: `bytes=${from}-` } });
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe(`bytes ${from}-${body.byteLength - 1}/${body.byteLength}`);
    expect(sha256(new Uint8Array(await rest.arrayBuffer()))).toBe(sha256(body.subarray(from)));
    const forged = ticket.path.replace(/\/save\/([\w-]{8})/, '/save/AAAAAAAA');
    expect((await fetch(relay.base + forged)).status).toBe(403);
  });
});
