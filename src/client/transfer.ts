/**
 * One request's bytes, as the reader sees them: a pull-based sequence of chunks at known offsets. Credit is
 * granted to the relay only as the reader consumes, so a reader that stops reading stops the origin.
 * Survives reconnects: the connection re-opens it from `nextOffset` with the validator of the first answer.
 */
import { FerryError } from '../protocol/codes.js';
import type { LinkEstimate } from './link-estimate.js';
import { markStart } from './start-marks.js';
import type { CancelMessage, CreditMessage, MetaMessage, OpenMessage, Validator } from '../protocol/frames.js';

/** What to fetch: an open message without the wire's bookkeeping, plus the credit window to keep. */
export type TransferRequest = Omit<OpenMessage, 't' | 'id' | 'credit' | 'media'> & {
  /** Bytes the relay may send ahead of the reader. */
  window?: number;
  /** An index stream's: the relay opens the media at the first mdat too, with this window (`media`). */
  mediaWindow?: number;
};

export type TransferMeta = Omit<MetaMessage, 't' | 'id'>;
export interface Chunk { offset: number; data: Uint8Array }

export const DEFAULT_WINDOW = 8 * 1024 * 1024;
/** Errors after which the same request, re-opened from where it stopped, may well succeed. */
const RETRYABLE = new Set(['upstream_error', 'upstream_timeout', 'truncated', 'connect_failed', 'connect_timeout']);
const MAX_RETRIES_WITHOUT_PROGRESS = 4;

export interface TransferHost {
  send(message: OpenMessage | CreditMessage | CancelMessage): void;
  /** The relay opened this transfer itself (an index stream's media): its messages are routed to it from now. */
  opened(transfer: Transfer): void;
  retryLater(transfer: Transfer, attempt: number): void;
  forget(transfer: Transfer): void;
  /** The link the transfer's bytes cross: each open to its meta is a round trip on it. */
  link: LinkEstimate;
}

export class Transfer {
  /** Resolves with the first answer's metadata; rejects if the transfer fails before it. */
  readonly meta: Promise<TransferMeta>;
  /** Offset of the next byte the relay will send. */
  nextOffset: number;
  /** Bytes received from the relay, over every connection. */
  received = 0;
  /** Bytes the relay may send ahead of the reader; see widen(). */
  window: number;
  /**
   * An index stream's media, which the relay opens itself (request.mediaWindow): its offset is known, and it
   * is placed, when this stream's meta says where the first mdat is; it fails if the file has none first.
   */
  readonly media: Transfer | null;
  /** False for a media transfer until the relay has opened it. */
  placed = true;
  private firstMeta: TransferMeta | undefined;
  private validator: Validator | undefined;
  private readonly queue: Chunk[] = [];
  private queuedBytes = 0;
  /** When the last open message was made (performance.now()). */
  private openedAt = 0;
  /** Consumed bytes not yet granted back to the relay. */
  private ungranted = 0;
  private ended = false;
  private failure: FerryError | undefined;
  private waiter: { resolve: () => void } | undefined;
  private retries = 0;
  private retryCause: FerryError | undefined;
  private resolveMeta!: (m: TransferMeta) => void;
  private rejectMeta!: (e: FerryError) => void;

  constructor(
    readonly id: number,
    /** What was asked; a media transfer's offset is set when it is placed. */
    public request: TransferRequest,
    private readonly host: TransferHost,
    /** With request.mediaWindow: the id of the media the relay opens. */
    mediaId?: number,
  ) {
    const { mediaWindow, url, headers } = request;
    this.media = mediaWindow && mediaId !== undefined ? new Transfer(mediaId, { url, ...(headers && { headers }), window: mediaWindow }, host) : null;
    if (this.media) this.media.placed = false;
    this.nextOffset = request.offset ?? 0;
    this.window = request.window ?? DEFAULT_WINDOW;
    this.validator = request.validator;
    this.meta = new Promise((resolve, reject) => {
      this.resolveMeta = resolve;
      this.rejectMeta = reject;
    });
    // A transfer nobody awaits the meta of must not raise an unhandled rejection.
    this.meta.catch(() => {});
  }

  /** True while the relay still owes bytes. */
  get live(): boolean {
    return !this.ended && !this.failure;
  }

  /** True once the relay has answered (with the first meta). */
  get answered(): boolean {
    return this.firstMeta !== undefined;
  }

  get buffered(): number {
    return this.queuedBytes;
  }

  get error(): FerryError | undefined {
    return this.failure;
  }

  /** The next chunk, or null at the end. Throws the transfer's error. */
  async read(): Promise<Chunk | null> {
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk) {
        this.queuedBytes -= chunk.data.byteLength;
        this.grant(chunk.data.byteLength);
        return chunk;
      }
      if (this.failure) throw this.failure;
      if (this.ended) return null;
      await new Promise<void>((resolve) => (this.waiter = { resolve }));
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Chunk> {
    for (let c = await this.read(); c; c = await this.read()) yield c;
  }

