/**
 * A socket's streams: each relays one upstream request to the client, as far as the client's credit allows.
 *
 * Flow control: a stream reads upstream only while it holds credit granted by the reader, so a slow reader
 * leaves the origin's TCP connection paused and nothing piles up here. A stream left without credit for
 * `creditIdleMs` gives its upstream connection (and what it had buffered) back, and so does the one idle
 * longest when too many wait across the relay (idle-streams.ts); credit that comes later re-opens it by range
 * from the next byte, pinned to the first answer's version.
 */
import { FerryError } from '../../protocol/codes.js';
import type { OpenMessage, RelayMessage, TransferInfo } from '../../protocol/frames.js';
import { MAX_CHUNK_BYTES, MAX_STREAM_CREDIT } from '../../protocol/limits.js';
import { redact, type Logger } from './log.js';
import type { RelayMetrics } from './metrics.js';
import type { IdleStreams } from './idle-streams.js';
import type { IndexTurns } from './index-turns.js';
import { asFerryError, type OpenUpstream } from './upstream.js';
import { connectUpstream, type UpstreamHost } from './stream-upstream.js';
import { newStream, type Stream } from './stream.js';

/** What the streams need of their socket. */
export interface StreamSocket {
  send(message: RelayMessage): void;
  sendError(err: FerryError, id: number): void;
  /** Queues a binary data frame. */
  sendFrame(id: number, offset: number, payload: Uint8Array): void;
  /** False while the socket's queue is too full for more data. */
  hasRoom(): boolean;
}

export interface StreamLimits {
  maxStreams: number;
  idleMs: number;
  creditIdleMs: number;
  /**
   * Credit the relay holds for one stream (default: all a client may grant). A grant past it is let go: the
   * relay sends less than it might, and the client grants again as it reads. Where the socket has no
   * backpressure (Workers), this and `maxStreams` are what bound a socket's memory.
   */
  heldCreditBytes?: number;
}

/** What the socket's streams are given: most of it shared with every socket. */
export interface StreamDeps {
  openUpstream: OpenUpstream;
  metrics: RelayMetrics;
  log: Logger;
  limits: StreamLimits;
  idle: IdleStreams;
  /** This socket's turns at building index streams. */
  indexTurns: IndexTurns;
}

export class Streams {
  private readonly streams = new Map<number, Stream>();

  private readonly upstreamHost: UpstreamHost;

  constructor(
    private readonly socket: StreamSocket,
    private readonly deps: StreamDeps,
  ) {
    this.upstreamHost = {
      deps,
      send: (m) => socket.send(m),
      openMedia: (m, after) => {
        // An id taken meanwhile by the client's own open: that stream stays its.
        if (this.streams.has(m.id)) return;
        this.open(m);
        const media = this.streams.get(m.id);
        if (!media) return;
        media.after = after;
        void after.then(() => {
          media.after = null;
          this.wakeReady();
        });
      },
    };
  }

  private get heldCredit(): number {
    return this.deps.limits.heldCreditBytes ?? MAX_STREAM_CREDIT;
  }

  has(id: number): boolean {
    return this.streams.has(id);
  }

  info(session: string): TransferInfo[] {
    return [...this.streams.values()].map((s) => ({ session, id: s.id, url: redact(s.request.url), offset: s.offset, sent: s.sent, credit: s.credit }));
  }

  /** Opens a stream, or answers with why not. */
  open(m: OpenMessage): void {
    if (this.streams.size >= this.deps.limits.maxStreams) {
      return this.socket.sendError(new FerryError('limit_reached', `at most ${this.deps.limits.maxStreams} streams per connection`), m.id);
    }
    if (m.credit > MAX_STREAM_CREDIT) return this.socket.sendError(new FerryError('limit_reached', `credit above ${MAX_STREAM_CREDIT}`), m.id);
    const stream = newStream(m, Math.min(m.credit, this.heldCredit));
    this.streams.set(m.id, stream);
    this.deps.metrics.streams.inc();
    this.deps.metrics.streamsOpened.inc();
    this.deps.log.info({ stream: m.id, url: redact(m.url), offset: stream.offset, end: m.end, resume: Boolean(m.validator) }, 'open');
    this.pump(stream).catch((err: unknown) => this.fail(m.id, asFerryError(err)));
  }

  credit(id: number, bytes: number): void {
    const stream = this.streams.get(id);
    // Credit for a stream that just ended is normal: the grant crossed the end on the wire.
    if (!stream) return;
    if (stream.credit + bytes > MAX_STREAM_CREDIT) {
      return this.fail(id, new FerryError('protocol_error', `credit above ${MAX_STREAM_CREDIT} bytes`));
    }
    stream.credit = Math.min(stream.credit + bytes, this.heldCredit);
    this.wakeReady();
  }

  cancel(id: number): void {
    const stream = this.streams.get(id);
    if (stream) this.finish(stream);
  }

  /** Ends a stream with an error sent to the client. */
  fail(id: number, err: FerryError): void {
    const stream = this.streams.get(id);
    if (!stream || stream.closed) return;
    this.socket.sendError(err, id);
    this.deps.log.info({ stream: id, code: err.code, sent: stream.sent }, 'stream failed');
    this.finish(stream);
  }

  closeAll(): void {
    for (const stream of [...this.streams.values()]) this.finish(stream);
    this.deps.indexTurns.close();
  }

  /** The socket has room again: streams waiting on it go on. */
  wakeReady(): void {
    for (const s of this.streams.values()) {
      if (s.wake && this.ready(s)) {
        const wake = s.wake;
        s.wake = null;
        wake();
      }
    }
  }

