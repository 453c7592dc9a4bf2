/**
 * One client's WebSocket: authentication, its streams, and their credits. Runtime-neutral: it sees the socket
 * through `WireSocket` and the origin through `OpenUpstream`, so the Node specifics stay in server.ts.
 *
 * Flow control: a stream reads upstream only while it holds credit granted by the reader, so a slow reader
 * leaves the origin's TCP connection paused and nothing piles up here. What the socket itself may have queued
 * is bounded too; past that bound every stream of the socket waits for the socket to drain.
 */
import { ErrorCodes, FerryError, type ErrorCode } from '../protocol/codes.js';
import {
  encodeDataFrame,
  parseClientMessage,
  type ClientMessage,
  type OpenMessage,
  type RelayMessage,
  type TransferInfo,
} from '../protocol/frames.js';
import { MAX_CHUNK_BYTES, MAX_STREAM_CREDIT, PROTOCOL_VERSION } from '../protocol/limits.js';
import type { Auth, Role } from './auth.js';
import { SAVE_PATH, type Downloads } from './downloads.js';
import type { TicketClaims } from './ticket.js';
import type { RelayMetrics } from './metrics.js';
import type { OpenUpstream, UpstreamResponse } from './upstream.js';
import { mapNetworkError } from './upstream.js';

export interface WireSocket {
  send(data: string | Uint8Array, done: (err?: Error) => void): void;
  close(code: number, reason: string): void;
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  child(bindings: object): Logger;
}

export interface SessionLimits {
  maxStreams: number;
  /** Bytes the socket may have queued before every stream of it waits. */
  socketQueueBytes: number;
  /** A stream that holds credit but gets nothing from upstream for this long fails with `upstream_timeout`. */
  idleMs: number;
  helloTimeoutMs: number;
  /** Protocol errors tolerated before the socket is closed. */
  maxProtocolErrors: number;
}

export interface SessionContext {
  auth: Auth;
  openUpstream: OpenUpstream;
  downloads: Downloads;
  metrics: RelayMetrics;
  log: Logger;
  registry: Map<string, Session>;
  limits: SessionLimits;
}

interface Stream {
  id: number;
  url: string;
  /** Offset of the next byte to send. */
  offset: number;
  sent: number;
  credit: number;
  closed: boolean;
  abort: AbortController;
  upstream: UpstreamResponse | undefined;
  /** Set while waiting on the origin for data, for the idle watchdog. */
  awaitingUpstreamSince: number | null;
  wake: (() => void) | null;
}

export class Session {
  readonly id = crypto.randomUUID();
  private role: Role | null = null;
  private readonly streams = new Map<number, Stream>();
  /** Downloads this client follows: client id → its ticket's id, and how to stop following. */
  private readonly saves = new Map<number, { download: string; unwatch: () => void }>();
  /** Aborted when the socket goes: what this session still waits for upstream is dropped. */
  private readonly closing = new AbortController();
  private queuedBytes = 0;
  private protocolErrors = 0;
  private closed = false;
  private readonly log: Logger;
  private readonly helloTimer: ReturnType<typeof setTimeout>;
  private readonly idleTimer: ReturnType<typeof setInterval>;

  constructor(
    private readonly socket: WireSocket,
    private readonly remote: string,
    private readonly ctx: SessionContext,
  ) {
    this.log = ctx.log.child({ session: this.id });
    ctx.registry.set(this.id, this);
    ctx.metrics.sockets.inc();
    this.helloTimer = setTimeout(() => this.shutdown(1008, 'no hello in time'), ctx.limits.helloTimeoutMs);
    this.idleTimer = setInterval(() => this.checkIdle(), Math.min(1000, ctx.limits.idleMs));
  }

