/**
 * A track's samples in typed arrays: 13 bytes a sample (17 with B-frames), where mp4box.js keeps a JS object of several hundred
 * bytes for each (gpac/mp4box.js#558). A two-hour film has half a million samples; this is what keeps the
 * tab's heap flat however long the file is. Offsets are plain doubles: exact far beyond 4 GiB.
 */

import type { TrakTables } from './mp4/moov-tables.js';
import { readCompositionOffsets, readOffsets, readSizes, readSyncSamples, readTimeRuns } from './mp4/tables.js';
import { lastAtOrBelow } from './search.js';

export class SampleTable {
  readonly count: number;
  readonly offsets: Float64Array;
  readonly sizes: Uint32Array;
  readonly sync: Uint8Array;
  readonly hasNegativeCts: boolean;
  /**
   * Decode times stay as the stts runs they come in (one or two runs for most tracks), not one number a
   * sample: 12 bytes a sample saved, 8 MB on an 8 GB film.
   */
  private readonly runFirst: Uint32Array;
  private readonly runTime: Float64Array;
  private readonly runDelta: Uint32Array;
  /** Composition minus decode time, per sample; null when the track has none (no ctts). */
  private readonly cts: Int32Array | null;
  /** The run of the last lookup: fragments read samples in order, so it is nearly always the right one. */
  private lastRun = 0;

  constructor(t: TrakTables, readonly timescale: number) {
    this.sizes = readSizes(t.stsz, t.stz2);
    this.count = this.sizes.length;
    this.offsets = readOffsets(this.sizes, t.stsc, t.stco, t.co64);
    ({ first: this.runFirst, time: this.runTime, delta: this.runDelta } = readTimeRuns(t.stts, this.count));
    ({ offsets: this.cts, negative: this.hasNegativeCts } = readCompositionOffsets(t.ctts, this.count));
    this.sync = readSyncSamples(t.stss, this.count);
  }

  /** One past the last byte of media data any sample needs. */
  get dataEnd(): number {
    let end = 0;
    for (let i = 0; i < this.count; i++) end = Math.max(end, this.offsets[i]! + this.sizes[i]!);
    return end;
  }

  /** Decode time of a sample, in the track's timescale. */
  dts(index: number): number {
    const run = this.runOf(index);
    return this.runTime[run]! + (index - this.runFirst[run]!) * this.runDelta[run]!;
  }

  duration(index: number): number {
    return this.runDelta[this.runOf(index)]!;
  }

  /** Composition minus decode time of a sample. */
  ctsOffset(index: number): number {
    return this.cts ? this.cts[index]! : 0;
  }

  /** Index of the last sample whose decode time is at or before `time` seconds (0 if none). */
  sampleAt(time: number): number {
    const target = time * this.timescale;
    const lo = lastAtOrBelow(this.runTime, target);
    const delta = this.runDelta[lo]!;
    const within = delta > 0 ? Math.floor((target - this.runTime[lo]!) / delta) : 0;
    const last = lo + 1 < this.runFirst.length ? this.runFirst[lo + 1]! - 1 : this.count - 1;
    return Math.max(0, Math.min(this.runFirst[lo]! + Math.max(0, within), last, this.count - 1));
  }

  /** Index of the sync sample at or before `index`. */
  syncBefore(index: number): number {
    for (let i = index; i > 0; i--) if (this.sync[i]) return i;
    return 0;
  }

  /** Decode time of a sample, in seconds. */
  time(index: number): number {
    return this.dts(index) / this.timescale;
  }

  private runOf(index: number): number {
    const r = this.lastRun;
    if (index >= this.runFirst[r]! && (r + 1 >= this.runFirst.length || index < this.runFirst[r + 1]!)) return r;
    this.lastRun = lastAtOrBelow(this.runFirst, index);
    return this.lastRun;
  }
}
