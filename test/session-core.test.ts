/**
 * The relay's core with no runtime under it: a Session driven through a fake socket and a fake upstream,
 * in milliseconds. Only src/relay/core and src/protocol are imported, as another runtime's edge would.
 */
import { describe, expect, it } from 'vitest';
import { FerryError } from '../src/protocol/codes.js';
import { decodeDataFrame, type RelayMessage } from '../src/protocol/frames.js';
import { Auth } from '../src/relay/core/auth.js';
import { Downloads } from '../src/relay/core/downloads.js';
import { QueueBudget } from '../src/relay/core/queue-budget.js';
import { IdleStreams } from '../src/relay/core/idle-streams.js';
import type { Logger } from '../src/relay/core/log.js';
import type { RelayMetrics } from '../src/relay/core/metrics.js';
import { joinBytes } from '../src/protocol/bytes.js';
import { Session, type SessionLimits, type WireMessage, type WireSocket } from '../src/relay/core/session.js';
import { TicketSealer } from '../src/relay/core/ticket.js';
import type { OpenUpstream, UpstreamRequest } from '../src/relay/core/upstream.js';

const silent: Logger = { info: () => {}, warn: () => {}, child: () => silent };
const count = { inc: () => {}, dec: () => {} };
let relayed = 0;
const metrics: RelayMetrics = {
  sockets: count, streams: count, streamsOpened: count, streamsParked: count, downloads: count, authFailures: count,
  bytes: { inc: (n = 1) => void (relayed += n) },
  socketsClosed: count, error: () => {},
};

/** A socket that keeps what the relay sends, and writes it out only when told to (`drain`). */
class FakeSocket implements WireSocket {
  readonly messages: RelayMessage[] = [];
  readonly data: { id: number; offset: number; bytes: number }[] = [];
  private pending: (() => void)[] = [];
  closed: string | null = null;

  send(data: WireMessage, done: (err?: Error) => void): void {
    if (typeof data === 'string') this.messages.push(JSON.parse(data) as RelayMessage);
    else {
      const frame = decodeDataFrame(joinBytes(data));
      this.data.push({ id: frame.id, offset: frame.offset, bytes: frame.payload.byteLength });
    }
    this.pending.push(() => done());
  }

  close(_code: number, reason: string): void {
    this.closed = reason;
  }

  drain(): void {
    const pending = this.pending;
    this.pending = [];
    for (const done of pending) done();
  }

  bytes(id: number): number {
    return this.data.filter((d) => d.id === id).reduce((n, d) => n + d.bytes, 0);
  }
}

/** An origin of one file, served from memory in 64 KiB pieces; `gate` holds its answers until opened. */
function fakeUpstream(size: number, gate?: Promise<void>): { open: OpenUpstream; requests: UpstreamRequest[] } {
  const requests: UpstreamRequest[] = [];
  const open: OpenUpstream = async (req) => {
    requests.push(req);
    await gate;
    if (req.signal.aborted) throw new FerryError('cancelled');
    const end = Math.min(req.end ?? size - 1, size - 1);
    let offset = req.offset;
    return {
      meta: { status: req.offset > 0 ? 206 : 200, type: 'video/mp4', total: size, ranges: true, validator: { etag: '"v1"' }, url: req.url, offset: req.offset, disposition: null, length: end - req.offset + 1 },
      body: {
        next: async () => {
          if (offset > end) return { value: undefined, done: true };
          const n = Math.min(64 * 1024, end - offset + 1);
          offset += n;
          return { value: new Uint8Array(n), done: false };
        },
      },
      destroy: () => {},
    };
  };
  return { open, requests };
}

/** A socket like a Workers one: it takes everything at once and cannot tell when any of it has left. */
class UnconfirmedSocket extends FakeSocket {
  readonly sendsUnconfirmed = true;

  override send(data: WireMessage, done: (err?: Error) => void): void {
    super.send(data, () => {});
    queueMicrotask(() => done());
  }
}

function session(open: OpenUpstream, limits: Partial<SessionLimits> = {}, queueBudget = new QueueBudget(64 * 1024 * 1024, 512 * 1024), socket = new FakeSocket()): { socket: FakeSocket; session: Session } {
  const all: SessionLimits = { maxStreams: 64, socketQueueBytes: 8 * 1024 * 1024, maxQueuedBytes: 16 * 1024 * 1024, idleMs: 30_000, creditIdleMs: 20_000, helloTimeoutMs: 10_000, maxProtocolErrors: 50, ...limits };
  const downloads = new Downloads({ sealer: new TicketSealer([]), openUpstream: open, metrics, log: silent, idleMs: 30_000 });
  const ctx = { auth: new Auth({ password: undefined, adminPassword: undefined }), idleStreams: new IdleStreams(64), queueBudget, openUpstream: open, downloads, metrics, log: silent, registry: new Map(), limits: all };
  const s = new Session(socket, '127.0.0.1', ctx);
  s.onText(JSON.stringify({ t: 'hello', v: 1 }));
  return { socket, session: s };
}

const settle = (): Promise<void> => new Promise((done) => setTimeout(done, 5));
const send = (s: Session, m: object): void => s.onText(JSON.stringify(m));

