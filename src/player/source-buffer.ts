/**
 * The one owner of a SourceBuffer: every append and remove is queued and started only after the previous one
 * ended on `updateend` (the shape of hls.js's buffer-operation-queue). A QuotaExceededError never loses a
 * segment: the owner asks the engine to make room, then retries the same append.
 */
import { markStart } from '../client/start-marks.js';

type Operation =
  | { kind: 'append'; data: BufferSource; offset: number; done: () => void; fail: (err: Error) => void }
  | { kind: 'remove'; start: number; end: number; done: () => void; fail: (err: Error) => void }
  | { kind: 'changeType'; mime: string; done: () => void; fail: (err: Error) => void };

export class DroppedError extends Error {
  constructor() {
    super('dropped by a seek');
    this.name = 'DroppedError';
  }
}

/** Called on QuotaExceededError: the range that may be removed to make room, or null if nothing can go yet. */
export type QuotaHandler = (queue: SourceBufferQueue) => { start: number; end: number } | null;

/** How long to wait for playback to consume media when nothing can be evicted. */
const QUOTA_WAIT_MS = 500;

export class SourceBufferQueue {
  private readonly queue: Operation[] = [];
  private current: Operation | null = null;
  /** Set while waiting for playback to free room: nothing starts. */
  private waiting: ReturnType<typeof setTimeout> | null = null;
  private pending = 0;
  /** Bytes appended since creation, for the stats panel. */
  appendedBytes = 0;
  quotaHits = 0;

  constructor(
    readonly kind: 'video' | 'audio',
    private readonly sb: SourceBuffer,
    private readonly onQuota: QuotaHandler,
    private readonly onFatal: (err: Error) => void,
  ) {
    sb.addEventListener('updateend', () => this.completed());
    sb.addEventListener('error', () => this.failCurrent(new Error(`the ${kind} SourceBuffer reported an error`)));
  }

  /** Bytes waiting in the queue (not yet in the browser). */
  get pendingBytes(): number {
    return this.pending;
  }

  get depth(): number {
    return this.queue.length + (this.current ? 1 : 0);
  }

  get buffered(): TimeRanges {
    return this.sb.buffered;
  }

  /** Appends `data`, its times moved by `offset` seconds (the SourceBuffer's timestampOffset). */
  append(data: BufferSource, offset = 0): Promise<void> {
    this.pending += data.byteLength;
    return this.enqueue((done, fail) => ({ kind: 'append', data, offset, done, fail }));
  }

  remove(start: number, end: number): Promise<void> {
    if (end <= start) return Promise.resolve();
    return this.enqueue((done, fail) => ({ kind: 'remove', start, end, done, fail }));
  }

  /** Takes media of another type from now on (another audio track's codec), in its turn among the others. */
  changeType(mime: string): Promise<void> {
    return this.enqueue((done, fail) => ({ kind: 'changeType', mime, done, fail }));
  }

  /** Forgets queued appends (a seek made them useless); the one in progress completes. */
  dropPendingAppends(): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const op = this.queue[i]!;
      if (op.kind !== 'append') continue;
      this.queue.splice(i, 1);
      this.pending -= op.data.byteLength;
      op.fail(new DroppedError());
    }
  }

  private enqueue(make: (done: () => void, fail: (err: Error) => void) => Operation): Promise<void> {
    return new Promise((done, fail) => {
      this.queue.push(make(done, fail));
      this.next();
    });
  }

  private next(): void {
    if (this.current || this.sb.updating || this.waiting) return;
    const op = this.queue.shift();
    if (!op) return;
    this.current = op;
    try {
      if (op.kind === 'changeType') {
        // Done at once, with no updateend of its own.
        this.sb.changeType(op.mime);
        return this.completed();
      }
      if (op.kind === 'append' && this.sb.timestampOffset !== op.offset) this.sb.timestampOffset = op.offset;
      if (op.kind === 'append') {
        markStart('first-append');
        this.sb.appendBuffer(op.data);
      }
      else this.sb.remove(op.start, op.end);
    } catch (err) {
      this.current = null;
      if (op.kind === 'append' && (err as DOMException).name === 'QuotaExceededError') {
        this.quotaHits++;
        // The same append goes back first in line, behind a remove that makes room for it, or after a wait
        // for playback to consume what is buffered. The fragment is never dropped.
        this.queue.unshift(op);
        const room = this.onQuota(this);
        if (room) {
          this.queue.unshift({ kind: 'remove', start: room.start, end: room.end, done: () => {}, fail: () => {} });
          this.next();
        } else {
          this.waiting = setTimeout(() => {
            this.waiting = null;
            this.next();
          }, QUOTA_WAIT_MS);
        }
        return;
      }
      op.fail(err as Error);
      // A remove that cannot be done (a range past the duration) costs nothing; a refused append is fatal.
      if (op.kind === 'append') {
        this.pending -= op.data.byteLength;
        this.onFatal(err as Error);
      }
      this.next();
    }
  }

  private completed(): void {
    const op = this.current;
    this.current = null;
    if (op?.kind === 'append') {
      this.pending -= op.data.byteLength;
      this.appendedBytes += op.data.byteLength;
    }
    op?.done();
    this.next();
  }

  private failCurrent(err: Error): void {
    const op = this.current;
    this.current = null;
    if (op?.kind === 'append') this.pending -= op.data.byteLength;
    op?.fail(err);
    this.onFatal(err);
  }
}