  /** Times out silent upstreams, and gives back the upstreams of streams left without credit. */
  tick(now: number): void {
    for (const s of this.streams.values()) {
      if (s.connectingSince !== null && now - s.connectingSince > this.deps.limits.idleMs) {
        this.fail(s.id, new FerryError('upstream_timeout', `the server sent nothing for ${Math.round(this.deps.limits.idleMs / 1000)} s`));
      } else if (s.upstream?.meta.ranges && s.creditlessSince !== null && now - s.creditlessSince > this.deps.limits.creditIdleMs) {
        // Only an upstream that takes ranges can be re-opened where it stopped; others keep theirs, within
        // the relay's cap on idle upstreams.
        this.park(s);
      }
    }
  }

  private async pump(stream: Stream): Promise<void> {
    const m = stream.request;
    const wanted = m.end === undefined ? Infinity : m.end - stream.offset + 1;
    // The first answer's meta goes out at once, credit or not.
    if (!(await connectUpstream(this.upstreamHost, stream, wanted))) return;
    while (stream.sent < wanted) {
      // While more bytes are known to come, nothing more is read from upstream until it can be sent: an idle
      // stream holds only what the upstream body buffered, and after parking not even that. The last read,
      // which finds the end, must not wait for credit the reader has no reason to grant. A stream whose
      // upstream was given back opens it again only for credit.
      const waitsForCredit = Number.isFinite(stream.expected) || !stream.upstream;
      if (stream.sent < stream.expected && waitsForCredit && !(await this.untilReady(stream))) return;
      if (!stream.upstream && !(await connectUpstream(this.upstreamHost, stream, wanted))) return;
      if (!stream.chunk) {
        const next = await stream.body!.next();
        if (stream.closed) return;
        if (next.done) break;
        stream.chunk = next.value.byteLength > wanted - stream.sent ? next.value.subarray(0, wanted - stream.sent) : next.value;
      }
      if (!(await this.sendChunk(stream))) return;
      if (stream.offset === stream.upstream?.creditEnd?.()) this.endCredit(stream);
    }
    this.socket.send({ t: 'end', id: stream.id, offset: stream.offset });
    this.finish(stream);
  }

  /** Sends the current chunk as credit allows; false if the stream closed meanwhile. */
  private async sendChunk(stream: Stream): Promise<boolean> {
    while (stream.chunk) {
      if (!(await this.untilReady(stream))) return false;
      // Parked while waiting: the chunk is gone too, and the next read re-opens the upstream.
      if (!stream.chunk) return true;
      const n = Math.min(stream.credit, stream.chunk.byteLength, MAX_CHUNK_BYTES);
      const payload = stream.chunk.subarray(0, n);
      stream.chunk = n === stream.chunk.byteLength ? null : stream.chunk.subarray(n);
      stream.credit -= n;
      this.socket.sendFrame(stream.id, stream.offset, payload);
      stream.offset += n;
      stream.sent += n;
    }
    return true;
  }

  /**
   * Waits until the stream has credit (and, for an index's media, the head is sent) and its socket has room;
   * false if the stream closed meanwhile. Waiting for the head is waiting for the index's credit: it counts as
   * waiting for credit, so a media stream whose index never gets any is parked like any other.
   */
  private async untilReady(stream: Stream): Promise<boolean> {
    while (!this.ready(stream)) {
      if ((stream.credit <= 0 || stream.after) && stream.creditlessSince === null) {
        stream.creditlessSince = Date.now();
        // Only an upstream held open counts against the relay's cap on idle ones.
        if (stream.upstream) this.deps.idle.add(stream, () => this.park(stream));
      }
      await new Promise<void>((resolve) => (stream.wake = resolve));
    }
    stream.creditlessSince = null;
    this.deps.idle.remove(stream);
    return !stream.closed;
  }

  private ready(stream: Stream): boolean {
    return stream.closed || (stream.credit > 0 && !stream.after && this.socket.hasRoom());
  }

  /** Gives the upstream back while the reader grants nothing; the stream stays open. */
  private park(stream: Stream): void {
    this.deps.idle.remove(stream);
    if (!stream.upstream || stream.closed) return;
    // A POST is not sent twice behind its client's back.
    if ((stream.request.method ?? 'GET') !== 'GET') {
      return this.fail(stream.id, new FerryError('limit_reached', `the reader took nothing for ${Math.round(this.deps.limits.creditIdleMs / 1000)} s`));
    }
    this.deps.log.info({ stream: stream.id, offset: stream.offset }, 'parked without credit');
    this.dropUpstream(stream);
    this.deps.metrics.streamsParked.inc();
  }

  /**
   * An index stream's head is sent: what is left of its open's credit lapses, and its upstream (the moov) is
   * given back. The page asks for the whole with credit once its first frame shows; the moov is read again
   * then, so nothing is held here meanwhile and the coding does not compete with the page's start.
   */
  private endCredit(stream: Stream): void {
    stream.credit = 0;
    stream.headSent?.();
    this.dropUpstream(stream);
  }

  /** Gives back the upstream connection, its body's watch and the bytes in hand. */
  private dropUpstream(stream: Stream): void {
    this.deps.idle.remove(stream);
    stream.upstream?.destroy();
    stream.upstream = undefined;
    void stream.body?.return();
    stream.body = null;
    stream.chunk = null;
  }

  private finish(stream: Stream): void {
    if (!this.streams.delete(stream.id)) return;
    this.deps.metrics.streams.dec();
    stream.closed = true;
    stream.headSent?.();
    stream.abort.abort();
    this.dropUpstream(stream);
    stream.wake?.();
    stream.wake = null;
  }
}