describe('the relay core, without a runtime', () => {
  it('sends a stream no more than its credit, and the rest when more is granted', async () => {
    const { open } = fakeUpstream(300_000);
    const { socket, session: s } = session(open);
    const before = relayed;
    send(s, { t: 'open', id: 1, url: 'https://origin.example/f.mp4', credit: 100_000 });
    await settle();
    socket.drain();
    await settle();
    expect(socket.messages.find((m) => m.t === 'meta')).toMatchObject({ id: 1, total: 300_000 });
    expect(socket.bytes(1)).toBe(100_000);
    send(s, { t: 'credit', id: 1, bytes: 200_000 });
    await settle();
    socket.drain();
    await settle();
    expect(socket.bytes(1)).toBe(300_000);
    expect(socket.messages.at(-1)).toEqual({ t: 'end', id: 1, offset: 300_000 });
    expect(relayed - before).toBe(300_000);
    s.onClose();
  });

  it('holds what all sockets queue to the relay’s budget, each socket still moving, and lets it go with the socket', async () => {
    const budget = new QueueBudget(256 * 1024, 64 * 1024);
    const { open } = fakeUpstream(1024 * 1024);
    const readers = Array.from({ length: 4 }, () => session(open, {}, budget));
    readers.forEach(({ session: s }) => send(s, { t: 'open', id: 1, url: 'https://origin.example/f.mp4', credit: 1024 * 1024 }));
    await settle();
    // Each socket may queue 8 MiB of its own; together they stop within a frame each of the budget.
    const held = readers.map(({ socket }) => socket.bytes(1));
    expect(held.reduce((a, b) => a + b)).toBeLessThanOrEqual(256 * 1024 + 4 * 64 * 1024);
    expect(Math.min(...held)).toBeGreaterThanOrEqual(64 * 1024);
    for (let i = 0; i < 40 && readers.some(({ socket }) => socket.bytes(1) < 1024 * 1024); i++) {
      readers.forEach(({ socket }) => socket.drain());
      await settle();
    }
    expect(readers.map(({ socket }) => socket.bytes(1))).toEqual([1, 2, 3, 4].map(() => 1024 * 1024));
    const stuck = session(open, {}, budget);
    send(stuck.session, { t: 'open', id: 1, url: 'https://origin.example/f.mp4', credit: 1024 * 1024 });
    await settle();
    expect(budget.queued).toBeGreaterThan(0);
    [...readers, stuck].forEach(({ session: s }) => s.onClose());
    expect(budget.queued).toBe(0);
  });

  it('waits while the socket is full, and goes on when it drains (backpressure)', async () => {
    const { open } = fakeUpstream(1024 * 1024);
    const { socket, session: s } = session(open, { socketQueueBytes: 128 * 1024 });
    send(s, { t: 'open', id: 1, url: 'https://origin.example/f.mp4', credit: 1024 * 1024 });
    await settle();
    const held = socket.bytes(1);
    // The queue stops the stream within one frame of its bound.
    expect(held).toBeGreaterThanOrEqual(128 * 1024);
    expect(held).toBeLessThan(128 * 1024 + 64 * 1024 + 1);
    await settle();
    expect(socket.bytes(1)).toBe(held);
    for (let i = 0; i < 20 && socket.bytes(1) < 1024 * 1024; i++) {
      socket.drain();
      await settle();
    }
    expect(socket.bytes(1)).toBe(1024 * 1024);
    s.onClose();
  });

  it('a save cancelled before its ticket is issued never gets one', async () => {
    let open!: () => void;
    const { open: upstream, requests } = fakeUpstream(1000, new Promise((done) => (open = done)));
    const { socket, session: s } = session(upstream);
    send(s, { t: 'save', id: 7, url: 'https://origin.example/f.mp4' });
    send(s, { t: 'cancel', id: 7 });
    open();
    await settle();
    expect(requests).toHaveLength(1);
    expect(socket.messages.map((m) => m.t)).toEqual(['welcome']);
    s.onClose();
  });

  it('closes a socket whose replies pile up past the cap, without a runtime to help', async () => {
    const { open } = fakeUpstream(1000);
    const { socket, session: s } = session(open, { maxQueuedBytes: 64 * 1024 });
    for (let id = 1; id < 2000 && !socket.closed; id++) send(s, { t: 'open', id, url: `not a url ${'x'.repeat(200)}`, credit: 0 });
    await settle();
    expect(socket.closed).toBe('outgoing queue full');
  });

  it('on a socket that never says when bytes left, counts them out by the client\'s answers to its marks', async () => {
    const { open } = fakeUpstream(40 * 1024 * 1024);
    const { socket, session: s } = session(open, {}, undefined, new UnconfirmedSocket());
    send(s, { t: 'open', id: 1, url: 'https://origin.example/f.mp4', credit: 64 * 1024 * 1024 });
    await settle();
    // A client that does not answer: its stream stops at the socket's 8 MiB, within one mark's bytes.
    expect(socket.bytes(1)).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(socket.bytes(1)).toBeLessThan(8 * 1024 * 1024 + 512 * 1024);
    // Answering the last mark frees everything before it: the stream goes on.
    const marks = socket.messages.filter((m) => m.t === 'mark');
    send(s, { t: 'marked', n: (marks.at(-1) as { n: number }).n });
    await settle();
    expect(socket.bytes(1)).toBeGreaterThan(14 * 1024 * 1024);
    s.onClose();
  });

  it('on such a socket, closes a client that asks and never answers a mark once 16 MiB of replies wait', async () => {
    const { open } = fakeUpstream(1000);
    const { socket, session: s } = session(open, {}, undefined, new UnconfirmedSocket());
    await settle();
    let asked = 0;
    for (; asked < 1_000_000 && !socket.closed; asked++) {
      send(s, { t: 'list' });
      // The runtime gets its turn, as between the messages of a real socket.
      if (asked % 1000 === 0) await null;
    }
    expect(socket.closed).toBe('outgoing queue full');
    // Each `forbidden` is ~90 B: about 190 000 of them fill 16 MiB.
    expect(asked).toBeLessThan(300_000);
  });
});
