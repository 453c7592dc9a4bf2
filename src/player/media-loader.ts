/**
 * What the MSE engine reads, and when: the moov first (walking the top-level boxes, by range when it sits
 * after the media), then the media from where playback needs it, cut into fragments as the bytes arrive.
 *
 * Backpressure is real: while the buffers are full it stops reading its transfer, so no credit is granted and
 * the relay pauses the origin. Nothing is ever dropped to make room.
 */
import type { Chunk, Transfer } from '../client/transfer.js';
import { FerryError } from '../protocol/codes.js';
import { RateMeter } from '../ui/rate.js';
import type { Fragment, Fragmenter } from './fragmenter.js';
import { MoovLocator } from './mp4/moov-locator.js';

/** A gap in the file this small is read through rather than skipped with a new request. */
const READ_THROUGH_BYTES = 1024 * 1024;

/** Opens the same resource from an offset (with the validator of its first answer), with a credit window. */
export type RangeOpener = (offset: number, window?: number) => Transfer;

export interface LoaderHost {
  /** The moov arrived: a fragmenter for its tracks, or null when the file cannot play (the host said why). */
  movie(ftyp: Uint8Array, moov: Uint8Array): Fragmenter | null;
  fragment(fragment: Fragment): void;
  /** Whether the buffers hold enough: then nothing more is read. */
  full(): boolean;
  currentTime(): number;
  fail(err: FerryError): void;
}

export class MediaLoader {
  private readonly locator: MoovLocator;
  private fragmenter: Fragmenter | null = null;
  private transfer: Transfer | null;
  /** Opened at the media's start while the moov is read, so playback from 0 need not wait for another request. */
  private prefetch: Transfer | null = null;
  /** Bumped by every re-positioning; a pump of an older generation stops. */
  private generation = 0;
  private waiters: (() => void)[] = [];
  private stopped = false;
  received = 0;
  readonly meter = new RateMeter();

  constructor(
    private readonly openAt: RangeOpener,
    /** The transfer of the file's first bytes, when reading starts from them. */
    first: Transfer | null,
    private readonly total: number | null,
    /** Credit windows: small while looking for the moov; for the media, as the link allows. */
    private readonly windows: { probe: number; media: () => number },
    private readonly host: LoaderHost,
  ) {
    this.transfer = first;
    this.locator = new MoovLocator(total);
  }

  /** Starts from the first bytes, already read from the first transfer. */
  start(firstChunk: Chunk): void {
    this.feed(firstChunk, 0);
    void this.pump(0);
  }

  /**
   * Starts with the moov already read (the relay's index): the media from where playback starts, on the
   * prefetch when that is where it was asked for.
   */
  startWith(fragmenter: Fragmenter, prefetch: Transfer | null): void {
    this.fragmenter = fragmenter;
    const from = fragmenter.seek(this.host.currentTime());
    if (prefetch?.request.offset === from) {
      prefetch.widen(this.windows.media());
      return this.reposition(from, prefetch);
    }
    prefetch?.cancel();
    this.reposition(from);
  }

  /** Bytes read but not yet made into fragments. */
  get held(): number {
    return (this.transfer?.buffered ?? 0) + (this.fragmenter?.held ?? 0);
  }

  /** Where the reading is, in media time. */
  position(): number {
    return this.fragmenter?.position() ?? 0;
  }

  /** Reads from the keyframe before `time`. */
  seek(time: number): void {
    if (this.fragmenter) this.reposition(this.fragmenter.seek(time));
  }

  /** Stops reading until the next seek: the place asked for is beyond the tables known so far. */
  hold(): void {
    this.generation++;
    this.transfer?.cancel();
    this.prefetch?.cancel();
  }

  /** The buffers may have room again, or the tables grew. */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    this.transfer?.cancel();
    this.prefetch?.cancel();
    this.wake();
  }

  private live(generation: number): boolean {
    return generation === this.generation && !this.stopped;
  }

  private async pump(generation: number): Promise<void> {
    while (this.live(generation)) {
      // Full buffers, or tables that end before the track does (the moov's head): wait to be woken.
      while (this.live(generation) && this.fragmenter && (this.host.full() || this.fragmenter.starved)) await new Promise<void>((resolve) => this.waiters.push(resolve));
      if (!this.live(generation)) return;
      let chunk: Chunk | null;
      try {
        chunk = await this.transfer!.read();
      } catch (err) {
        if (this.live(generation)) this.host.fail(err as FerryError);
        return;
      }
      if (!this.live(generation)) return;
      if (!chunk) return this.inputEnded();
      this.feed(chunk, generation);
    }
  }

  /** Hands a chunk to the locator or the fragmenter, and goes where they need to read next. */
  private feed(chunk: Chunk, generation: number): void {
    this.received += chunk.data.byteLength;
    this.meter.add(this.received);
    const end = chunk.offset + chunk.data.byteLength;
    try {
      if (!this.fragmenter) return this.locate(chunk, end);
      for (const f of this.fragmenter.push(chunk.offset, chunk.data)) this.host.fragment(f);
    } catch (err) {
      if (!(err instanceof FerryError)) console.error(err);
      return this.host.fail(err instanceof FerryError ? err : new FerryError('media_error', 'the file could not be read; it may be damaged'));
    }
    if (this.live(generation)) this.follow(end);
  }

  private locate(chunk: Chunk, end: number): void {
    const step = this.locator.push(chunk.offset, chunk.data);
    if (step.kind === 'more') return;
    if (step.kind === 'jump') {
      if (step.skipped.type === 'mdat' && !this.prefetch) this.prefetch = this.openAt(step.skipped.offset + step.skipped.headerSize, this.windows.probe);
      return this.reposition(step.offset);
    }
    this.fragmenter = this.host.movie(step.ftyp, step.moov);
    if (!this.fragmenter) return;
    const from = this.fragmenter.seek(this.host.currentTime());
    const prefetch = this.prefetch;
    this.prefetch = null;
    if (prefetch && prefetch.request.offset === from) {
      prefetch.widen(this.windows.media());
      return this.reposition(from, prefetch);
    }
    prefetch?.cancel();
    // With the moov first, the media usually follows in the bytes already here: hand them over.
    if (from >= step.moovEnd && from < end) {
      this.transfer!.widen(this.windows.media());
      for (const f of this.fragmenter.push(from, chunk.data.subarray(from - chunk.offset))) this.host.fragment(f);
      this.follow(end);
    } else if (from !== end) {
      this.reposition(from);
    }
  }

  /** After bytes up to `end`, reads on, jumps to what the fragmenter needs, or stops. */
  private follow(end: number): void {
    const wanted = this.fragmenter!.wanted();
    if (wanted === null) {
      // Every fragment is made; the buffers end the stream once the last ones are appended.
      this.generation++;
      this.transfer?.cancel();
      return;
    }
    if (wanted < end || wanted - end > READ_THROUGH_BYTES) this.reposition(wanted);
  }

  private reposition(offset: number, opened?: Transfer): void {
    const generation = ++this.generation;
    this.transfer?.cancel();
    this.transfer = opened ?? this.openAt(offset);
    this.wake();
    void this.pump(generation);
  }

  /** The file ended while the fragmenter still needed bytes (else `follow` would have stopped reading). */
  private inputEnded(): void {
    if (!this.fragmenter) return this.host.fail(new FerryError('no_index'));
    this.host.fail(truncation(this.total ?? this.transfer!.nextOffset, this.fragmenter.dataEnd));
  }
}

export function truncation(reached: number, end: number): FerryError {
  return new FerryError('truncated', `the file ends early at ${end > 0 ? Math.floor((100 * reached) / end) : 0}%`);
}
