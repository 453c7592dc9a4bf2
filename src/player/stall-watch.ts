/**
 * Notices a playhead that stopped with media missing, and either steps over a small gap or asks for the
 * media at the playhead again (when the reading has already passed it, e.g. after the browser evicted it).
 * It never loops: past a few refetches at the same place it gives up and says what it saw.
 */
import { FerryError } from '../protocol/codes.js';
import type { MediaBuffers } from './media-buffers.js';

const STALL_MS = 1500;
/** Refetches of the same place (within a second) before the watch gives up. */
const MAX_REFETCHES = 3;

export class StallWatch {
  private since: number | null = null;
  private lastTime = -1;
  private refetches = 0;
  private refetchedAt = -Infinity;

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly buffers: MediaBuffers,
    /** Where the reading is now, in media time. */
    private readonly readingAt: () => number,
    /** Fetch the media at `time` again. */
    private readonly refetch: (time: number) => void,
    private readonly fail: (err: FerryError) => void,
  ) {}

  check(t: number): void {
    const v = this.video;
    const stalled = !v.paused && !v.ended && !v.seeking && v.readyState < HTMLMediaElement.HAVE_FUTURE_DATA;
    if (!stalled || t !== this.lastTime) {
      this.since = null;
      this.lastTime = t;
      return;
    }
    this.since ??= performance.now();
    if (performance.now() - this.since < STALL_MS) return;
    this.since = null;
    const gapEnd = this.buffers.nextRangeStart(t);
    // The gap as long as it is from where the media at the playhead ends: Chromium may hold a playhead a few
    // frames before a gap without playing them (a VFR WebM with a 0.9 s hole after its first 0.2 s).
    const gapStart = t + this.buffers.around(t).ahead;
    if (gapEnd !== null && gapEnd - gapStart < 1) {
      v.currentTime = gapEnd + 0.01;
    } else if (this.buffers.around(t).ahead < 0.5 && this.readingAt() > t + 1) {
      this.refetchOnce(t);
    }
  }

  private refetchOnce(t: number): void {
    if (Math.abs(t - this.refetchedAt) >= 1) this.refetches = 0;
    this.refetchedAt = t;
    if (++this.refetches > MAX_REFETCHES) {
      this.fail(new FerryError('media_error', `playback cannot go on at ${t.toFixed(1)} s: ${this.buffers.describe(t)}`));
      return;
    }
    this.refetch(t);
  }
}
