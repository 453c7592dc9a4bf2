/**
 * The one owner of the MediaSource and its SourceBuffers: one queue per track, the fragments made before the
 * buffers exist, what is buffered around the playhead, one eviction policy, and the end of the stream.
 * The loader gives it fragments; the engine asks it how full it is.
 */
import { FerryError } from '../protocol/codes.js';
import type { BufferPool } from './buffer-pool.js';
import type { Fragment } from './fragmenter.js';
import type { PlayedTrack } from './container.js';
import { aroundPlayhead } from './engine.js';
import type { AttachedMediaSource } from './media-source.js';
import { DroppedError, SourceBufferQueue } from './source-buffer.js';

export interface BufferGoals {
  /** Seconds to keep buffered ahead of the playhead. */
  forwardSeconds: number;
  /**
   * Seconds read ahead while no frame shows (a start, a seek). Appending more first slows the start: one that
   * had 2.5 s appended before its first frame showed it 40–50 ms later than one holding 0.5 s (medians of 10,
   * docs/benchmarks.md), the decoder sharing the cores with the appends.
   */
  startSeconds: number;
  /** Bytes of media to keep ahead of the playhead. */
  forwardBytes: number;
  /** Seconds kept behind the playhead; older media is removed. */
  backSeconds: number;
}

export const DEFAULT_GOALS: BufferGoals = { forwardSeconds: 20, startSeconds: 0.5, forwardBytes: 32 * 1024 * 1024, backSeconds: 30 };
/** Fragments made but not yet in the browser; past this the loader stops reading. */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;
/** How far past the back goal media may linger before a remove: small, since removes are cheap and 16x is not. */
const EVICTION_SLACK_SECONDS = 2;

export interface Around { ahead: number; behind: number; contains: boolean }

export class MediaBuffers {
  private readonly mediaSource: MediaSource;
  private readonly queues = new Map<number, SourceBufferQueue>();
  /** Fragments made before the SourceBuffers exist; bounded by MAX_PENDING_BYTES like the queues. */
  private early: Fragment[] = [];
  private tracks: PlayedTrack[] = [];
  /** Bytes appended per fragment end time, to know the bytes buffered ahead. */
  private ahead: { end: number; bytes: number }[] = [];
  private lastAppended = new Set<number>();
  /** Per track, where the fragments handed to its queue since the last seek end, in media time. */
  private readonly queuedUntil = new Map<number, number>();
  /** Bumped by every seek: appends queued before it no longer count. */
  private epoch = 0;
  private closed = false;
  /** Seconds the media ends at, when known to be earlier than the movie says (shorten()). */
  private end = Infinity;
  ended = false;

  constructor(
    private readonly video: HTMLVideoElement,
    /** Attached early by the player, or by the engine. */
    private readonly source: AttachedMediaSource,
    private readonly goals: BufferGoals,
    private readonly pool: BufferPool,
    /** Something appended or removed: whoever waits for room may look again. */
    private readonly changed: () => void,
    private readonly fail: (err: FerryError) => void,
  ) {
    this.mediaSource = source.mediaSource;
    source.onStreaming = changed;
  }

  /** One SourceBuffer per track, each starting with its init segment; fragments made meanwhile follow. */
  async open(tracks: PlayedTrack[], duration: number): Promise<void> {
    this.tracks = tracks;
    if (!(await this.source.open()) || this.closed) return;
    this.mediaSource.duration = Math.min(duration, this.end);
    for (const track of tracks) {
      const sb = this.mediaSource.addSourceBuffer(track.mime);
      const queue = new SourceBufferQueue(track.kind, sb, (q) => this.makeRoom(q), (err) => this.fail(new FerryError('media_error', err.message)));
      this.queues.set(track.id, queue);
      void queue.append(track.init).catch(() => {});
    }
    const early = this.early;
    this.early = [];
    for (const f of early) this.enqueue(f);
  }

  /**
   * Another track of the same kind takes `old`'s place (another audio language): its SourceBuffer changes
   * type if the codec differs, and takes the new init segment; fragments of the new track follow.
   */
  replaceTrack(old: PlayedTrack, track: PlayedTrack): void {
    this.tracks = this.tracks.map((t) => (t === old ? track : t));
    const queue = this.queues.get(old.id);
    if (!queue) return;
    this.queues.delete(old.id);
    this.queues.set(track.id, queue);
    // The old language goes: what stays buffered would play on for seconds after the choice.
    void queue.remove(0, Infinity).catch(() => {});
    if (track.mime !== old.mime) void queue.changeType(track.mime).catch((err: Error) => this.fail(new FerryError('media_error', err.message)));
    void queue.append(track.init).catch(() => {});
  }

  /** An earlier end than the one opened with: a file found incomplete once its whole index is read. */
  shorten(duration: number): void {
    this.end = duration;
    if (this.mediaSource.readyState !== 'open' || this.queues.size === 0) return;
    try {
      this.mediaSource.duration = duration;
    } catch {
      // A SourceBuffer is updating: the end of stream sets the duration to what was appended anyway.
    }
  }

  add(fragment: Fragment): void {
    if (this.queues.size) this.enqueue(fragment);
    else this.early.push(fragment);
  }

