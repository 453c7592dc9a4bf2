/**
 * A track's samples in typed arrays: 29 bytes a sample, where mp4box.js keeps a JS object of several hundred
 * bytes for each (gpac/mp4box.js#558). A two-hour film has half a million samples; this is what keeps the
 * tab's heap flat however long the file is. Offsets are plain doubles: exact far beyond 4 GiB.
 */

import { FerryError } from '../protocol/codes.js';
import type { TrakTables } from './moov-tables.js';

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
  /** Decode times, in the track's timescale. */
  readonly dts: Float64Array;
  readonly durations: Uint32Array;
  /** Composition minus decode time. */
  readonly ctsOffsets: Int32Array;
  readonly sync: Uint8Array;
  readonly hasNegativeCts: boolean;

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

    // Times: decode deltas by runs (stts), composition offsets by runs (ctts).
    this.dts = new Float64Array(n);
    this.durations = new Uint32Array(n);
    let time = 0;
    sample = 0;
    const timeRuns = entries(t.stts, 4, 8, 'stts');
    for (let run = 0; run < timeRuns; run++) {
      const count = t.stts!.getUint32(8 + 8 * run);
      const delta = t.stts!.getUint32(12 + 8 * run);
      for (let k = 0; k < count && sample < n; k++) {
        this.dts[sample] = time;
        this.durations[sample++] = delta;
        time += delta;
      }
    }
    this.ctsOffsets = new Int32Array(n);
    let negative = false;
    const ctsRuns = entries(t.ctts, 4, 8, 'ctts');
    sample = 0;
    for (let run = 0; run < ctsRuns; run++) {
      const count = t.ctts!.getUint32(8 + 8 * run);
      const offset = t.ctts!.getInt32(12 + 8 * run);
      if (offset < 0) negative = true;
      for (let k = 0; k < count && sample < n; k++) this.ctsOffsets[sample++] = offset;
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

  /** Index of the last sample whose decode time is at or before `time` seconds (0 if none). */
  sampleAt(time: number): number {
    const target = time * this.timescale;
    let lo = 0;
    let hi = this.count - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (this.dts[mid]! <= target) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Index of the sync sample at or before `index`. */
  syncBefore(index: number): number {
    for (let i = index; i > 0; i--) if (this.sync[i]) return i;
    return 0;
  }

  /** Decode time of a sample, in seconds. */
  time(index: number): number {
    return this.dts[index]! / this.timescale;
  }
}
