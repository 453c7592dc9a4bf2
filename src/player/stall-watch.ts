/**
 * Notices a playhead that stopped with media missing, and either steps over a small gap or asks for the
 * media at the playhead again (when the reading has already passed it, e.g. after the browser evicted it).
 */
import type { MediaBuffers } from './media-buffers.js';

const STALL_MS = 1500;

export class StallWatch {
  private since: number | null = null;
  private lastTime = -1;

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly buffers: MediaBuffers,
    /** Where the reading is now, in media time. */
    private readonly readingAt: () => number,
    /** Fetch the media at `time` again. */
    private readonly refetch: (time: number) => void,
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
    if (gapEnd !== null && gapEnd - t < 1) {
      v.currentTime = gapEnd + 0.01;
    } else if (this.buffers.around(t).ahead < 0.5 && this.readingAt() > t + 1) {
      this.refetch(t);
    }
  }
}
