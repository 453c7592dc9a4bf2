/**
 * A seek in a Matroska file without Cues (a recording, Chrome's MediaRecorder): the Cluster before the target
 * is found by interpolation between the Clusters seen, each probe a read from an estimated offset to the next
 * Cluster's head. Bounded: after MAX_PROBES it reads on from the best Cluster before the target.
 */

/** A Cluster this close before the target is taken: what comes before the target is read and played past. */
const CLOSE_TICKS_PER_SECOND = 5;
const MAX_PROBES = 12;

interface Point {
  offset: number;
  time: number;
}

export class ClusterSearch {
  private lo: Point;
  private hi: Point;
  private probes = 0;
  /** Where the last probe read from. */
  private probe = 0;
  /** The best Cluster before the target is known exactly: the next probe is at it. */
  private settling = false;

  constructor(
    private readonly target: number,
    first: Point,
    end: Point,
    /** Ticks per second. */
    private readonly rate: number,
  ) {
    this.lo = first;
    this.hi = end;
  }

  /** Where the next probe reads from. */
  next(): number {
    if (this.settling) return this.lo.offset;
    const { lo, hi } = this;
    const share = Number.isFinite(hi.time) && hi.time > lo.time ? (this.target - lo.time) / (hi.time - lo.time) : 0.5;
    // Never at either end: a probe at `hi` finds `hi` again.
    this.probe = Math.floor(lo.offset + Math.max(0.02, Math.min(0.98, share)) * (hi.offset - lo.offset));
    return this.probe;
  }

  /** A Cluster found at `offset` beginning at `time`: true when reading goes on from it. */
  found(offset: number, time: number): boolean {
    this.probes++;
    if (time <= this.target && (this.settling || this.target - time <= CLOSE_TICKS_PER_SECOND * this.rate)) return true;
    // Past the target: the Cluster wanted starts before the probe (when it found `hi` again, the probe fell in
    // the Cluster before it).
    if (time > this.target)
      this.hi = {
        offset: Math.min(offset, Math.max(this.probe, this.lo.offset + 1)),
        time: Math.min(time, this.hi.time),
      };
    else this.lo = { offset, time };
    // Out of probes, or no room left between the two: the best one before the target is where reading starts.
    if (this.probes >= MAX_PROBES || this.hi.offset - this.lo.offset < 64 * 1024) this.settling = true;
    return false;
  }
}
