/** A real HTTP origin for tests: Range, If-Range and ETags done right, and switchable misbehaviour. */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Resource {
  body: Uint8Array;
  type?: string;
  etag?: string | null;
  lastModified?: string;
  /** Answer 200 with the whole body to every Range request. */
  ignoreRange?: boolean;
  /** Destroy the connection after this many body bytes of a response. */
  dropAfter?: number;
  /** With `dropAfter`: end the connection with a TCP reset (RST) rather than a close. */
  reset?: boolean;
  /** Stop sending (but keep the connection) after this many body bytes of a response. */
  stallAfter?: number;
  /** Announce more bytes than are sent, then end the connection. */
  shortBy?: number;
  /** Milliseconds to wait before the headers. */
  delayMs?: number;
  disposition?: string;
  /** Send each response no faster than this. */
  bytesPerSecond?: number;
  /** With bytesPerSecond: the pieces it is sent in (256 KiB by default), the first at once. */
  stepBytes?: number;
  /** Answer a range request with this Content-Range instead of the true one (a broken server). */
  contentRange?: string;
}

export interface Seen { path: string; method: string; range: string | undefined; ifRange: string | undefined; encoding: string | undefined; body: string }

export class Origin {
  readonly server: Server;
  readonly seen: Seen[] = [];
  /** Body bytes handed to sockets, over all responses. */
  bytesSent = 0;
  private readonly resources = new Map<string, Resource>();
  private readonly redirects = new Map<string, { to: string; status: number }>();
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  set(path: string, resource: Resource): void {
    this.resources.set(path, resource);
  }

  remove(path: string): void {
    this.resources.delete(path);
  }

  /** TCP connections open to this origin now. */
  get connections(): number {
    return this.sockets.size;
  }

  redirect(from: string, to: string, status = 302): void {
    this.redirects.set(from, { to, status });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((done) => this.server.close(() => done()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const seen: Seen = { path, method: req.method ?? 'GET', range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined, encoding: req.headers['accept-encoding'], body: '' };
    this.seen.push(seen);
    for await (const part of req) seen.body += String(part);
    const redirect = this.redirects.get(path);
    if (redirect) {
      res.writeHead(redirect.status, { location: redirect.to }).end();
      return;
    }
    const r = this.resources.get(path);
    if (!r) {
      res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>not found</h1>');
      return;
    }
    if (r.delayMs) await new Promise((done) => setTimeout(done, r.delayMs));
    const total = r.body.byteLength;
    const etag = r.etag === undefined ? `"${createHash('sha1').update(r.body.subarray(0, 65536)).digest('hex')}-${total}"` : r.etag;
    const headers: Record<string, string | number> = { 'content-type': r.type ?? 'application/octet-stream', 'accept-ranges': r.ignoreRange ? 'none' : 'bytes' };
    if (etag) headers.etag = etag;
    if (r.lastModified) headers['last-modified'] = r.lastModified;
    if (r.disposition) headers['content-disposition'] = r.disposition;
    let start = 0;
    let end = total - 1;
    let status = 200;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const rangeValid = range && !r.ignoreRange && (!ifRange || ifRange === etag || ifRange === r.lastModified);
    if (rangeValid) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), total - 1) : total - 1;
      if (start >= total) {
        res.writeHead(416, { 'content-range': `bytes */${total}` }).end();
        return;
      }
      status = 206;
      headers['content-range'] = r.contentRange ?? `bytes ${start}-${end}/${total}`;
    }
    headers['content-length'] = end - start + 1 + (r.shortBy ?? 0);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    this.send(res, r, start, end + 1);
  }

  private send(res: ServerResponse, r: Resource, start: number, stop: number): void {
    let pos = start;
    let sentHere = 0;
    const step = r.stepBytes ?? 256 * 1024;
    const pump = (): void => {
      while (pos < stop) {
        let n = Math.min(step, stop - pos);
        if (r.dropAfter !== undefined) n = Math.min(n, r.dropAfter - sentHere);
        if (r.stallAfter !== undefined) n = Math.min(n, r.stallAfter - sentHere);
        if (n <= 0) {
          if (r.dropAfter !== undefined && sentHere >= r.dropAfter) {
            if (r.reset) res.socket?.resetAndDestroy();
            else res.socket?.destroy();
          }
          return; // stalled: hold the connection open and send nothing more
        }
        const ok = res.write(r.body.subarray(pos, pos + n));
        pos += n;
        sentHere += n;
        this.bytesSent += n;
        if (r.bytesPerSecond) {
          if (!res.destroyed) setTimeout(pump, (n / r.bytesPerSecond) * 1000);
          return;
        }
        if (!ok) {
          res.once('drain', pump);
          return;
        }
      }
      if (r.shortBy) res.socket?.destroy();
      else res.end();
    };
    pump();
  }
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Fast deterministic bytes that do not repeat within any window a bug could hide in. */
export function testBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let x = seed >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    view.setUint32(i, x);
  }
  for (; i < size; i++) out[i] = i & 0xff;
  return out;
}
