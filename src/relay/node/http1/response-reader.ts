/**
 * One response as it arrives on a connection: its head (1xx answers skipped), then its body queued for the
 * relay to read. The queue is bounded; past it the connection stops reading, which leaves the origin paused.
 */
import { FerryError } from '../../../protocol/codes.js';
import { BodyFraming } from './body-framing.js';
import { lend } from './read-buffers.js';
import { readResponseHead, keepsAlive, type ResponseHead } from './response-head.js';

/**
 * A body piece smaller than this is copied next to the small pieces before it rather than queued as a view of
 * its own: an origin sending one-byte chunks otherwise costs ~170 B of bookkeeping per byte queued (8 such
 * streams grew the relay by 500-600 MB, issue 23).
 */
const SMALL_PIECE_BYTES = 4 * 1024;
/** The buffers small pieces are gathered into. */
const GATHER_BYTES = 64 * 1024;
/** What a queued piece costs beyond its bytes (the view and its slot), counted against the queue's bound. */
const PIECE_COST_BYTES = 256;

export class ResponseReader {
  readonly head: Promise<ResponseHead>;
  /** Whether the connection can carry another request once this body is done. */
  reusable = false;
  private headBytes: Buffer | null = Buffer.alloc(0);
  private framing: BodyFraming | null = null;
  private readonly queue: Buffer[] = [];
  /** Body bytes queued. */
  private queued = 0;
  /** The buffer small pieces are copied into, and how much of it is filled. */
  private gathering: Buffer | null = null;
  private gathered = 0;
  private failure: FerryError | null = null;
  private ended = false;
  private wake: (() => void) | null = null;
  private gotHead!: (head: ResponseHead) => void;
  private noHead!: (err: FerryError) => void;

  /**
   * `queueBytes`: what the body may queue before reading from the origin stops (what one read takes, as the
   * connections open stand now); `resume` restarts reading once the queue has room again; `finished` is told
   * once, when the body is complete (with whether the connection may carry another request) or has failed.
   */
  constructor(
    private readonly bodyless: (status: number) => boolean,
    private readonly queueBytes: () => number,
    private readonly resume: () => void,
    private readonly finished: (reusable: boolean) => void,
  ) {
    this.head = new Promise((resolve, reject) => ((this.gotHead = resolve), (this.noHead = reject)));
    this.head.catch(() => {});
  }

  /** Whether the body is complete or has failed: the connection is no longer this answer's. */
  get settled(): boolean {
    return this.ended || this.failure !== null;
  }

  /** Whether any byte of the answer came: a reused connection that closes before one may be retried. */
  get answered(): boolean {
    return this.headBytes === null || this.headBytes.byteLength > 0;
  }

  /** Takes bytes from the connection; returns false when reading should stop for want of room. */
  receive(bytes: Buffer): boolean {
    if (this.failure || this.ended) return false;
    try {
      const body = this.headBytes ? this.readHead(bytes) : bytes;
      if (body && body.byteLength > 0) {
        const used = this.framing!.read(body, (piece) => this.push(piece));
        // Bytes past the body's end were never asked for: this connection cannot be trusted again.
        if (used < body.byteLength) this.reusable = false;
      }
      if (this.framing?.done) this.end();
    } catch (err) {
      this.fail(err as FerryError);
      return false;
    }
    // A finished answer leaves the connection reading, so that a server closing it while idle is seen.
    return this.ended || this.hasRoom();
  }

  /** The connection closed: the end of a body read until close, or a truncation. */
  closed(failure: FerryError): void {
    const ending = this.framing?.closed();
    if (ending === null) {
      this.reusable = false;
      this.end();
    } else this.fail(ending ?? failure);
  }

  fail(err: FerryError): void {
    if (this.ended || this.failure) return;
    this.failure = err;
    this.reusable = false;
    this.noHead(err);
    this.wake?.();
    this.finished(false);
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    for (;;) {
      if (this.queue.length > 0) return { value: this.take(), done: false };
      if (this.failure) throw this.failure;
      if (this.ended) return { value: undefined, done: true };
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }

  private readHead(bytes: Buffer): Buffer | null {
    let pending = Buffer.concat([this.headBytes!, bytes]);
    for (;;) {
      const read = readResponseHead(pending);
      if (!read) {
        this.headBytes = pending;
        return null;
      }
      const { head, bodyStart } = read;
      pending = pending.subarray(bodyStart);
      if (head.status === 101) throw new FerryError('upstream_error', 'the server switched protocols unasked');
      if (head.status < 200) continue;
      this.headBytes = null;
      this.framing = new BodyFraming(head, this.bodyless(head.status));
      this.reusable = keepsAlive(head) && this.framing.delimited;
      this.gotHead(head);
      return pending;
    }
  }

  /** Whether the queue, counted by what it costs, has room for more. */
  private hasRoom(): boolean {
    return this.queued + this.queue.length * PIECE_COST_BYTES < this.queueBytes();
  }

  /**
   * Queues a piece of body. One that lies right behind the last queued, in the same buffer (reads land one
   * after another), lengthens it: a slow origin's many small reads leave as one view, and nothing is copied.
   * A small one set apart from the last by framing is copied next to the small pieces before it.
   */
  private push(piece: Buffer): void {
    if (this.lengthenTail(piece)) lend(piece);
    else if (piece.byteLength < SMALL_PIECE_BYTES && this.framedApart(piece)) this.gather(piece);
    else {
      lend(piece);
      this.queue.push(piece);
    }
    this.queued += piece.byteLength;
    this.wake?.();
  }

  /** Lengthens the queue's last piece over `piece` when it lies right behind it, in the same buffer. */
  private lengthenTail(piece: Buffer): boolean {
    const tail = this.queue.at(-1);
    if (!tail || tail.buffer !== piece.buffer || tail.byteOffset + tail.byteLength !== piece.byteOffset) return false;
    this.queue[this.queue.length - 1] = Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength + piece.byteLength);
    return true;
  }

  /**
   * Whether a piece follows the queue's last one with framing between (chunk sizes in the same read, or after
   * pieces gathered before): what one-byte chunks look like. A piece that starts a new buffer (the first read
   * after the head, which was joined, or a new read buffer) is queued as it is, costing one entry.
   */
  private framedApart(piece: Buffer): boolean {
    const tail = this.queue.at(-1);
    return tail !== undefined && (tail.buffer === piece.buffer || tail.buffer === this.gathering?.buffer);
  }

  /**
   * Copies a small piece after the last one gathered, which the queue's last entry grows to cover when it ends
   * there. The read buffer the piece came from is never lent it, so it comes back as if the piece were framing.
   */
  private gather(piece: Buffer): void {
    if (!this.gathering || this.gathering.byteLength - this.gathered < piece.byteLength) {
      this.gathering = Buffer.allocUnsafeSlow(GATHER_BYTES);
      this.gathered = 0;
    }
    const at = this.gathered;
    this.gathered += piece.copy(this.gathering, at);
    const copy = this.gathering.subarray(at, this.gathered);
    if (!this.lengthenTail(copy)) this.queue.push(copy);
  }

  private take(): Buffer {
    const piece = this.queue.shift()!;
    this.queued -= piece.byteLength;
    // The bound moves with the connections open: look at it each time (resuming reading that runs is free).
    if (this.hasRoom()) this.resume();
    return piece;
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.wake?.();
    this.finished(this.reusable);
  }
}