  onText(text: string): void {
    let message: ClientMessage;
    try {
      message = parseClientMessage(text);
    } catch (err) {
      this.protocolError(err instanceof FerryError ? err : new FerryError('protocol_error'));
      return;
    }
    if (message.t === 'hello') return this.hello(message.v, message.password, message.admin);
    if (!this.role) return this.protocolError(new FerryError('auth_required', 'send hello first'));
    switch (message.t) {
      case 'open':
        return this.open(message);
      case 'credit':
        return this.credit(message.id, message.bytes);
      case 'cancel':
        return this.cancel(message.id);
      case 'save':
        return void this.save(message.id, message.url);
      case 'watch':
        return void this.watch(message.id, message.ticket);
      case 'list':
        if (this.requireAdmin()) {
          this.send({ t: 'transfers', list: [...this.ctx.registry.values()].flatMap((s) => s.transfers()), downloads: this.ctx.downloads.list(redact) });
        }
        return;
      case 'kill': {
        if (!this.requireAdmin()) return;
        if ('download' in message) return this.ctx.downloads.cancel(message.download, 'the download was cancelled by an admin');
        const target = this.ctx.registry.get(message.session);
        target?.fail(message.id, new FerryError('cancelled', 'the transfer was cancelled by an admin'));
        return;
      }
    }
  }

  onBinary(): void {
    this.protocolError(new FerryError('protocol_error', 'clients send no binary frames'));
  }

