/**
 * A track's samples in typed arrays: 13 bytes a sample (17 with B-frames), where mp4box.js keeps a JS object of several hundred
 * bytes for each (gpac/mp4box.js#558). A two-hour film has half a million samples; this is what keeps the
 * tab's heap flat however long the file is. Offsets are plain doubles: exact far beyond 4 GiB.
 */

import { FerryError } from '../protocol/codes.js';
import type { TrakTables } from './moov-tables.js';
import { lastAtOrBelow } from './search.js';

/** Entry count of a table payload (after version and flags), checked against the bytes it has. */
function entries(v: DataView | undefined, at: number, entrySize: number, name: string): number {
  if (!v) return 0;
  const n = v.getUint32(at);
  if (at + 4 + n * entrySize > v.byteLength) throw new FerryError('no_index', `the file index is damaged (${name} is cut short)`);
  return n;
}

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
    // Sizes: stsz (a constant, or one u32 each) or stz2 (4, 8 or 16 bits each).
    let n: number;
    if (t.stsz) {
      const constant = t.stsz.getUint32(4);
      n = constant ? t.stsz.getUint32(8) : entries(t.stsz, 8, 4, 'stsz');
      this.sizes = new Uint32Array(n);
      for (let i = 0; i < n; i++) this.sizes[i] = constant || t.stsz.getUint32(12 + 4 * i);
    } else if (t.stz2) {
      const bits = t.stz2.getUint8(7);
      n = entries(t.stz2, 8, bits / 8, 'stz2');
      this.sizes = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        if (bits === 16) this.sizes[i] = t.stz2.getUint16(12 + 2 * i);
        else if (bits === 8) this.sizes[i] = t.stz2.getUint8(12 + i);
        else this.sizes[i] = (t.stz2.getUint8(12 + (i >> 1)) >> (i % 2 ? 0 : 4)) & 0xf;
      }
    } else {
      throw new FerryError('no_index', 'the file index has a track without sample sizes');
    }
    this.count = n;

    // Offsets: chunk offsets (stco or co64), samples per chunk by runs (stsc).
    this.offsets = new Float64Array(n);
    const wide = !t.stco && Boolean(t.co64);
    const chunkTable = t.stco ?? t.co64;
    const chunkCount = entries(chunkTable, 4, wide ? 8 : 4, 'stco');
    const chunkOffset = (c: number): number =>
      wide ? chunkTable!.getUint32(8 + 8 * c) * 2 ** 32 + chunkTable!.getUint32(12 + 8 * c) : chunkTable!.getUint32(8 + 4 * c);
    const runs = entries(t.stsc, 4, 12, 'stsc');
    let sample = 0;
    for (let run = 0; run < runs && sample < n; run++) {
      const firstChunk = t.stsc!.getUint32(8 + 12 * run);
      const perChunk = t.stsc!.getUint32(12 + 12 * run);
      const lastChunk = run + 1 < runs ? t.stsc!.getUint32(8 + 12 * (run + 1)) - 1 : chunkCount;
      for (let chunk = firstChunk; chunk <= lastChunk && chunk <= chunkCount && sample < n; chunk++) {
        let offset = chunkOffset(chunk - 1);
        for (let k = 0; k < perChunk && sample < n; k++) {
          this.offsets[sample] = offset;
          offset += this.sizes[sample]!;
          sample++;
        }
      }
    }
    if (sample < n) throw new FerryError('no_index', 'the file index is damaged (chunks cover fewer samples than it has)');

    // Times: decode deltas by runs (stts), kept as runs; composition offsets by runs (ctts), one per sample.
    const timeRuns = entries(t.stts, 4, 8, 'stts');
    this.runFirst = new Uint32Array(Math.max(1, timeRuns));
    this.runTime = new Float64Array(Math.max(1, timeRuns));
    this.runDelta = new Uint32Array(Math.max(1, timeRuns));
    let first = 0;
    let time = 0;
    for (let run = 0; run < timeRuns; run++) {
      const count = t.stts!.getUint32(8 + 8 * run);
      const delta = t.stts!.getUint32(12 + 8 * run);
      this.runFirst[run] = Math.min(first, n);
      this.runTime[run] = time;
      this.runDelta[run] = delta;
      first += count;
      time += count * delta;
    }
    const ctsRuns = entries(t.ctts, 4, 8, 'ctts');
    let negative = false;
    this.cts = ctsRuns > 0 ? new Int32Array(n) : null;
    sample = 0;
    for (let run = 0; run < ctsRuns; run++) {
      const count = t.ctts!.getUint32(8 + 8 * run);
      const offset = t.ctts!.getInt32(12 + 8 * run);
      if (offset < 0) negative = true;
      for (let k = 0; k < count && sample < n; k++) this.cts![sample++] = offset;
    }
    this.hasNegativeCts = negative;

    // Without stss every sample is a sync sample.
    this.sync = new Uint8Array(n).fill(t.stss ? 0 : 1);
    const syncCount = entries(t.stss, 4, 4, 'stss');
    for (let k = 0; k < syncCount; k++) {
      const number = t.stss!.getUint32(8 + 4 * k);
      if (number >= 1 && number <= n) this.sync[number - 1] = 1;
    }
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
