/**
 * What the MSE engine reads, and when: the media from where playback needs it (the moov came first, from the
 * relay's index), cut into fragments as the bytes arrive.
 *
 * Backpressure is real: while the buffers are full it stops reading its transfer, so no credit is granted and
 * the relay pauses the origin. Nothing is ever dropped to make room.
 */
import type { Chunk, Transfer } from '../client/transfer.js';
import { FerryError } from '../protocol/codes.js';
import { RateMeter } from '../ui/rate.js';
import type { Demuxer } from './container.js';
import type { Fragment, TextCue } from './fragmenter.js';

/** A gap in the file this small is read through rather than skipped with a new request. */
const READ_THROUGH_BYTES = 1024 * 1024;

/** Opens the same resource from an offset (with the validator of its first answer), with a credit window. */
export type RangeOpener = (offset: number, window?: number) => Transfer;

export interface LoaderHost {
  /** A subtitle read among the media bytes. */
  cue(cue: TextCue): void;
  fragment(fragment: Fragment): void;
  /** Whether the buffers hold enough: then nothing more is read. */
  full(): boolean;
  currentTime(): number;
  fail(err: FerryError): void;
}

export class MediaLoader {
  private transfer: Transfer | null = null;
  /** Bumped by every re-positioning; a pump of an older generation stops. */
  private generation = 0;
  private waiters: (() => void)[] = [];
  private stopped = false;
  received = 0;
  readonly meter = new RateMeter();

  constructor(
    private readonly openAt: RangeOpener,
    private readonly demuxer: Demuxer,
    private readonly total: number | null,
    /** The credit window for the media, as the link allows; null until the link is measured. */
    private readonly mediaWindow: () => number | null,
    private readonly host: LoaderHost,
  ) {}

  /**
   * Starts the media from where playback starts, on the prefetch (asked for while the index arrived) when
   * that is where it was asked for, or where it has read to with `lead`, its bytes from there (a Matroska
   * file's first answer, read through its head into its first Cluster).
   */
  start(prefetch: Transfer | null, lead: Chunk | null = null): void {
    const from = this.demuxer.seek(this.host.currentTime());
    const leads = lead !== null && lead.offset === from && prefetch?.nextOffset === from + lead.data.byteLength;
    if (prefetch && (leads || prefetch.request.offset === from)) {
      this.reposition(from, prefetch);
      if (leads) this.feed(lead, this.generation);
      return;
    }
    prefetch?.cancel();
    this.reposition(from);
  }

  /** Bytes read but not yet made into fragments. */
  get held(): number {
    return (this.transfer?.buffered ?? 0) + this.demuxer.held;
  }

  /** Where the reading is, in media time. */
  position(): number {
    return this.demuxer.position();
  }

  /** Reads from the keyframe before `time`. */
  seek(time: number): void {
    this.reposition(this.demuxer.seek(time));
  }

  /** Stops reading until the next seek: the place asked for is beyond the tables known so far. */
  hold(): void {
    this.generation++;
    this.transfer?.cancel();
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
    this.wake();
  }

  private live(generation: number): boolean {
    return generation === this.generation && !this.stopped;
  }

  private async pump(generation: number): Promise<void> {
    while (this.live(generation)) {
      // Full buffers, or tables that end before the track does (the moov's head): wait to be woken.
      while (this.live(generation) && (this.host.full() || this.demuxer.starved)) {
        await new Promise<void>((resolve) => this.waiters.push(resolve));
      }
      const transfer = this.transfer;
      if (!this.live(generation) || !transfer) return;
      let chunk: Chunk | null;
      try {
        chunk = await transfer.read();
      } catch (err) {
        if (this.live(generation)) this.host.fail(err as FerryError);
        return;
      }
      if (!this.live(generation)) return;
      if (!chunk) return this.inputEnded();
      this.feed(chunk, generation);
    }
  }

  /** Hands a chunk to the demuxer, and goes where it needs to read next. */
  private feed(chunk: Chunk, generation: number): void {
    // The window grows as the link is measured (the prefetch starts small, and a start knows little yet).
    const window = this.mediaWindow();
    if (window !== null) this.transfer?.widen(window);
    this.received += chunk.data.byteLength;
    this.meter.add(this.received);
    const end = chunk.offset + chunk.data.byteLength;
    try {
      for (const f of this.demuxer.push(chunk.offset, chunk.data)) this.host.fragment(f);
      for (const cue of this.demuxer.takeCues()) this.host.cue(cue);
    } catch (err) {
      if (!(err instanceof FerryError)) console.error(err);
      return this.host.fail(err instanceof FerryError ? err : new FerryError('media_error', 'the file could not be read; it may be damaged'));
    }
    if (this.live(generation)) this.follow(end);
  }

  /** After bytes up to `end`, reads on, jumps to what the demuxer needs, or stops. */
  private follow(end: number): void {
    const wanted = this.demuxer.wanted();
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

  /** The file ended while the demuxer still needed bytes (else `follow` would have stopped reading). */
  private inputEnded(): void {
    const wanted = this.demuxer.wanted();
    // Every sample taken meanwhile (tables that grew from a moov's head to the whole, with nothing more): done.
    if (wanted === null) return;
    // Bytes that went by before the tables that need them were known (the head's, then the whole's): again.
    if (this.transfer && wanted < this.transfer.nextOffset) return this.reposition(wanted);
    this.host.fail(truncation(this.total ?? this.transfer?.nextOffset ?? 0, this.demuxer.dataEnd));
  }
}

export function truncation(reached: number, end: number): FerryError {
  return new FerryError('truncated', `the file ends early at ${end > 0 ? Math.floor((100 * reached) / end) : 0}%`);
}
