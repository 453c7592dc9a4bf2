/**
 * What a session has handed its socket and not yet seen leave, replies and data counted alike: past the
 * socket's queue limit its streams wait (`hasRoom`), past `maxQueuedBytes` (a client that keeps asking but
 * never reads) it overflows, and all of it counts against the relay's queue budget. On a socket that never
 * says when bytes have left (Workers), they are counted out by the client's answers to marks (write-marks.ts).
 */
import type { MarkMessage } from '../../protocol/frames.js';
import type { QueueBudget } from './queue-budget.js';
import { WriteMarks } from './write-marks.js';

/** A text message, or one binary message in parts (a data frame's header and payload), sent in order. */
export type WireMessage = string | readonly Uint8Array[];

export interface WireSocket {
  /** Sends a message; an edge may send the parts of a binary one as fragments, or join them. */
  send(data: WireMessage, done: (err?: Error) => void): void;
  close(code: number, reason: string): void;
  /** Ms of the socket's round trip before any data, if the edge measured it (a ping answered). */
  roundTripMs?(): number | null;
  /** Set by an edge whose `send` never says when bytes have left (Workers): they are counted out by marks. */
  sendsUnconfirmed?: boolean;
}

export interface OutgoingLimits {
  /** Bytes queued past which the socket's streams wait. */
  socketQueueBytes: number;
  /** Bytes queued past which the socket overflows. */
  maxQueuedBytes: number;
}

/** Bytes between marks, on a socket whose sends are unconfirmed. */
const MARK_BYTES = 256 * 1024;
const encoder = new TextEncoder();

const sizeOf = (parts: readonly Uint8Array[]): number => parts.reduce((n, part) => n + part.byteLength, 0);

export class Outgoing {
  private queued = 0;
  private closed = false;
  private readonly marks: WriteMarks | null;

  /** `drained`: the queue went below the socket's limit; `overflow`: past the most it may hold. */
  constructor(
    private readonly socket: WireSocket,
    private readonly limits: OutgoingLimits,
    private readonly budget: QueueBudget,
    private readonly on: { drained: () => void; overflow: () => void },
  ) {
    this.marks = socket.sendsUnconfirmed ? new WriteMarks(MARK_BYTES) : null;
  }

  /** Whether the socket's streams may queue more. */
  get hasRoom(): boolean {
    return this.queued < this.limits.socketQueueBytes && this.budget.allows(this.queued);
  }

  /** Hands a message to the socket, counting it until it has left. */
  send(data: WireMessage): void {
    if (this.closed) return;
    const bytes = typeof data === 'string' ? encoder.encode(data).byteLength : sizeOf(data);
    this.queued += bytes;
    this.budget.add(bytes);
    if (this.queued > this.limits.maxQueuedBytes) return this.on.overflow();
    if (!this.marks) return this.socket.send(data, () => this.left(bytes));
    this.socket.send(data, () => {});
    const mark = this.marks.sent(bytes);
    if (mark !== null) this.socket.send(JSON.stringify({ t: 'mark', n: mark } satisfies MarkMessage), () => {});
  }

  /** The client read mark `n` (ignored where sends are confirmed). */
  marked(n: number): void {
    if (this.marks) this.left(this.marks.confirmed(n));
  }

  /** The socket is gone: what is still queued is let go; write callbacks that come later count nothing. */
  close(): void {
    this.closed = true;
    this.budget.release(this.queued);
    this.queued = 0;
  }

  private left(bytes: number): void {
    if (this.closed) return;
    this.queued -= bytes;
    this.budget.release(bytes);
    if (this.queued < this.limits.socketQueueBytes) this.on.drained();
  }
}
