/**
 * A track's samples in typed arrays: 13 bytes a sample (17 with B-frames), where mp4box.js keeps a JS object of several hundred
 * bytes for each (gpac/mp4box.js#558). A two-hour film has half a million samples; this is what keeps the
 * tab's heap flat however long the file is. Offsets are plain doubles: exact far beyond 4 GiB.
 */

import type { TrakTables } from '../mp4/moov-split.js';
import { readCompositionOffsets, readOffsets, readSizes, readSyncSamples, readTimeRuns } from '../mp4/sample-tables.js';
import { lastAtOrBelow } from './search.js';

export class SampleTable {
  /** Samples that can be played: all of the track's, or those a short file still holds (`keepWithin`). */
  count: number;
  /**
   * False for the tables of a moov's head (the relay's first seconds, moov-index.ts): more samples follow
   * once the whole moov is read, so the last one here is not the track's last.
   */
  complete = true;
  readonly offsets: Float64Array;
  readonly sizes: Uint32Array;
  readonly sync: Uint8Array;
  readonly hasNegativeCts: boolean;
  /**
   * Ticks by which the first sample is shown early and held longer: a video track that starts after the
   * others (an empty edit) then shows its first frame from the movie's start, as a plain player does.
   */
  private lead = 0;
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

  /**
   * `fileSize` bounds the samples' bytes; `shift` is where the edit list puts the media, in seconds added
   * to its times (the SourceBuffer's timestampOffset).
   */
  constructor(t: TrakTables, readonly timescale: number, fileSize: number | null = null, public shift = 0) {
    this.sizes = readSizes(t.stsz, t.stz2, fileSize);
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
    return this.runDelta[this.runOf(index)]! + (index === 0 ? this.lead : 0);
  }

  /** Composition minus decode time of a sample. */
  ctsOffset(index: number): number {
    return this.cts ? this.cts[index]! : 0;
  }

  /** When the first sample is shown, in seconds of the movie. */
  get start(): number {
    return (this.dts(0) + this.ctsOffset(0)) / this.timescale + this.shift - this.leadSeconds;
  }

  /** Seconds by which the first sample is shown early (its fragment is placed that much earlier). */
  get leadSeconds(): number {
    return this.lead / this.timescale;
  }

  /** Shows the first sample from `time` (seconds of the movie) instead, holding it until the second. */
  startAt(time: number): void {
    const lead = Math.round((this.start - time) * this.timescale);
    if (lead > 0 && this.count >= 2) this.lead += lead;
  }

  /** Whether the first sample must sit alone in its fragment (it is held longer than its decode step). */
  get leads(): boolean {
    return this.lead > 0;
  }

  /** Index of the last sample whose decode time is at or before `time` seconds of the movie (0 if none). */
  sampleAt(time: number): number {
    const target = (time - this.shift) * this.timescale;
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

  /** Decode time of a sample, in seconds of the movie. */
  time(index: number): number {
    return this.dts(index) / this.timescale + this.shift;
  }

  /** Keeps only the samples before the first whose bytes go past `bytes`: a file that ends early. */
  keepWithin(bytes: number): void {
    for (let i = 0; i < this.count; i++) {
      if (this.offsets[i]! + this.sizes[i]! > bytes) {
        this.count = i;
        return;
      }
    }
  }

  /** The end, in seconds of the movie, of the samples held in the first `bytes` of the file. */
  timeWithin(bytes: number): number {
    let last = -1;
    for (let i = 0; i < this.count; i++) if (this.offsets[i]! + this.sizes[i]! <= bytes) last = i;
    return last < 0 ? 0 : this.time(last) + this.duration(last) / this.timescale;
  }

  private runOf(index: number): number {
    const r = this.lastRun;
    if (index >= this.runFirst[r]! && (r + 1 >= this.runFirst.length || index < this.runFirst[r + 1]!)) return r;
    this.lastRun = lastAtOrBelow(this.runFirst, index);
    return this.lastRun;
  }
}
