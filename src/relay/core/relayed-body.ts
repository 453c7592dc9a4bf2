/**
 * An upstream body as the relay passes it on, the same for socket streams and `/save/` downloads: each chunk
 * counted, an origin that goes quiet for `idleMs` cut off, and a body shorter than its announced length
 * failed as `truncated` rather than ended cleanly.
 */
import { FerryError } from '../../protocol/codes.js';
import type { RelayMetrics } from './metrics.js';
import type { UpstreamResponse } from './upstream.js';

export interface RelayedBodyOptions {
  idleMs: number;
  metrics: RelayMetrics;
  /** Aborting it ends the body at once, with the signal's reason. */
  stop: AbortSignal;
}

/** Reads like the upstream's body, with the checks above; an iterator of its own, not a generator, on the hot path. */
export class RelayedBody implements AsyncIterableIterator<Uint8Array> {
  private readonly watch: BodyWatch;
  private sent = 0;

  constructor(
    private readonly upstream: UpstreamResponse,
    private readonly options: RelayedBodyOptions,
  ) {
    this.watch = new BodyWatch(options.idleMs, options.stop);
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    let next: IteratorResult<Uint8Array>;
    try {
      next = await this.watch.read(this.upstream.body);
    } catch (err) {
      this.watch.close();
      throw err;
    }
    if (!next.done) {
      this.sent += next.value.byteLength;
      this.options.metrics.bytes.inc(next.value.byteLength);
      return next;
    }
    this.watch.close();
    // Ending cleanly short of the length would tell the reader the file is whole.
    const { length } = this.upstream.meta;
    if (length !== null && this.sent < length) throw new FerryError('truncated', `the server sent ${this.sent} of ${length} bytes`);
    return next;
  }

  /** The reader stopped early: the watch ends (the upstream is the caller's to destroy). */
  async return(): Promise<IteratorResult<Uint8Array>> {
    this.watch.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * Interrupts a body's reads when the origin is quiet too long or the reading is stopped. One timer and one
 * listener for the whole body, not one a chunk: a 2 GB body is tens of thousands of reads. (Racing each read
 * against one long-lived promise would be shorter, and would keep a reaction per read until the body ends.)
 */
class BodyWatch {
  private failure: FerryError | null = null;
  /** Rejects the read under way, if any. */
  private reject: ((err: FerryError) => void) | null = null;
  private waitingSince: number | null = null;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly onStop = (): void => this.interrupt(this.stop.reason instanceof FerryError ? this.stop.reason : new FerryError('cancelled'));

  constructor(
    idleMs: number,
    private readonly stop: AbortSignal,
  ) {
    if (stop.aborted) this.onStop();
    stop.addEventListener('abort', this.onStop);
    this.timer = setInterval(() => {
      if (this.waitingSince !== null && Date.now() - this.waitingSince >= idleMs) {
        this.interrupt(new FerryError('upstream_timeout', `the server sent nothing for ${Math.round(idleMs / 1000)} s`));
      }
    }, Math.max(10, Math.min(1000, idleMs / 4)));
  }

  read(body: AsyncIterator<Uint8Array>): Promise<IteratorResult<Uint8Array>> {
    if (this.failure) return Promise.reject(this.failure);
    this.waitingSince = Date.now();
    return new Promise<IteratorResult<Uint8Array>>((resolve, reject) => {
      this.reject = reject;
      body.next().then(resolve, reject);
    }).finally(() => {
      this.reject = null;
      this.waitingSince = null;
    });
  }

  close(): void {
    clearInterval(this.timer);
    this.stop.removeEventListener('abort', this.onStop);
  }

  private interrupt(err: FerryError): void {
    this.failure ??= err;
    this.reject?.(err);
  }
}
