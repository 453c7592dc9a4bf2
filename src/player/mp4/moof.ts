/**
 * Writes one movie fragment (moof + mdat) of one track: mfhd, traf with tfhd (default-base-is-moof), tfdt
 * (64-bit decode time) and a trun with duration, size, flags and composition offset per sample. The samples
 * come from an MP4's sample table (their bytes copied from the file by the caller), or are held in memory
 * (a Matroska file's frames).
 */
import type { SampleTable } from '../sample-table.js';
import { writeBoxHeader } from '../../mp4/box.js';

const SYNC_FLAGS = 0x02000000;
const NON_SYNC_FLAGS = 0x01010000;

export interface FragmentSamples {
  sequence: number;
  trackId: number;
  table: SampleTable;
  first: number;
  /** One past the last sample. */
  end: number;
}

/** A sample already in memory (a Matroska frame), times in its track's timescale. */
export interface HeldSample {
  data: Uint8Array;
  dts: number;
  duration: number;
  /** Composition offset: presentation time less decode time. */
  cto: number;
  sync: boolean;
}

interface SampleFields { duration: number; size: number; sync: boolean; cto: number }

/** Bytes the fragment takes: what `writeFragment` needs `out` to hold. */
export function fragmentSize(s: FragmentSamples): number {
  let payload = 0;
  for (let i = s.first; i < s.end; i++) payload += s.table.sizes[i]!;
  return moofSize(s.end - s.first) + 8 + payload;
}

const trafSize = (n: number): number => 8 + 16 + 20 + 20 + 16 * n;
const moofSize = (n: number): number => 8 + 16 + trafSize(n);

/**
 * Writes the fragment into `out` (exactly `fragmentSize` bytes); `copy(offset, size, at)` puts a sample's
 * bytes, found at `offset` in the file, at `at` of `out`.
 */
export function writeFragment(out: Uint8Array, s: FragmentSamples, copy: (offset: number, size: number, at: number) => void): void {
  const t = s.table;
  const n = s.end - s.first;
  const fields = (k: number): SampleFields => {
    const i = s.first + k;
    return { duration: t.duration(i), size: t.sizes[i]!, sync: t.sync[i] !== 0, cto: t.ctsOffset(i) };
  };
  const head = { sequence: s.sequence, trackId: s.trackId, base: t.dts(s.first), signed: t.hasNegativeCts };
  let p = writeMoof(out, head, n, fields);
  for (let i = s.first; i < s.end; i++) {
    copy(t.offsets[i]!, t.sizes[i]!, p);
    p += t.sizes[i]!;
  }
}

/** One fragment of samples held in memory, written into a buffer from `take`. */
export function writeHeldFragment(
  take: (size: number) => Uint8Array<ArrayBuffer>,
  sequence: number,
  trackId: number,
  samples: HeldSample[],
): Uint8Array<ArrayBuffer> {
  const payload = samples.reduce((sum, s) => sum + s.data.byteLength, 0);
  const out = take(moofSize(samples.length) + 8 + payload);
  const fields = (k: number): SampleFields => ({ ...samples[k]!, size: samples[k]!.data.byteLength });
  const head = { sequence, trackId, base: samples[0]!.dts, signed: samples.some((s) => s.cto < 0) };
  let p = writeMoof(out, head, samples.length, fields);
  for (const s of samples) {
    out.set(s.data, p);
    p += s.data.byteLength;
  }
  return out;
}

/** The moof and the mdat's header into `out`; returns where the samples' bytes go. */
interface MoofHead { sequence: number; trackId: number; base: number; signed: boolean }

function writeMoof(out: Uint8Array, f: MoofHead, n: number, sample: (k: number) => SampleFields): number {
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let p = writeBoxHeader(v, 0, moofSize(n), 'moof');
  p = writeBoxHeader(v, p, 16, 'mfhd');
  v.setUint32(p, 0);
  v.setUint32(p + 4, f.sequence);
  p = writeBoxHeader(v, p + 8, trafSize(n), 'traf');
  p = writeBoxHeader(v, p, 16, 'tfhd');
  v.setUint32(p, 0x020000); // default-base-is-moof
  v.setUint32(p + 4, f.trackId);
  p = writeBoxHeader(v, p + 8, 20, 'tfdt');
  v.setUint32(p, 0x01000000); // version 1: 64-bit decode time
  v.setUint32(p + 4, Math.floor(f.base / 2 ** 32));
  v.setUint32(p + 8, f.base % 2 ** 32);
  p = writeBoxHeader(v, p + 12, 20 + 16 * n, 'trun');
  // duration, size, flags and composition offset per sample; version 1 when offsets are signed.
  v.setUint32(p, (f.signed ? 1 : 0) * 2 ** 24 + 0x000f01);
  v.setUint32(p + 4, n);
  v.setInt32(p + 8, moofSize(n) + 8);
  p += 12;
  for (let k = 0; k < n; k++) {
    const s = sample(k);
    v.setUint32(p, s.duration);
    v.setUint32(p + 4, s.size);
    v.setUint32(p + 8, s.sync ? SYNC_FLAGS : NON_SYNC_FLAGS);
    v.setInt32(p + 12, s.cto);
    p += 16;
  }
  return writeBoxHeader(v, p, out.byteLength - p, 'mdat');
}
