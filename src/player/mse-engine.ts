/**
 * Plays a non-fragmented MP4 of any size through Media Source Extensions: the moov is found by walking the
 * top-level boxes and read by range, its sample tables kept compact; media bytes come by range from the relay
 * and are fragmented on the fly; one queue per SourceBuffer appends them.
 *
 * Backpressure is real: when the forward goal (seconds and bytes) is reached the engine stops reading its
 * transfer, so no credit is granted and the relay pauses the origin. Nothing is ever dropped to make room.
 */
import { RateMeter } from '../ui/rate.js';
import type { Chunk, Transfer } from '../client/transfer.js';
import { FerryError } from '../protocol/codes.js';
import { codecName } from './codecs.js';
import { rangesOf, type Engine, type EngineStats } from './engine.js';
import { BufferPool } from './buffer-pool.js';
import { Fragmenter, type Fragment } from './fragmenter.js';
import { parseMovie, type MovieTrack } from './movie.js';
import { MoovLocator } from './probe.js';
import { aroundPlayhead, DroppedError, SourceBufferQueue } from './source-buffer.js';

export interface BufferGoals {
  /** Seconds to keep buffered ahead of the playhead. */
  forwardSeconds: number;
  /** Bytes of media to keep ahead of the playhead. */
  forwardBytes: number;
  /** Seconds kept behind the playhead; older media is removed. */
  backSeconds: number;
}

export const DEFAULT_GOALS: BufferGoals = { forwardSeconds: 20, forwardBytes: 32 * 1024 * 1024, backSeconds: 30 };
/** Segments made but not yet in the browser; past this the engine stops reading. */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;
const TICK_MS = 250;
/** A gap in the file this small is read through rather than skipped with a new request. */
const READ_THROUGH_BYTES = 1024 * 1024;
const STALL_MS = 1500;
/** How far past the back goal media may linger before a remove: small, since removes are cheap and 16x is not. */
const EVICTION_SLACK_SECONDS = 2;

/** Opens the same resource from an offset (with the validator of its first answer), with a credit window. */
export type RangeOpener = (offset: number, window?: number) => Transfer;

