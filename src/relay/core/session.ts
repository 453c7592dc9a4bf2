/**
 * One client's WebSocket: the handshake (here), then its streams (streams.ts), the downloads it follows
 * (download-follows.ts) and the admin's requests (admin.ts). Runtime-neutral: it sees the socket through
 * `WireSocket` and the origin through `OpenUpstream`, so the Node specifics stay in the edges.
 *
 * Everything queued for the socket, replies and data alike, is counted: past `socketQueueBytes` the streams
 * wait for it to drain, and past `maxQueuedBytes` (a client that keeps asking but never reads) it is closed.
 */
import { ErrorCodes, FerryError, type ErrorCode } from '../../protocol/codes.js';
import { dataFrameParts } from '../../protocol/frames.js';
import type { ClientMessage, HelloMessage, RelayMessage, TransferInfo } from '../../protocol/frames.js';
import { MessageRefused, parseClientMessage } from '../../protocol/parse.js';
import { MAX_CHUNK_BYTES, MAX_CONTROL_BYTES, MAX_STREAM_CREDIT, PROTOCOL_VERSION } from '../../protocol/limits.js';
import { kill, listAll } from './admin.js';
import type { Auth, Role } from './auth.js';
import type { Downloads } from './downloads.js';
import type { QueueBudget } from './queue-budget.js';
import { DownloadFollows } from './download-follows.js';
import type { IdleStreams } from './idle-streams.js';
import { IndexTurns } from './index-turns.js';
import type { Logger } from './log.js';
import type { RelayMetrics } from './metrics.js';
import { Streams } from './streams.js';
import { Outgoing, type WireMessage, type WireSocket } from './outgoing.js';
import type { OpenUpstream } from './upstream.js';

export type { WireMessage, WireSocket };

export interface SessionLimits {
  maxStreams: number;
  /** Bytes the socket may have queued before every stream of it waits. */
  socketQueueBytes: number;
  /** Bytes of replies and data queued for a socket past which the socket is closed (a client that never reads). */
  maxQueuedBytes: number;
  /** A stream that holds credit but gets nothing from upstream for this long fails with `upstream_timeout`. */
  idleMs: number;
  /** A stream that has had no credit for this long gives its upstream back; more credit re-opens it by range. */
  creditIdleMs: number;
  helloTimeoutMs: number;
  /** Protocol errors tolerated before the socket is closed. */
  maxProtocolErrors: number;
  /** See StreamLimits: credit held per stream, told to clients in the welcome. */
  heldCreditBytes?: number;
}

export interface SessionContext {
  auth: Auth;
  /** Streams of every session waiting for credit with an upstream open, capped across the relay. */
  idleStreams: IdleStreams;
  openUpstream: OpenUpstream;
  downloads: Downloads;
  metrics: RelayMetrics;
  log: Logger;
  registry: Map<string, Session>;
  limits: SessionLimits;
  /** Bytes queued for all sockets together, against the relay's budget. */
  queueBudget: QueueBudget;
  /** Codecs of sound this relay decodes for pages that cannot (told in the welcome). */
  decodes?: readonly string[];
}

/** What a client may send after its hello before the relay has judged it. */
const MAX_EARLY_BYTES = 16 * MAX_CONTROL_BYTES;

export class Session {
  readonly id = crypto.randomUUID();
  private role: Role | null = null;
  private helloSeen = false;
  /** Messages that came while the hello was being judged; handled in order once it is. */
  private early: string[] | null = null;
  private earlyBytes = 0;
  private closed = false;
  private protocolErrors = 0;
  private readonly streams: Streams;
  private readonly outgoing: Outgoing;
  private readonly follows: DownloadFollows;
  private readonly closing = new AbortController();
  private readonly log: Logger;
  private readonly helloTimer: ReturnType<typeof setTimeout>;
  private readonly tickTimer: ReturnType<typeof setInterval>;

  constructor(
    private readonly socket: WireSocket,
    private readonly remote: string,
    private readonly ctx: SessionContext,
  ) {
    this.log = ctx.log.child({ session: this.id });
    const overflow = (): void => this.shutdown(1008, 'outgoing queue full');
    const drained = (): void => this.streams.wakeReady();
    this.outgoing = new Outgoing(socket, ctx.limits, ctx.queueBudget, { drained, overflow });
    ctx.registry.set(this.id, this);
    ctx.metrics.sockets.inc();
    const { limits } = ctx;
    this.streams = new Streams(
      {
        send: (m) => this.send(m),
        sendError: (err, id) => this.sendError(err, id),
        sendFrame: (id, offset, payload) => this.outgoing.send(dataFrameParts(id, offset, payload)),
        hasRoom: () => this.outgoing.hasRoom,
      },
      {
        openUpstream: ctx.openUpstream,
        metrics: ctx.metrics,
        log: this.log,
        limits,
        idle: ctx.idleStreams,
        indexTurns: new IndexTurns(remote),
      },
    );
    this.follows = new DownloadFollows(
      {
        send: (m) => this.send(m),
        sendError: (err, id) => this.sendError(err, id),
        canUse: (id) => this.canUse(id),
        isClosed: () => this.closed,
      },
      ctx.downloads,
      this.log,
      limits.maxStreams,
      this.closing.signal,
    );
    this.helloTimer = setTimeout(() => this.shutdown(1008, 'no hello in time'), limits.helloTimeoutMs);
    this.tickTimer = setInterval(() => this.streams.tick(Date.now()), Math.min(1000, limits.idleMs, limits.creditIdleMs));
  }

