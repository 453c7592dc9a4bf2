/**
 * One reader per sample-table box, from its raw payload (after the box header), for the page's tables (typed
 * arrays) and the relay's head (which reads only the first entries) alike. Every count comes from the file,
 * so every count is checked against the bytes that carry it, and against a hard cap where an entry can stand
 * for many samples (a 60-byte stsz can claim 50 million).
 */
import { FerryError } from '../protocol/codes.js';

/** More samples than any playable track has (eight hours at 60 frames a second is 1.7 million). */
export const MAX_SAMPLES = 4_000_000;

const damaged = (box: string, why: string): FerryError =>
  new FerryError('no_index', `the file index is damaged (${box} ${why})`);

/** Entry count of a table payload (after version and flags), checked against the bytes it has. */
function entries(v: DataView | undefined, at: number, entrySize: number, box: string): number {
  if (!v) return 0;
  if (v.byteLength < at + 4) throw damaged(box, 'is cut short');
  const n = v.getUint32(at);
  if (at + 4 + n * entrySize > v.byteLength) throw damaged(box, 'is cut short');
  return n;
}

function checkCount(n: number, box: string): number {
  if (n > MAX_SAMPLES) throw damaged(box, `claims ${n} samples, more than any playable track`);
  return n;
}

export interface TimeToSample {
  runs: number;
  count(run: number): number;
  delta(run: number): number;
}

export interface SampleToChunk {
  runs: number;
  firstChunk(run: number): number;
  perChunk(run: number): number;
}

/** stts: runs of samples that share a decode duration, read as they are asked for. */
export function timeToSample(stts: DataView | undefined): TimeToSample {
  return {
    runs: entries(stts, 4, 8, 'stts'),
    count: (run) => stts!.getUint32(8 + 8 * run),
    delta: (run) => stts!.getUint32(12 + 8 * run),
  };
}

/** stsc: runs of chunks that hold the same number of samples, by first chunk (counted from 1). */
export function sampleToChunk(stsc: DataView | undefined): SampleToChunk {
  return {
    runs: entries(stsc, 4, 12, 'stsc'),
    firstChunk: (run) => stsc!.getUint32(8 + 12 * run),
    perChunk: (run) => stsc!.getUint32(12 + 12 * run),
  };
}

/**
 * Sample sizes from stsz (a constant, or one u32 each) or stz2 (4, 8 or 16 bits each). A constant size claims
 * its count in 4 bytes, so the count is checked against the file's size before anything is allocated.
 */
export function readSizes(
  stsz: DataView | undefined,
  stz2: DataView | undefined,
  fileSize: number | null = null,
): Uint32Array {
  if (stsz) {
    if (stsz.byteLength < 12) throw damaged('stsz', 'is cut short');
    const constant = stsz.getUint32(4);
    const n = checkCount(constant ? stsz.getUint32(8) : entries(stsz, 8, 4, 'stsz'), 'stsz');
    if (constant && fileSize !== null && n * constant > fileSize) {
      throw damaged('stsz', `claims ${n} samples of ${constant} bytes, more than the whole file holds`);
    }
    const sizes = new Uint32Array(n);
    if (constant) sizes.fill(constant);
    else for (let i = 0; i < n; i++) sizes[i] = stsz.getUint32(12 + 4 * i);
    return sizes;
  }
  if (stz2) {
    if (stz2.byteLength < 12) throw damaged('stz2', 'is cut short');
    const bits = stz2.getUint8(7);
    if (bits !== 4 && bits !== 8 && bits !== 16) throw damaged('stz2', `has ${bits}-bit sizes`);
    const n = checkCount(entries(stz2, 8, bits / 8, 'stz2'), 'stz2');
    const sizes = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      if (bits === 16) sizes[i] = stz2.getUint16(12 + 2 * i);
      else if (bits === 8) sizes[i] = stz2.getUint8(12 + i);
      else sizes[i] = (stz2.getUint8(12 + (i >> 1)) >> (i % 2 ? 0 : 4)) & 0xf;
    }
    return sizes;
  }
  throw new FerryError('no_index', 'the file index has a track without sample sizes');
}