  /** Whether the forward goal (seconds, bytes, or fragments waiting) is met: then nothing more is read. */
  full(): boolean {
    if (this.waitingBytes() >= MAX_PENDING_BYTES || !this.source.streaming) return true;
    if (this.queues.size === 0) return false;
    const t = this.video.currentTime;
    // Fragments still queued count too: small ones after a start can wait in line for seconds of media.
    const ahead = Math.max(this.around(t).ahead, Math.min(...this.tracks.map((tr) => (this.queuedUntil.get(tr.id) ?? t) - t)));
    const goal = this.video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA ? this.goals.startSeconds : this.goals.forwardSeconds;
    return ahead >= goal || this.bytesAhead() >= this.goals.forwardBytes;
  }

  /** Buffered around `time` in every SourceBuffer: the smallest ahead and behind. */
  around(time: number): Around {
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

  /** The start of the next buffered range after `t` in every buffer, or null. */
  nextRangeStart(t: number): number | null {
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

  /**
   * The one eviction policy: keep `backSeconds` behind `time`, and, after a seek, nothing far ahead of it.
   * Removes are queued like appends, so they never collide with them.
   */
  evict(time: number, afterSeek = false): void {
    for (const q of this.queues.values()) {
      const start = q.buffered.length ? q.buffered.start(0) : time;
      const slack = afterSeek ? 0 : EVICTION_SLACK_SECONDS;
      // The end of the stream waits for every queue to be empty, a remove's too.
      const removed = (): void => this.maybeEnd();
      if (time - start > this.goals.backSeconds + slack) void q.remove(0, Math.max(0, time - this.goals.backSeconds)).then(removed, () => {});
      // After a jump, stale media far ahead would only be held.
      // Only when something is there: a remove queued ahead of the seek's first append delays its frame.
      const far = time + this.goals.forwardSeconds + 10;
      const buffered = q.buffered;
      if (afterSeek && buffered.length && buffered.end(buffered.length - 1) > far) void q.remove(far, this.mediaSource.duration).then(removed, () => {});
    }
  }

  /** A seek elsewhere: what was queued for the old position is dropped, and the end is not reached yet. */
  reset(time: number): void {
    this.epoch++;
    this.ended = false;
    this.lastAppended.clear();
    this.queuedUntil.clear();
    this.ahead = [];
    this.early = [];
    for (const q of this.queues.values()) q.dropPendingAppends();
    this.evict(time, true);
  }

  stats(): { queueDepth: number; bytesHeld: number; quotaHits: number; buffered: TimeRanges | null } {
    let depth = this.early.length;
    let quotaHits = 0;
    for (const q of this.queues.values()) {
      depth += q.depth;
      quotaHits += q.quotaHits;
    }
    return { queueDepth: depth, bytesHeld: this.waitingBytes(), quotaHits, buffered: this.queues.values().next().value?.buffered ?? null };
  }

  close(): void {
    this.closed = true;
    this.source.close();
  }

  /** What each track holds around `time`, in words, for an error that says why playback cannot go on. */
  describe(time: number): string {
    return this.tracks.map((track) => `the ${track.kind} ${this.describeTrack(track.id, time)}`).join(' and ');
  }

  private describeTrack(id: number, time: number): string {
    const r = this.queues.get(id)?.buffered;
    for (let i = 0; r && i < r.length; i++) {
      if (r.end(i) <= time) continue;
      return r.start(i) <= time + 0.1 ? `is there only up to ${r.end(i).toFixed(1)} s` : `starts at ${r.start(i).toFixed(1)} s`;
    }
    return `has nothing after ${time.toFixed(1)} s`;
  }

  private enqueue(fragment: Fragment): void {
    const queue = this.queues.get(fragment.trackId);
    if (!queue) return;
    this.queuedUntil.set(fragment.trackId, Math.max(this.queuedUntil.get(fragment.trackId) ?? 0, fragment.endTime));
    const epoch = this.epoch;
    queue.append(fragment.data, fragment.timestampOffset).then(
      () => {
        this.pool.release(fragment.data);
        if (epoch === this.epoch) this.ahead.push({ end: fragment.endTime, bytes: fragment.data.byteLength });
        if (fragment.last) this.lastAppended.add(fragment.trackId);
        this.maybeEnd();
        this.changed();
      },
      (err: Error) => {
        this.pool.release(fragment.data);
        if (!(err instanceof DroppedError)) this.fail(new FerryError('media_error', err.message));
      },
    );
  }

  /**
   * Tracks whose last fragment went out before it was known to be the last (a moov's head that held every
   * sample): the stream ends once what is queued is appended.
   */
  endTracks(ids: number[]): void {
    for (const id of ids) this.lastAppended.add(id);
    this.maybeEnd();
  }

  private maybeEnd(): void {
    if (this.ended || !this.tracks.length || !this.tracks.every((t) => this.lastAppended.has(t.id))) return;
    if ([...this.queues.values()].some((q) => q.depth > 0) || this.mediaSource.readyState !== 'open') return;
    this.ended = true;
    this.mediaSource.endOfStream();
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
}