  onText(text: string): void {
    if (this.early) {
      this.earlyBytes += text.length;
      if (this.earlyBytes > MAX_EARLY_BYTES) return this.shutdown(1008, 'too much sent before welcome');
      this.early.push(text);
      return;
    }
    let message: ClientMessage;
    try {
      message = parseClientMessage(text);
    } catch (err) {
      // A refused request names its id, so the client's transfer or save fails instead of waiting for ever.
      return this.protocolError(err instanceof FerryError ? err : new FerryError('protocol_error'), err instanceof MessageRefused ? err.id : undefined);
    }
    if (message.t === 'hello') return void this.hello(message);
    if (!this.role) return this.protocolError(new FerryError('auth_required', 'send hello first'));
    this.dispatch(message);
  }

  onBinary(): void {
    this.protocolError(new FerryError('protocol_error', 'clients send no binary frames'));
  }

  /** The socket is gone: abort every upstream at once. */
  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.helloTimer);
    clearInterval(this.tickTimer);
    this.streams.closeAll();
    this.follows.closeAll();
    this.closing.abort();
    this.ctx.registry.delete(this.id);
    this.ctx.metrics.sockets.dec();
    this.outgoing.close();
  }

  transfers(): TransferInfo[] {
    return this.streams.info(this.id);
  }

  /** Ends one of this socket's streams with an error (the admin's kill). */
  fail(id: number, err: FerryError): void {
    this.streams.fail(id, err);
  }

  private dispatch(message: Exclude<ClientMessage, HelloMessage>): void {
    switch (message.t) {
      case 'open':
        if (this.canUse(message.id) && (!message.media || this.canUse(message.media.id))) this.streams.open(message);
        return;
      case 'credit':
        return this.streams.credit(message.id, message.bytes);
      case 'cancel':
        this.streams.cancel(message.id);
        return this.follows.cancel(message.id);
      case 'save':
        return void this.follows.issue(message.id, message.url, 'save');
      case 'play':
        return void this.follows.issue(message.id, message.url, 'play', message.type);
      case 'watch':
        return void this.follows.watch(message.id, message.ticket);
      case 'list':
        if (this.requireAdmin()) this.send(listAll(this.ctx.registry, this.ctx.downloads));
        return;
      case 'kill':
        if (this.requireAdmin()) kill(message, this.ctx.registry, this.ctx.downloads);
        return;
      case 'marked':
        return this.outgoing.marked(message.n);
    }
  }

  private async hello(m: HelloMessage): Promise<void> {
    if (this.helloSeen) return this.protocolError(new FerryError('protocol_error', 'hello sent twice'));
    this.helloSeen = true;
    clearTimeout(this.helloTimer);
    if (m.v !== PROTOCOL_VERSION) {
      this.send({ t: 'error', code: 'protocol_error', message: `this relay speaks protocol ${PROTOCOL_VERSION}, not ${m.v}` });
      return this.shutdown(1002, 'protocol version');
    }
    let key: string | undefined;
    this.early = [];
    try {
      ({ role: this.role, deviceKey: key } = await this.ctx.auth.authenticate(this.remote, m.password, m.admin, m.key));
    } catch (err) {
      this.early = null;
      const e = err as FerryError;
      if (e.code === 'auth_refused') this.ctx.metrics.authFailures.inc();
      this.log.warn({ remote: this.remote, code: e.code }, 'authentication failed');
      this.sendError(e);
      return this.shutdown(1008, e.code);
    }
    if (this.closed) return;
    const rtt = this.socket.roundTripMs?.();
    this.send({
      t: 'welcome',
      v: PROTOCOL_VERSION,
      role: this.role!,
      session: this.id,
      limits: { streams: this.ctx.limits.maxStreams, credit: this.ctx.limits.heldCreditBytes ?? MAX_STREAM_CREDIT, chunk: MAX_CHUNK_BYTES },
      ...(key && { key }),
      ...(rtt != null && { rtt: Math.round(rtt) }),
      ...(this.ctx.decodes?.length && { decodes: [...this.ctx.decodes] }),
    });
    const early = this.early;
    this.early = null;
    for (const text of early) this.onText(text);
  }

  private requireAdmin(): boolean {
    if (this.role === 'admin') return true;
    this.sendError(new FerryError('forbidden'));
    return false;
  }

  /** Whether a new stream, save or watch may take this id; answers the client when not. */
  private canUse(id: number): boolean {
    if (!this.streams.has(id) && !this.follows.has(id)) return true;
    this.protocolError(new FerryError('protocol_error', `id ${id} is already in use`));
    return false;
  }

  private protocolError(err: FerryError, id?: number): void {
    this.sendError(err, id);
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
    if (!this.closed) this.outgoing.send(JSON.stringify(message));
  }

  private shutdown(code: number, reason: string): void {
    if (this.closed) return;
    this.ctx.metrics.socketsClosed.inc({ reason });
    this.socket.close(code, reason);
    this.onClose();
  }
}