/** Each sample's file offset, from the chunk offsets (stco or co64) and the samples per chunk (stsc). */
export function readOffsets(
  sizes: Uint32Array,
  stsc: DataView | undefined,
  stco: DataView | undefined,
  co64: DataView | undefined,
): Float64Array {
  const n = sizes.length;
  const offsets = new Float64Array(n);
  const wide = !stco && Boolean(co64);
  const chunks = stco ?? co64;
  const chunkCount = entries(chunks, 4, wide ? 8 : 4, 'stco');
  const chunkOffset = (c: number): number =>
    wide ? chunks!.getUint32(8 + 8 * c) * 2 ** 32 + chunks!.getUint32(12 + 8 * c) : chunks!.getUint32(8 + 4 * c);
  const stscRuns = sampleToChunk(stsc);
  const runs = stscRuns.runs;
  let sample = 0;
  for (let run = 0; run < runs && sample < n; run++) {
    const firstChunk = stscRuns.firstChunk(run);
    const perChunk = stscRuns.perChunk(run);
    const lastChunk = run + 1 < runs ? stscRuns.firstChunk(run + 1) - 1 : chunkCount;
    for (let chunk = firstChunk; chunk <= lastChunk && chunk <= chunkCount && sample < n; chunk++) {
      let offset = chunkOffset(chunk - 1);
      for (let k = 0; k < perChunk && sample < n; k++) {
        offsets[sample] = offset;
        offset += sizes[sample]!;
        sample++;
      }
    }
  }
  if (sample < n) throw damaged('stsc', 'covers fewer samples than the track has');
  return offsets;
}

/** Decode-time runs from stts, kept as runs: first sample, its time, and the delta of each sample in the run. */
export function readTimeRuns(
  stts: DataView | undefined,
  n: number,
): { first: Uint32Array; time: Float64Array; delta: Uint32Array } {
  const table = timeToSample(stts);
  const runs = table.runs;
  const first = new Uint32Array(Math.max(1, runs));
  const time = new Float64Array(Math.max(1, runs));
  const delta = new Uint32Array(Math.max(1, runs));
  let sample = 0;
  let t = 0;
  for (let run = 0; run < runs; run++) {
    const count = table.count(run);
    const d = table.delta(run);
    first[run] = Math.min(sample, n);
    time[run] = t;
    delta[run] = d;
    sample += count;
    t += count * d;
  }
  return { first, time, delta };
}

/** Composition minus decode time, one per sample, from ctts; null when the track has none. */
export function readCompositionOffsets(
  ctts: DataView | undefined,
  n: number,
): { offsets: Int32Array | null; negative: boolean } {
  const runs = entries(ctts, 4, 8, 'ctts');
  if (runs === 0) return { offsets: null, negative: false };
  const offsets = new Int32Array(n);
  let negative = false;
  let sample = 0;
  for (let run = 0; run < runs; run++) {
    const count = ctts!.getUint32(8 + 8 * run);
    const offset = ctts!.getInt32(12 + 8 * run);
    if (offset < 0) negative = true;
    for (let k = 0; k < count && sample < n; k++) offsets[sample++] = offset;
  }
  return { offsets, negative };
}

/** 1 for each sync sample (stss lists them, counted from 1); without stss every sample is one. */
export function readSyncSamples(stss: DataView | undefined, n: number): Uint8Array {
  const sync = new Uint8Array(n).fill(stss ? 0 : 1);
  const count = entries(stss, 4, 4, 'stss');
  for (let k = 0; k < count; k++) {
    const number = stss!.getUint32(8 + 4 * k);
    if (number >= 1 && number <= n) sync[number - 1] = 1;
  }
  return sync;
}
