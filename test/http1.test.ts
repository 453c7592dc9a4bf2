/**
 * The relay's HTTP/1.1 client against a raw TCP origin that writes exactly the bytes each test scripts:
 * framing (lengths, chunks split anywhere, trailers, bodies read until close), keeping and reusing
 * connections, read buffers, and every malformed or short answer ending in the right error. Then over TLS,
 * on its own and behind a relay, against an https origin with a certificate made for the run.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FerryError } from '../src/protocol/codes.js';
import { Http1Client, type Http1Answer } from '../src/relay/node/http1/client.js';
import { giveBack, readBuffer, readBytesFor } from '../src/relay/node/http1/read-buffers.js';
import { sha256, testBytes } from './helpers/origin.js';
import { HostileOrigin } from './helpers/hostile-origin.js';
import { connect, failure, readAll, startRelay } from './helpers/relay.js';

/** What the origin does with each request: it is given the request's head, the connection and the request's number. */
type Script = (head: string, socket: Socket, n: number) => void;

let script: Script;
const origin = new HostileOrigin((head, socket) => script(head, socket, origin.requests));

beforeAll(() => origin.start());
afterAll(() => origin.close());

let client: Http1Client;
beforeEach(() => {
  client?.close();
  origin.reset();
  client = new Http1Client({ pick: async (host) => host, connectTimeoutMs: 2000, headersTimeoutMs: 300 });
});

const url = (path = '/f'): URL => new URL(origin.url(path));
const get = (method = 'GET', headers: Record<string, string> = {}, signal = new AbortController().signal): Promise<Http1Answer> => client.request(url(), method, headers, undefined, signal);

async function bodyOf(answer: Http1Answer): Promise<Buffer> {
  const pieces: Uint8Array[] = [];
  for (let r = await answer.body.next(); !r.done; r = await answer.body.next()) pieces.push(r.value);
  return Buffer.concat(pieces);
}

async function failureOf(run: () => Promise<unknown>): Promise<FerryError> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(FerryError);
    return err as FerryError;
  }
  throw new Error('expected a failure');
}

/** Writes `bytes` in pieces cut at each of `cuts`, a tick apart. */
function writeInPieces(socket: Socket, bytes: Buffer, cuts: number[]): void {
  const points = [0, ...cuts, bytes.byteLength];
  points.slice(1).forEach((end, i) => setTimeout(() => socket.write(bytes.subarray(points[i]!, end)), i));
}

const chunked = (body: Uint8Array, size: number, trailer = ''): Buffer => {
  const parts: Buffer[] = [];
  for (let at = 0; at < body.byteLength; at += size) {
    const piece = body.subarray(at, at + size);
    parts.push(Buffer.from(`${piece.byteLength.toString(16)};ext=1\r\n`), Buffer.from(piece), Buffer.from('\r\n'));
  }
  return Buffer.concat([...parts, Buffer.from(`0\r\n${trailer}\r\n`)]);
};

