/**
 * One TCP connection to an origin, carrying one HTTP/1.1 request at a time. It reads into buffers of its own
 * (net's `onread`), each read landing just after the last in a 1 MiB buffer, as much as the kernel has (up
 * to the rest of the buffer) rather than libuv's 64 KiB: on a 2 GB pass-through that halves the relay's kernel
 * time. The body reaches the relay as views of those buffers, never copied (undici copies every 64 KiB read
 * into its WebAssembly parser). Measured in docs/benchmarks.md (#15).
 */
import { connect, isIP, type NetConnectOpts, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { FerryError } from '../../../protocol/codes.js';
import { closeLoan, openLoan, readBuffer } from './read-buffers.js';
import { ResponseReader } from './response-reader.js';

/** With less room than this left in the buffer, the next read goes into a new one. */
const MIN_READ_ROOM = 64 * 1024;

export interface Http1Request {
  method: string;
  /** Path and query. */
  target: string;
  /** The Host field: the URL's host and port. */
  host: string;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
}

/** Fields the connection writes itself; a caller's would frame the request wrongly. */
const OWN_FIELDS = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'te', 'trailer']);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The Node errors a socket reports, in the relay's words. */
function networkFailure(code: string | undefined): FerryError {
  if (code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) return new FerryError('upstream_error', `the server's certificate is not trusted (${code})`);
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return new FerryError('connect_failed', `the server could not be reached (${code})`);
  return new FerryError('upstream_error', `the connection to the server failed${code ? ` (${code})` : ''}`);
}

export interface ConnectionTarget {
  address: string;
  port: number;
  /** For `https:`: the host name the certificate must name (and SNI), and any CA to trust beyond the system's. */
  tls: { hostname: string; ca?: string } | null;
  /** The size of buffer to read into next. */
  readBytes: () => number;
  /** Told once: with nothing when the connection is up, or with why it could not be made. */
  connected: (err?: FerryError) => void;
  /** Told once the connection is closed, for whatever reason. */
  closed: () => void;
}

export class Http1Connection {
  /** Requests sent on this connection so far. */
  requests = 0;
  private readonly socket: Socket;
  /** The buffer being read into, and how much of it is filled. */
  private filling: Buffer | null = null;
  private filled = 0;
  private response: ResponseReader | null = null;
  private paused = false;

  /** The size of the next buffer to read into. */
  private readonly readBytes: () => number;

  constructor(to: ConnectionTarget) {
    this.readBytes = to.readBytes;
    const { connected, closed } = to;
    const onread = { buffer: () => this.room(), callback: (n: number, buf: Buffer) => this.onRead(n, buf) };
    this.socket = to.tls ? tlsSocket(to.address, to.port, to.tls, onread) : connect({ host: to.address, port: to.port, noDelay: true, onread });
    let isUp = false;
    this.socket.once(to.tls ? 'secureConnect' : 'connect', () => {
      isUp = true;
      connected();
    });
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!isUp) connected(networkFailure(err.code));
      this.response?.fail(networkFailure(err.code));
    });
    this.socket.on('end', () => this.response?.closed(new FerryError('upstream_error', 'the server closed the connection before answering')));
    this.socket.on('close', () => {
      if (this.filling) closeLoan(this.filling);
      this.response?.fail(new FerryError('upstream_error', 'the connection to the server closed'));
      closed();
    });
  }

  get alive(): boolean {
    return !this.socket.destroyed && !this.socket.readableEnded;
  }

  /** Sends a request; `finished` is told when its answer is done with, and whether the connection may be reused. */
  send(req: PreparedRequest, finished: (reusable: boolean) => void): ResponseReader {
    this.requests++;
    const bodyless = (status: number): boolean => req.method === 'HEAD' || status === 204 || status === 304;
    // The body may queue what one read takes, as the buffers are sized for the number of connections.
    const response = new ResponseReader(bodyless, this.readBytes, () => this.resume(), (reusable) => {
      if (this.response === response) this.response = null;
      finished(reusable && this.alive);
    });
    this.response = response;
    this.socket.write(req.head);
    if (req.body) this.socket.write(req.body);
    return response;
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Where the next read goes: the rest of the buffer being filled, or a new buffer. */
  private room(): Buffer {
    if (!this.filling || this.filling.byteLength - this.filled < MIN_READ_ROOM) {
      if (this.filling) closeLoan(this.filling);
      this.filling = readBuffer(this.readBytes());
      this.filled = 0;
      openLoan(this.filling);
    }
    return this.filling.subarray(this.filled);
  }

  private onRead(n: number, into: Buffer): boolean {
    this.filled += n;
    if (!this.response) {
      // Nothing was asked: a server that speaks out of turn is not trusted with another request.
      this.socket.destroy();
      return false;
    }
    this.paused = !this.response.receive(into.subarray(0, n));
    return !this.paused;
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
  }
}

/**
 * A TLS connection reading into the same buffers. Its reads are records of 16 KiB at most, whatever the buffer,
 * and still land side by side. (Node's TLS sockets take `onread` as net's do; their types do not say so.)
 */
function tlsSocket(address: string, port: number, tls: NonNullable<ConnectionTarget['tls']>, onread: NonNullable<NetConnectOpts['onread']>): Socket {
  const servername = isIP(tls.hostname) ? undefined : tls.hostname;
  const options = { host: address, port, servername, ALPNProtocols: ['http/1.1'], ...(tls.ca && { ca: tls.ca }), onread };
  return connectTls(options as ConnectionOptions);
}

/** A request with its head written out, checked before any connection is taken for it. */
export interface PreparedRequest {
  method: string;
  head: string;
  body: Uint8Array | undefined;
}

export function prepareRequest(req: Http1Request): PreparedRequest {
  return { method: req.method, head: requestHead(req), body: req.body };
}

function requestHead(req: Http1Request): string {
  let head = `${req.method} ${req.target} HTTP/1.1\r\nhost: ${req.host}\r\n`;
  for (const [name, value] of Object.entries(req.headers)) {
    if (OWN_FIELDS.has(name.toLowerCase())) continue;
    if (!TOKEN.test(name) || /[\0\r\n]/.test(value)) throw new FerryError('bad_request', `the header ${JSON.stringify(name)} cannot be sent`);
    head += `${name}: ${value}\r\n`;
  }
  if (req.body) head += `content-length: ${req.body.byteLength}\r\n`;
  return `${head}\r\n`;
}