  /** Lets the relay run further ahead from now on (a probe that turned out to be the media stream). */
  widen(window: number): void {
    if (!this.live || window <= this.window) return;
    this.host.send({ t: 'credit', id: this.id, bytes: window - this.window });
    this.window = window;
  }

  /**
   * Grants the window again: the relay let the credit it held lapse. An index stream's does at the end of its
   * head, and the whole follows this grant (docs/protocol.md).
   */
  renewCredit(): void {
    const bytes = this.window - this.queuedBytes;
    if (!this.live || bytes <= 0) return;
    this.ungranted = 0;
    this.host.send({ t: 'credit', id: this.id, bytes });
  }

  cancel(): void {
    if (!this.live) return;
    this.host.send({ t: 'cancel', id: this.id });
    this.fail(new FerryError('cancelled'));
  }

  /** The message that (re)opens this transfer on a fresh socket. */
  openMessage(): OpenMessage {
    this.ungranted = 0;
    this.openedAt = performance.now();
    const { window: _w, mediaWindow: _m, ...request } = this.request;
    const media = this.media?.placed === false ? this.media : null;
    return {
      t: 'open',
      id: this.id,
      ...request,
      offset: this.nextOffset,
      ...(this.validator && { validator: this.validator }),
      credit: Math.max(0, this.window - this.queuedBytes),
      ...(media && { media: { id: media.id, credit: media.window } }),
    };
  }

  onMeta(meta: TransferMeta): void {
    this.host.link.roundTrip(performance.now() - this.openedAt);
    if (!this.firstMeta) {
      this.firstMeta = meta;
      this.validator ??= meta.validator ?? undefined;
      if (this.media?.placed === false) this.placeMedia(meta);
      this.resolveMeta(meta);
      return;
    }
    // The relay checks the validator with If-Range; this catches an origin that has none but changed size.
    if (meta.total !== this.firstMeta.total || meta.offset !== this.nextOffset) {
      this.host.send({ t: 'cancel', id: this.id });
      this.fail(new FerryError('source_changed', `the file changed on the server (it was ${this.firstMeta.total} bytes, now ${meta.total})`));
    }
  }

  onData(offset: number, data: Uint8Array): void {
    if (!this.live) return;
    markStart('first-bytes');
    if (offset !== this.nextOffset) {
      this.host.send({ t: 'cancel', id: this.id });
      this.fail(new FerryError('protocol_error', `the relay sent offset ${offset}, expected ${this.nextOffset}`));
      return;
    }
    this.nextOffset += data.byteLength;
    this.received += data.byteLength;
    this.retries = 0;
    this.retryCause = undefined;
    this.queue.push({ offset, data });
    this.queuedBytes += data.byteLength;
    this.wake();
  }

  onEnd(offset: number): void {
    if (offset !== this.nextOffset) return this.fail(new FerryError('truncated', `the relay ended at ${offset}, expected ${this.nextOffset}`));
    this.ended = true;
    this.host.forget(this);
    this.wake();
  }

  onError(err: FerryError): void {
    if (this.firstMeta && RETRYABLE.has(err.code) && this.retries < MAX_RETRIES_WITHOUT_PROGRESS) {
      this.retryCause = err;
      this.host.retryLater(this, this.retries++);
      return;
    }
    // A body cut short and re-asked from where it stopped gets a 416: the file really ends early.
    if (err.status === 416 && this.retryCause) {
      const total = this.firstMeta?.total;
      const at = total ? ` at ${((100 * this.nextOffset) / total).toFixed(0)}% (byte ${this.nextOffset} of ${total})` : '';
      return this.fail(new FerryError('truncated', `the file ends early${at}`));
    }
    this.fail(err);
  }

  /** The relay opened the media where the first mdat starts (the same version as this stream), or opened none. */
  private placeMedia(meta: TransferMeta): void {
    const media = this.media!;
    const at = meta.index?.mediaOffset;
    if (at === null || at === undefined) return media.fail(new FerryError('cancelled', 'the file has no media before its index'));
    media.placed = true;
    media.request = { ...media.request, offset: at };
    media.nextOffset = at;
    media.validator = meta.validator ?? undefined;
    this.host.opened(media);
  }

  fail(err: FerryError): void {
    if (this.media?.placed === false) this.media.fail(err);
    if (!this.live) return;
    this.failure = err;
    this.host.forget(this);
    this.rejectMeta(err);
    this.wake();
  }

  private grant(bytes: number): void {
    this.ungranted += bytes;
    if (this.live && this.ungranted >= this.window / 4) {
      this.host.send({ t: 'credit', id: this.id, bytes: this.ungranted });
      this.ungranted = 0;
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve();
  }
}