describe('the relay’s HTTP/1.1 client', () => {
  it('reads a Content-Length body whole and reuses the connection for the next request', async () => {
    const body = testBytes(3 * 1024 * 1024 + 7);
    script = (_head, socket) => socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.byteLength}\r\n\r\n`), body]));
    for (let i = 0; i < 3; i++) expect(sha256(await bodyOf(await get()))).toBe(sha256(body));
    expect(origin.accepted).toBe(1);
  });

  it('reads into a buffer again only once every byte of it handed on has been given back', async () => {
    const first = testBytes(8 * 1024 * 1024, 1);
    const second = testBytes(8 * 1024 * 1024, 2);
    script = (_h, socket, n) => socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${first.byteLength}\r\n\r\n`), n === 1 ? first : second]));
    const pieces = async (): Promise<Uint8Array[]> => {
      const answer = await get();
      const out: Uint8Array[] = [];
      for (let r = await answer.body.next(); !r.done; r = await answer.body.next()) out.push(r.value);
      return out;
    };
    const held = await pieces();
    // Most of the body comes as views of read buffers, not copies.
    expect(new Set(held.map((p) => p.buffer)).size).toBeLessThan(held.length);
    // Half given back (those bytes may now be overwritten): no buffer holding a byte still held is read into
    // by the next answer.
    const given = held.slice(0, held.length >> 1);
    given.forEach(giveBack);
    const givenBytes = given.reduce((n, p) => n + p.byteLength, 0);
    const next = await pieces();
    expect(sha256(Buffer.concat(held.slice(given.length)))).toBe(sha256(first.subarray(givenBytes)));
    expect(sha256(Buffer.concat(next))).toBe(sha256(second));
    next.forEach(giveBack);
    held.slice(held.length >> 1).forEach(giveBack);
    const reused = readBuffer(readBytesFor(1)).buffer;
    expect([...held, ...next].some((p) => p.buffer === reused)).toBe(true);
  });

  it('leaves a kept connection’s next request alone when an answer it finished is destroyed late', async () => {
    script = (_h, socket, n) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n');
      setTimeout(() => socket.write(`body ${n}`), 30);
    };
    const first = await get();
    expect((await bodyOf(first)).toString()).toBe('body 1');
    const second = await get();
    first.destroy();
    expect((await bodyOf(second)).toString()).toBe('body 2');
    expect(origin.accepted).toBe(1);
  });

  it('hands a slow origin’s small reads on as one piece, without copying them', async () => {
    const body = testBytes(40 * 1000);
    // The head comes with the first piece, as a busy machine reads them: the body's first bytes are then a view
    // of the joined head, and the reads after it land in a read buffer of their own.
    script = (_h, socket) => {
      socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.byteLength}\r\n\r\n`), body.subarray(0, 1000)]));
      for (let i = 1; i < 40; i++) setTimeout(() => socket.write(body.subarray(i * 1000, (i + 1) * 1000)), 2 * i);
    };
    const answer = await get();
    await new Promise((done) => setTimeout(done, 250));
    const pieces: Uint8Array[] = [];
    for (let r = await answer.body.next(); !r.done; r = await answer.body.next()) pieces.push(r.value);
    expect(sha256(Buffer.concat(pieces))).toBe(sha256(body));
    expect(pieces.length).toBeLessThanOrEqual(2);
    // The long piece is a view of the buffer the reads went into, not a copy.
    expect(pieces.at(-1)!.buffer.byteLength).toBe(readBytesFor(1));
  });

  it('reads a chunked body cut at every place a piece can end, with extensions and trailers', async () => {
    const body = testBytes(300);
    const wire = chunked(body, 37, 'X-Check: 1\r\n');
    const head = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
    for (let cut = 1; cut < wire.byteLength; cut += 7) {
      script = (_h, socket) => writeInPieces(socket, Buffer.concat([head, wire]), [head.byteLength + cut - 1, head.byteLength + cut]);
      expect((await bodyOf(await get())).equals(Buffer.from(body))).toBe(true);
    }
    expect(origin.accepted).toBe(1);
  });

  it('skips 1xx answers, and reads a body without a length until the server closes', async () => {
    const body = testBytes(100_000);
    script = (_h, socket) => {
      socket.write('HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\n\r\n');
      socket.end(body);
    };
    const answer = await get();
    expect(answer.head.status).toBe(200);
    expect(answer.head.fields.get('content-type')).toBe('video/mp4');
    expect((await bodyOf(answer)).equals(body)).toBe(true);
    await get().then(bodyOf);
    expect(origin.accepted).toBe(2);
  });

  it('reads no body after HEAD, 204 and 304 whatever they announce, and keeps the connection', async () => {
    script = (head, socket, n) => socket.write(`HTTP/1.1 ${n === 1 ? 200 : n === 2 ? 204 : 304} X\r\nContent-Length: 1000\r\n\r\n`);
    expect((await bodyOf(await get('HEAD'))).byteLength).toBe(0);
    expect((await bodyOf(await get())).byteLength).toBe(0);
    expect((await bodyOf(await get())).byteLength).toBe(0);
    expect(origin.accepted).toBe(1);
  });

  it('asks again on a fresh connection when a kept one dies unanswered, unless the request had a body', async () => {
    // The second request finds the kept connection, which the server drops without a word (as one closing
    // an idle connection just as it is reused would).
    script = (_h, socket, n) => (n === 2 || n === 5 ? socket.destroy() : socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    expect((await bodyOf(await get())).toString()).toBe('ok');
    expect((await bodyOf(await get())).toString()).toBe('ok');
    expect([origin.accepted, origin.requests]).toEqual([2, 3]);
    const post = (): Promise<Http1Answer> => client.request(url(), 'POST', {}, Buffer.from('x'), new AbortController().signal);
    expect((await bodyOf(await post())).toString()).toBe('ok');
    expect((await failureOf(post)).code).toBe('upstream_error');
    expect(origin.requests).toBe(5);
  });

  it('never reuses a connection that said close, sent bytes past the body, or spoke while idle', async () => {
    script = (_h, socket, n) => {
      if (n === 1) socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\na');
      if (n === 2) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nbEXTRA');
      if (n === 3) {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc');
        setTimeout(() => socket.write('HTTP/1.1 200 OK\r\n'), 20);
      }
      if (n === 4) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nd');
    };
    for (const expected of ['a', 'b', 'c']) expect((await bodyOf(await get())).toString()).toBe(expected);
    await new Promise((done) => setTimeout(done, 60));
    expect((await bodyOf(await get())).toString()).toBe('d');
    expect(origin.accepted).toBe(4);
  });

  it('says truncated when the server closes inside a Content-Length or a chunked body', async () => {
    script = (_h, socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort');
    expect((await failureOf(async () => bodyOf(await get()))).code).toBe('truncated');
    script = (_h, socket) => socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel');
    expect((await failureOf(async () => bodyOf(await get()))).code).toBe('truncated');
  });

  it.each([
    ['a status line that is not HTTP/1.x', 'HTTP/2 200\r\n\r\n', /status line/],
    ['a header without a colon', 'HTTP/1.1 200 OK\r\nBroken\r\n\r\n', /header field/],
    ['a folded header', 'HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n', /header field/],
    ['Content-Lengths that disagree', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello', /Content-Length/],
    ['a chunk size that is not hex', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /chunk size/],
    ['chunk data longer than its size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n', /CRLF/],
    ['a protocol switch nobody asked for', 'HTTP/1.1 101 Switching Protocols\r\n\r\n', /switched protocols/],
    ['headers past 64 KiB', `HTTP/1.1 200 OK\r\n${'X-Pad: y\r\n'.repeat(7000)}\r\n`, /too large/],
  ])('refuses %s, in plain words', async (_what, wire, words) => {
    script = (_h, socket) => socket.write(wire);
    const err = await failureOf(async () => bodyOf(await get()));
    expect(err.code).toBe('upstream_error');
    expect(err.message).toMatch(words);
  });

  it('times out a server that sends no headers, and stops at once when cancelled', async () => {
    script = () => {};
    expect((await failureOf(() => get())).code).toBe('upstream_timeout');
    const body = testBytes(64 * 1024 * 1024);
    let closed = false;
    script = (_h, socket) => {
      socket.on('close', () => (closed = true));
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.byteLength}\r\n\r\n`);
      socket.write(body);
    };
    const abort = new AbortController();
    const answer = await get('GET', {}, abort.signal);
    await answer.body.next();
    abort.abort();
    expect((await failureOf(() => bodyOf(answer))).code).toBe('cancelled');
    await new Promise((done) => setTimeout(done, 50));
    expect(closed).toBe(true);
  });

  it('stops reading from the origin while nobody reads the body', async () => {
    const body = testBytes(256 * 1024 * 1024);
    let socket!: Socket;
    script = (_h, s) => {
      socket = s;
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.byteLength}\r\n\r\n`);
      s.write(body);
    };
    const answer = await get();
    await new Promise((done) => setTimeout(done, 300));
    // The origin's socket holds what the relay did not take: all but a few MiB of the 256.
    expect(socket.writableLength).toBeGreaterThan(200 * 1024 * 1024);
    answer.destroy();
  });

  it('refuses a header that would split the request, before connecting', async () => {
    const err = await failureOf(() => get('GET', { 'x-evil': 'a\r\nHost: elsewhere' }));
    expect(err.code).toBe('bad_request');
    expect(origin.accepted).toBe(0);
  });
});

describe('the relay’s HTTP/1.1 client over TLS', () => {
  let tlsServer: HttpsServer;
  let cert: string;
  const body = testBytes(3 * 1024 * 1024 + 5);
  let tlsConnections = 0;

  beforeAll(async () => {
    // A certificate for "localhost", made for this run.
    const dir = mkdtempSync(join(tmpdir(), 'ferry-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    tlsServer = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (_req, res) => {
      res.writeHead(200, { 'content-length': body.byteLength });
      res.end(body);
    });
    tlsServer.on('secureConnection', () => tlsConnections++);
    await new Promise<void>((done) => tlsServer.listen(0, '127.0.0.1', done));
  });
  afterAll(() => new Promise<void>((done) => tlsServer.close(() => done())));

  const tlsUrl = (): URL => new URL(`https://localhost:${(tlsServer.address() as { port: number }).port}/f`);
  const pick = async (): Promise<string> => '127.0.0.1';

  it('reads a body byte for byte over TLS, the certificate checked against the host name, and keeps the connection', async () => {
    const trusting = new Http1Client({ pick, connectTimeoutMs: 2000, headersTimeoutMs: 2000, ca: cert });
    for (let i = 0; i < 2; i++) expect(sha256(await bodyOf(await trusting.request(tlsUrl(), 'GET', {}, undefined, new AbortController().signal)))).toBe(sha256(body));
    expect(tlsConnections).toBe(1);
    trusting.close();
  });

  it('serves an https origin through the relay, byte for byte, and refuses one whose certificate it does not trust', async () => {
    const hostPort = `localhost:${(tlsServer.address() as { port: number }).port}`;
    const resolver = async (): Promise<{ address: string; family: number }[]> => [{ address: '127.0.0.1', family: 4 }];
    for (const originCa of [cert, undefined]) {
      const relay = await startRelay({ allow: [hostPort], resolver, ...(originCa && { originCa }) });
      const client = connect(relay.url);
      const transfer = client.open({ url: tlsUrl().href });
      if (originCa) expect(sha256(await readAll(transfer))).toBe(sha256(body));
      else expect((await failure(transfer)).message).toMatch(/certificate is not trusted/);
      client.close();
      await relay.close();
    }
  });

  it('refuses a certificate it does not trust, in plain words', async () => {
    const strict = new Http1Client({ pick, connectTimeoutMs: 2000, headersTimeoutMs: 2000 });
    const err = await failureOf(() => strict.request(tlsUrl(), 'GET', {}, undefined, new AbortController().signal));
    expect(err.message).toMatch(/certificate is not trusted/);
    strict.close();
  });
});
