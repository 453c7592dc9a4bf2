/**
 * One response as it arrives on a connection: its head (1xx answers skipped), then its body queued for the
 * relay to read. The queue is bounded; past it the connection stops reading, which leaves the origin paused.
 */
import { FerryError } from '../../../protocol/codes.js';
import { BodyFraming } from './body-framing.js';
import { lend } from './read-buffers.js';
import { readResponseHead, keepsAlive, type ResponseHead } from './response-head.js';

export class ResponseReader {
  readonly head: Promise<ResponseHead>;
  /** Whether the connection can carry another request once this body is done. */
  reusable = false;
  private headBytes: Buffer | null = Buffer.alloc(0);
  private framing: BodyFraming | null = null;
  private readonly queue: Buffer[] = [];
  private queued = 0;
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
    return this.ended || this.queued < this.queueBytes();
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

  private push(piece: Buffer): void {
    lend(piece);
    this.queue.push(piece);
    this.queued += piece.byteLength;
    this.wake?.();
  }

  /**
   * The next piece, with the ones queued after it that lie right behind it in the same buffer (reads land one
   * after another): a slow origin's many small reads leave as one view, and nothing is copied.
   */
  private take(): Buffer {
    let piece = this.queue.shift()!;
    for (let next = this.queue[0]; next && next.buffer === piece.buffer && next.byteOffset === piece.byteOffset + piece.byteLength; next = this.queue[0]) {
      this.queue.shift();
      piece = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength + next.byteLength);
    }
    this.queued -= piece.byteLength;
    // The bound moves with the connections open: look at it each time (resuming reading that runs is free).
    if (this.queued < this.queueBytes()) this.resume();
    return piece;
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.wake?.();
    this.finished(this.reusable);
  }
}