  /** The socket is gone: abort every upstream at once. */
  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.helloTimer);
    clearInterval(this.idleTimer);
    for (const stream of [...this.streams.values()]) this.finish(stream);
    // Downloads belong to the browser's download manager and go on without this socket.
    for (const save of this.saves.values()) save.unwatch();
    this.saves.clear();
    this.closing.abort();
    this.ctx.registry.delete(this.id);
    this.ctx.metrics.sockets.dec();
  }

  transfers(): TransferInfo[] {
    return [...this.streams.values()].map((s) => ({ session: this.id, id: s.id, url: redact(s.url), offset: s.offset, sent: s.sent, credit: s.credit }));
  }

  private hello(version: number, password: string | undefined, admin: string | undefined): void {
    if (this.role) return this.protocolError(new FerryError('protocol_error', 'hello sent twice'));
    if (version !== PROTOCOL_VERSION) {
      this.send({ t: 'error', code: 'protocol_error', message: `this relay speaks protocol ${PROTOCOL_VERSION}, not ${version}` });
      return this.shutdown(1002, 'protocol version');
    }
    try {
      this.role = this.ctx.auth.authenticate(this.remote, password, admin);
    } catch (err) {
      const e = err as FerryError;
      if (e.code === 'auth_refused') this.ctx.metrics.authFailures.inc();
      this.log.warn({ remote: this.remote, code: e.code }, 'authentication failed');
      this.sendError(e);
      return this.shutdown(1008, e.code);
    }
    clearTimeout(this.helloTimer);
    this.send({
      t: 'welcome',
      v: PROTOCOL_VERSION,
      role: this.role,
      session: this.id,
      limits: { streams: this.ctx.limits.maxStreams, credit: MAX_STREAM_CREDIT, chunk: MAX_CHUNK_BYTES },
    });
  }

  private requireAdmin(): boolean {
    if (this.role === 'admin') return true;
    this.sendError(new FerryError('forbidden'));
    return false;
  }

  private open(m: OpenMessage): void {
    if (this.streams.has(m.id)) return this.protocolError(new FerryError('protocol_error', `stream ${m.id} is already open`));
    if (this.streams.size >= this.ctx.limits.maxStreams) {
      return this.sendError(new FerryError('limit_reached', `at most ${this.ctx.limits.maxStreams} streams per connection`), m.id);
    }
    if (m.credit > MAX_STREAM_CREDIT) return this.sendError(new FerryError('limit_reached', `credit above ${MAX_STREAM_CREDIT}`), m.id);
    const stream: Stream = {
      id: m.id,
      url: m.url,
      offset: m.offset ?? 0,
      sent: 0,
      credit: m.credit,
      closed: false,
      abort: new AbortController(),
      upstream: undefined,
      awaitingUpstreamSince: Date.now(),
      wake: null,
    };
    this.streams.set(m.id, stream);
    this.ctx.metrics.streams.inc();
    this.ctx.metrics.streamsOpened.inc();
    this.log.info({ stream: m.id, url: redact(m.url), offset: stream.offset, end: m.end, resume: Boolean(m.validator) }, 'open');
    this.pump(stream, m).catch((err: unknown) => this.fail(m.id, mapNetworkError(err)));
  }

  private async pump(stream: Stream, m: OpenMessage): Promise<void> {
    const upstream = await this.ctx.openUpstream({
      url: m.url,
      method: m.method ?? 'GET',
      headers: m.headers ?? {},
      body: m.body === undefined ? undefined : fromBase64(m.body),
      offset: stream.offset,
      end: m.end,
      validator: m.validator,
      signal: stream.abort.signal,
    });
    if (stream.closed) return upstream.destroy();
    stream.upstream = upstream;
    const { length, ...meta } = upstream.meta;
    this.send({ t: 'meta', id: stream.id, ...meta });

    const wanted = m.end === undefined ? Infinity : m.end - stream.offset + 1;
    const expected = Math.min(length ?? Infinity, wanted);
    for (;;) {
      if (stream.sent >= wanted) break;
      stream.awaitingUpstreamSince = Date.now();
      const next = await upstream.body.next();
      stream.awaitingUpstreamSince = null;
      if (stream.closed) return;
      if (next.done) break;
      const chunk = next.value.byteLength > wanted - stream.sent ? next.value.subarray(0, wanted - stream.sent) : next.value;
      for (let pos = 0; pos < chunk.byteLength; ) {
        if (!this.ready(stream)) await new Promise<void>((resolve) => (stream.wake = resolve));
        if (stream.closed) return;
        const n = Math.min(stream.credit, chunk.byteLength - pos, MAX_CHUNK_BYTES);
        this.sendData(stream, chunk.subarray(pos, pos + n));
        pos += n;
      }
    }
    if (Number.isFinite(expected) && stream.sent < expected) {
      throw new FerryError('truncated', `the server sent ${stream.sent} of ${expected} bytes`);
    }
    this.send({ t: 'end', id: stream.id, offset: stream.offset });
    this.finish(stream);
  }

  private ready(stream: Stream): boolean {
    return stream.closed || (stream.credit > 0 && this.queuedBytes < this.ctx.limits.socketQueueBytes);
  }

  private sendData(stream: Stream, payload: Uint8Array): void {
    const frame = encodeDataFrame(stream.id, stream.offset, payload);
    stream.credit -= payload.byteLength;
    stream.offset += payload.byteLength;
    stream.sent += payload.byteLength;
    this.queuedBytes += frame.byteLength;
    this.ctx.metrics.bytes.inc(payload.byteLength);
    this.socket.send(frame, () => {
      this.queuedBytes -= frame.byteLength;
      if (this.queuedBytes < this.ctx.limits.socketQueueBytes) this.wakeReady();
    });
  }

  private wakeReady(): void {
    for (const s of this.streams.values()) {
      if (s.wake && this.ready(s)) {
        const wake = s.wake;
        s.wake = null;
        wake();
      }
    }
  }

  private credit(id: number, bytes: number): void {
    const stream = this.streams.get(id);
    // Credit for a stream that just ended is normal: the grant crossed the end on the wire.
    if (!stream) return;
    if (stream.credit + bytes > MAX_STREAM_CREDIT) {
      return this.fail(id, new FerryError('protocol_error', `credit above ${MAX_STREAM_CREDIT} bytes`));
    }
    stream.credit += bytes;
    this.wakeReady();
  }

  private cancel(id: number): void {
    const stream = this.streams.get(id);
    if (stream) this.finish(stream);
    const save = this.saves.get(id);
    if (save) this.ctx.downloads.cancel(save.download);
    // Cancelled before its ticket was issued: the ticket, when it comes, is not sent.
    if (save?.download === '') this.saves.delete(id);
  }

  /** Whether a new save or watch may take this id; answers the client when not. */
  private canFollow(id: number): boolean {
    if (this.saves.has(id) || this.streams.has(id)) {
      this.protocolError(new FerryError('protocol_error', `id ${id} is already in use`));
      return false;
    }
    if (this.saves.size >= this.ctx.limits.maxStreams) {
      this.sendError(new FerryError('limit_reached', `at most ${this.ctx.limits.maxStreams} downloads per connection`), id);
      return false;
    }
    return true;
  }

  private async save(id: number, url: string): Promise<void> {
    if (!this.canFollow(id)) return;
    // Counted from the moment it is asked for, so a flood of saves cannot start a flood of upstream requests.
    const pending = { download: '', unwatch: () => {} };
    this.saves.set(id, pending);
    this.log.info({ save: id, url: redact(url) }, 'save');
    try {
      const { ticket, claims } = await this.ctx.downloads.issue(url, this.closing.signal);
      if (this.closed || this.saves.get(id) !== pending) return;
      this.send({ t: 'ticket', id, ticket, path: `${SAVE_PATH}${ticket}/${encodeURIComponent(claims.name)}`, name: claims.name, total: claims.total });
      this.follow(id, claims);
    } catch (err) {
      if (this.closed || this.saves.get(id) !== pending) return;
      this.saves.delete(id);
      this.sendError(mapNetworkError(err), id);
    }
  }

  private async watch(id: number, ticket: string): Promise<void> {
    if (!this.canFollow(id)) return;
    try {
      const claims = await this.ctx.downloads.verify(ticket);
      if (!this.closed && !this.saves.has(id)) this.follow(id, claims);
    } catch (err) {
      this.sendError(mapNetworkError(err), id);
    }
  }

  private follow(id: number, claims: TicketClaims): void {
    const unwatch = this.ctx.downloads.watch(claims, {
      progress: (bytes, total, done) => {
        this.send({ t: 'progress', id, bytes, total, done });
        if (done) this.unfollow(id);
      },
      failed: (err) => {
        this.sendError(err, id);
        this.unfollow(id);
      },
    });
    this.saves.set(id, { download: claims.id, unwatch });
  }

  private unfollow(id: number): void {
    this.saves.get(id)?.unwatch();
    this.saves.delete(id);
  }

  /** Ends a stream with an error sent to the client. */
  fail(id: number, err: FerryError): void {
    const stream = this.streams.get(id);
    if (!stream || stream.closed) return;
    this.sendError(err, id);
    this.log.info({ stream: id, code: err.code, sent: stream.sent }, 'stream failed');
    this.finish(stream);
  }

  private finish(stream: Stream): void {
    if (!this.streams.delete(stream.id)) return;
    this.ctx.metrics.streams.dec();
    this.release(stream);
  }

  private release(stream: Stream): void {
    stream.closed = true;
    stream.abort.abort();
    stream.upstream?.destroy();
    stream.wake?.();
    stream.wake = null;
  }

  private checkIdle(): void {
    const now = Date.now();
    for (const s of this.streams.values()) {
      if (s.awaitingUpstreamSince !== null && now - s.awaitingUpstreamSince > this.ctx.limits.idleMs) {
        this.fail(s.id, new FerryError('upstream_timeout', `the server sent nothing for ${Math.round(this.ctx.limits.idleMs / 1000)} s`));
      }
    }
  }

  private protocolError(err: FerryError): void {
    this.sendError(err);
    if (++this.protocolErrors >= this.ctx.limits.maxProtocolErrors) this.shutdown(1008, 'too many protocol errors');
  }

  private sendError(err: FerryError, id?: number): void {
    this.ctx.metrics.error(err.code);
    this.send({
      t: 'error',
      ...(id !== undefined && { id }),
      code: err.code,
      message: err.message || ErrorCodes[err.code as ErrorCode],
      ...(err.status !== undefined && { status: err.status }),
    });
  }

  private send(message: RelayMessage): void {
    if (!this.closed) this.socket.send(JSON.stringify(message), () => {});
  }

  private shutdown(code: number, reason: string): void {
    this.ctx.metrics.socketsClosed.inc({ reason });
    this.socket.close(code, reason);
    this.onClose();
  }
}

/** URLs in logs and admin lists lose their credentials and query, which often carry tokens. */
export function redact(raw: string): string {
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(invalid url)';
  }
}

function fromBase64(text: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    throw new FerryError('bad_request', 'body is not valid base64');
  }
}
