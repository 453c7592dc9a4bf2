/**
 * A track's samples in typed arrays: 29 bytes a sample, where mp4box.js keeps a JS object of several hundred
 * bytes for each (gpac/mp4box.js#558). A two-hour film has half a million samples; this is what keeps the
 * tab's heap flat however long the file is. Offsets are plain doubles: exact far beyond 4 GiB.
 */

/** The parts of mp4box's stbl boxes this reads. */
export interface StblBoxes {
  stsz?: { sample_size: number; sample_count: number; sample_sizes: number[] };
  stz2?: { sample_sizes: number[] };
  stco?: { chunk_offsets: number[] };
  co64?: { chunk_offsets: number[] };
  stsc: { first_chunk: number[]; samples_per_chunk: number[] };
  stts: { sample_counts: number[]; sample_deltas: number[] };
  ctts?: { sample_counts: number[]; sample_offsets: number[] };
  stss?: { sample_numbers: number[] };
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

  constructor(stbl: StblBoxes, readonly timescale: number) {
    const sizes = stbl.stsz ?? { sample_size: 0, sample_count: stbl.stz2!.sample_sizes.length, sample_sizes: stbl.stz2!.sample_sizes };
    const n = sizes.sample_count;
    this.count = n;
    this.sizes = new Uint32Array(n);
    for (let i = 0; i < n; i++) this.sizes[i] = sizes.sample_size || sizes.sample_sizes[i]!;

    this.offsets = new Float64Array(n);
    const chunks = (stbl.stco ?? stbl.co64)!.chunk_offsets;
    const { first_chunk: first, samples_per_chunk: perChunk } = stbl.stsc;
    let sample = 0;
    for (let run = 0; run < first.length && sample < n; run++) {
      const lastChunk = run + 1 < first.length ? first[run + 1]! - 1 : chunks.length;
      for (let chunk = first[run]!; chunk <= lastChunk && sample < n; chunk++) {
        let offset = chunks[chunk - 1]!;
        for (let k = 0; k < perChunk[run]! && sample < n; k++) {
          this.offsets[sample] = offset;
          offset += this.sizes[sample]!;
          sample++;
        }
      }
    }

    this.dts = new Float64Array(n);
    this.durations = new Uint32Array(n);
    let t = 0;
    sample = 0;
    for (let run = 0; run < stbl.stts.sample_counts.length; run++) {
      for (let k = 0; k < stbl.stts.sample_counts[run]! && sample < n; k++) {
        this.dts[sample] = t;
        this.durations[sample] = stbl.stts.sample_deltas[run]!;
        t += stbl.stts.sample_deltas[run]!;
        sample++;
      }
    }

    this.ctsOffsets = new Int32Array(n);
    let negative = false;
    if (stbl.ctts) {
      sample = 0;
      for (let run = 0; run < stbl.ctts.sample_counts.length; run++) {
        for (let k = 0; k < stbl.ctts.sample_counts[run]! && sample < n; k++) {
          const v = stbl.ctts.sample_offsets[run]!;
          this.ctsOffsets[sample++] = v;
          if (v < 0) negative = true;
        }
      }
    }
    this.hasNegativeCts = negative;

    // Without stss every sample is a sync sample.
    this.sync = new Uint8Array(n).fill(stbl.stss ? 0 : 1);
    for (const number of stbl.stss?.sample_numbers ?? []) if (number >= 1 && number <= n) this.sync[number - 1] = 1;
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