export class MseEngine implements Engine {
  private readonly locator: MoovLocator;
  private fragmenter: Fragmenter | null = null;
  private readonly pool = new BufferPool();
  private readonly mediaSource = new MediaSource();
  private readonly sourceOpen: Promise<void>;
  private readonly queues = new Map<number, SourceBufferQueue>();
  /** Fragments made before the SourceBuffers exist; bounded by MAX_PENDING_BYTES like the queues. */
  private early: Fragment[] = [];
  private tracks: MovieTrack[] = [];
  private transfer: Transfer;
  /** Opened at the media's start while the moov is read, so playback from 0 need not wait for another request. */
  private prefetch: Transfer | null = null;
  /** Bumped by every re-positioning; a pump of an older generation stops. */
  private generation = 0;
  private lastAppended = new Set<number>();
  /** One past the last media byte the sample tables refer to. */
  private dataEnd = 0;
  /** Bytes appended per fragment end time, to know the bytes buffered ahead. */
  private ahead: { end: number; bytes: number }[] = [];
  private received = 0;
  private readonly meter = new RateMeter();
  private waiters: (() => void)[] = [];
  private stallSince: number | null = null;
  private lastTime = -1;
  private failure: FerryError | null = null;
  private ended = false;
  private destroyed = false;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly objectUrl: string;
  private readonly listeners: [string, () => void][];

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly openAt: RangeOpener,
    first: Transfer,
    firstChunk: Chunk,
    private readonly total: number | null,
    private readonly goals: BufferGoals,
    /** Credit windows: small while looking for the moov, larger for the media. */
    private readonly windows: { probe: number; media: number },
    private readonly onError: (err: FerryError) => void,
  ) {
    this.transfer = first;
    this.locator = new MoovLocator(total);
    // Awaited only where readyState is not already 'open' (createSourceBuffers): no ordering assumption.
    this.sourceOpen = new Promise((resolve) => {
      this.mediaSource.addEventListener('sourceopen', () => resolve(), { once: true });
    });
    this.objectUrl = URL.createObjectURL(this.mediaSource);
    video.src = this.objectUrl;
    this.listeners = [
      ['seeking', () => this.onSeeking()],
      ['timeupdate', () => this.wake()],
      ['error', () => this.fail(new FerryError('media_error', `the browser could not decode the video${video.error?.message ? `: ${video.error.message}` : ''}`))],
    ];
    for (const [name, fn] of this.listeners) video.addEventListener(name, fn);
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.feed(firstChunk, 0);
    void this.pump(0);
  }

  stats(): Partial<EngineStats> {
    const t = this.video.currentTime;
    const around = this.aroundAll(t);
    let depth = 0;
    let quotaHits = 0;
    for (const q of this.queues.values()) {
      depth += q.depth;
      quotaHits += q.quotaHits;
    }
    const first = this.queues.values().next().value;
    return {
      engine: 'mse',
      state: this.failure ? 'error' : this.ended ? 'ended' : this.tracks.length ? 'playing' : 'loading',
      bytesReceived: this.received,
      totalBytes: this.total,
      queueDepth: depth + this.early.length,
      bufferedAhead: around.ahead,
      bufferedBehind: around.behind,
      bytesHeld: this.waitingBytes() + this.transfer.buffered + (this.fragmenter?.held ?? 0),
      speed: this.meter.rate(),
      codecs: this.tracks.map((tr) => tr.codec),
      buffered: first ? rangesOf(first.buffered) : [],
      quotaHits,
    };
  }

  destroy(): void {
    this.destroyed = true;
    this.generation++;
    clearInterval(this.timer);
    this.transfer.cancel();
    this.prefetch?.cancel();
    for (const [name, fn] of this.listeners) this.video.removeEventListener(name, fn);
    this.wake();
    this.video.removeAttribute('src');
    this.video.load();
    URL.revokeObjectURL(this.objectUrl);
  }

  private async pump(generation: number): Promise<void> {
    while (this.live(generation)) {
      await this.room(generation);
      if (!this.live(generation)) return;
      let chunk: Chunk | null;
      try {
        chunk = await this.transfer.read();
      } catch (err) {
        if (this.live(generation)) this.fail(err as FerryError);
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
      for (const f of this.fragmenter.push(chunk.offset, chunk.data)) this.onFragment(f);
    } catch (err) {
      return this.fail(err instanceof FerryError ? err : new FerryError('media_error', `the file could not be read: ${String(err)}`));
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
    if (!this.startTracks(step.ftyp, step.moov)) return;
    const from = this.fragmenter!.seek(this.video.currentTime);
    const prefetch = this.prefetch;
    this.prefetch = null;
    if (prefetch && prefetch.request.offset === from) {
      prefetch.widen(this.windows.media);
      return this.reposition(from, prefetch);
    }
    prefetch?.cancel();
    // With the moov first, the media usually follows in the bytes already here: hand them over.
    if (from >= step.moovEnd && from < end) {
      this.transfer.widen(this.windows.media);
      for (const f of this.fragmenter!.push(from, chunk.data.subarray(from - chunk.offset))) this.onFragment(f);
      this.follow(end);
    } else if (from !== end) {
      this.reposition(from);
    }
  }

  /** After bytes up to `end`, reads on, jumps to what the fragmenter needs, or ends the input. */
  private follow(end: number): void {
    const wanted = this.fragmenter!.wanted();
    if (wanted === null) {
      this.generation++;
      this.transfer.cancel();
      return this.maybeEnd();
    }
    if (wanted < end || wanted - end > READ_THROUGH_BYTES) this.reposition(wanted);
  }

  private reposition(offset: number, opened?: Transfer): void {
    const generation = ++this.generation;
    this.transfer.cancel();
    this.transfer = opened ?? this.openAt(offset);
    this.wake();
    void this.pump(generation);
  }

  private live(generation: number): boolean {
    return generation === this.generation && !this.failure && !this.destroyed;
  }

  /** Parses the moov, checks the codecs and builds the SourceBuffers. False when the file cannot play here. */
  private startTracks(ftyp: Uint8Array, moov: Uint8Array): boolean {
    const movie = parseMovie(ftyp, moov);
    if (movie.tracks.length === 0) {
      this.fail(new FerryError('unsupported_codec', 'this file has no audio or video track'));
      return false;
    }
    const refused = movie.tracks.filter((t) => !MediaSource.isTypeSupported(t.mime));
    if (refused.length) {
      const what = refused.map((t) => `${codecName(t.codec)} ${t.kind} (${t.codec})`).join(' and ');
      this.fail(new FerryError('unsupported_codec', `this file uses ${what}, which this browser cannot play`));
      return false;
    }
    this.tracks = movie.tracks;
    this.fragmenter = new Fragmenter(movie.tracks, this.pool);
    void this.createSourceBuffers(movie.duration);
    // Known from the sample tables before any media is read; what exists still plays.
    const end = Math.max(...movie.tracks.map((t) => t.table.dataEnd));
    this.dataEnd = end;
    if (this.total !== null && end > this.total) this.onError(truncation(this.total, end));
    return true;
  }

  private async createSourceBuffers(duration: number): Promise<void> {
    if (this.mediaSource.readyState !== 'open') await this.sourceOpen;
    if (this.destroyed) return;
    this.mediaSource.duration = duration;
    for (const track of this.tracks) {
      const sb = this.mediaSource.addSourceBuffer(track.mime);
      const queue = new SourceBufferQueue(track.kind, sb, (q) => this.makeRoom(q), (err) => this.fail(new FerryError('media_error', err.message)));
      this.queues.set(track.id, queue);
      void queue.append(track.init).catch(() => {});
    }
    const early = this.early;
    this.early = [];
    for (const s of early) this.enqueue(s);
  }

  private onFragment(fragment: Fragment): void {
    if (this.queues.size) this.enqueue(fragment);
    else this.early.push(fragment);
  }

  private enqueue(fragment: Fragment): void {
    const queue = this.queues.get(fragment.trackId);
    if (!queue) return;
    const generation = this.generation;
    queue.append(fragment.data).then(
      () => {
        this.pool.release(fragment.data);
        if (generation === this.generation) this.ahead.push({ end: fragment.endTime, bytes: fragment.data.byteLength });
        if (fragment.last) this.lastAppended.add(fragment.trackId);
        this.maybeEnd();
        this.wake();
      },
      (err: Error) => {
        this.pool.release(fragment.data);
        if (!(err instanceof DroppedError)) this.fail(new FerryError('media_error', err.message));
      },
    );
  }

  /** Waits while the forward goal is met; returns when more may be read. */
  private async room(generation: number): Promise<void> {
    while (this.live(generation)) {
      const full =
        this.waitingBytes() >= MAX_PENDING_BYTES ||
        (this.queues.size > 0 && (this.aroundAll(this.video.currentTime).ahead >= this.goals.forwardSeconds || this.bytesAhead() >= this.goals.forwardBytes));
      if (!full) return;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private bytesAhead(): number {
    const t = this.video.currentTime;
    this.ahead = this.ahead.filter((s) => s.end > t);
    return this.ahead.reduce((n, s) => n + s.bytes, 0);
  }

  /** Fragments made but not yet in the browser: before the SourceBuffers exist, or in their queues. */
  private waitingBytes(): number {
    let bytes = this.early.reduce((n, s) => n + s.data.byteLength, 0);
    for (const q of this.queues.values()) bytes += q.pendingBytes;
    return bytes;
  }

  /** Buffered around `time` in every SourceBuffer: the smallest ahead and behind. */
  private aroundAll(time: number): { ahead: number; behind: number; contains: boolean } {
    if (this.queues.size === 0) return { ahead: 0, behind: 0, contains: false };
    let ahead = Infinity;
    let behind = Infinity;
    let contains = true;
    for (const q of this.queues.values()) {
      const a = aroundPlayhead(q.buffered, time);
      ahead = Math.min(ahead, a.ahead);
      behind = Math.min(behind, a.behind);
      contains &&= a.contains;
    }
    return { ahead, behind, contains };
  }

  private onSeeking(): void {
    if (!this.tracks.length || this.failure) return;
    const t = this.video.currentTime;
    if (this.aroundAll(t).contains) return; // within the buffer: nothing to fetch
    this.seekTo(t);
  }

  /** Fetches from the keyframe before `time`, dropping what was queued for elsewhere. */
  private seekTo(time: number): void {
    this.ended = false;
    this.lastAppended.clear();
    this.ahead = [];
    this.early = [];
    for (const q of this.queues.values()) {
      q.dropPendingAppends();
      // Keep only what is near the new position, so a jump does not leave stale media held.
      void q.remove(0, Math.max(0, time - this.goals.backSeconds)).catch(() => {});
      void q.remove(time + this.goals.forwardSeconds + 10, this.mediaSource.duration).catch(() => {});
    }
    this.reposition(this.fragmenter!.seek(time));
  }

  /** The file ended while the fragmenter still needed bytes (else `follow` would have stopped reading). */
  private inputEnded(): void {
    if (!this.fragmenter) return this.fail(new FerryError('no_index'));
    this.fail(truncation(this.total ?? this.transfer.nextOffset, this.dataEnd));
  }

  private maybeEnd(): void {
    if (this.ended || !this.tracks.length || !this.tracks.every((t) => this.lastAppended.has(t.id))) return;
    if ([...this.queues.values()].some((q) => q.depth > 0) || this.mediaSource.readyState !== 'open') return;
    this.ended = true;
    this.mediaSource.endOfStream();
  }

  /** Quota: shrink the goals, and offer what is behind the playhead for removal if anything is. */
  private makeRoom(queue: SourceBufferQueue): { start: number; end: number } | null {
    this.goals.forwardSeconds = Math.max(5, this.goals.forwardSeconds * 0.7);
    this.goals.forwardBytes = Math.max(8 * 1024 * 1024, this.goals.forwardBytes * 0.7);
    this.goals.backSeconds = Math.max(5, this.goals.backSeconds * 0.5);
    const cut = this.video.currentTime - Math.min(this.goals.backSeconds, 5);
    const buffered = queue.buffered;
    // Only a remove that frees something; else the browser must first play some of what it holds.
    return buffered.length > 0 && buffered.start(0) < cut - 0.5 ? { start: 0, end: cut } : null;
  }

  private tick(): void {
    if (this.failure || this.destroyed) return;
    const t = this.video.currentTime;
    for (const q of this.queues.values()) {
      const start = q.buffered.length ? q.buffered.start(0) : t;
      if (t - start > this.goals.backSeconds + EVICTION_SLACK_SECONDS) void q.remove(0, t - this.goals.backSeconds).catch(() => {});
    }
    this.watchStall(t);
    this.wake();
  }

  /** Notices a playhead that stopped with data missing, and fetches it or steps over a small gap. */
  private watchStall(t: number): void {
    const v = this.video;
    const stalled = !v.paused && !v.ended && !v.seeking && v.readyState < HTMLMediaElement.HAVE_FUTURE_DATA && this.tracks.length > 0;
    if (!stalled || t !== this.lastTime) {
      this.stallSince = null;
      this.lastTime = t;
      return;
    }
    this.stallSince ??= performance.now();
    if (performance.now() - this.stallSince < STALL_MS) return;
    this.stallSince = null;
    const gapEnd = this.nextRangeStart(t);
    if (gapEnd !== null && gapEnd - t < 1) {
      v.currentTime = gapEnd + 0.01;
    } else if (this.aroundAll(t).ahead < 0.5 && this.fragmenter!.position() > t + 1) {
      // The media at the playhead is missing and the reading has passed it (or finished): fetch it again.
      this.seekTo(t);
    }
  }

  private nextRangeStart(t: number): number | null {
    let start: number | null = null;
    for (const q of this.queues.values()) {
      const r = q.buffered;
      for (let i = 0; i < r.length; i++) {
        if (r.start(i) > t) {
          start = Math.max(start ?? 0, r.start(i));
          break;
        }
      }
    }
    return start;
  }

  private fail(err: FerryError): void {
    if (this.failure || this.destroyed) return;
    this.failure = err;
    this.transfer.cancel();
    this.prefetch?.cancel();
    this.wake();
    this.onError(err);
  }
}

function truncation(reached: number, end: number): FerryError {
  return new FerryError('truncated', `the file ends early at ${end > 0 ? Math.floor((100 * reached) / end) : 0}%`);
}
