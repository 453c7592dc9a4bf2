/**
 * Writes one movie fragment (moof + mdat) for samples [first, end) of one track: mfhd, traf with tfhd
 * (default-base-is-moof), tfdt (64-bit decode time) and a trun with duration, size, flags and composition
 * offset per sample. The sample bytes are copied in by the caller-supplied `copy`.
 */
import type { SampleTable } from '../sample-table.js';
import { writeBoxHeader } from '../../protocol/mp4-box.js';

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
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let p = writeBoxHeader(v, 0, moofSize(n), 'moof');
  p = writeBoxHeader(v, p, 16, 'mfhd');
  v.setUint32(p, 0);
  v.setUint32(p + 4, s.sequence);
  p = writeBoxHeader(v, p + 8, trafSize(n), 'traf');
  p = writeBoxHeader(v, p, 16, 'tfhd');
  v.setUint32(p, 0x020000); // default-base-is-moof
  v.setUint32(p + 4, s.trackId);
  p = writeBoxHeader(v, p + 8, 20, 'tfdt');
  v.setUint32(p, 0x01000000); // version 1: 64-bit decode time
  const base = t.dts(s.first);
  v.setUint32(p + 4, Math.floor(base / 2 ** 32));
  v.setUint32(p + 8, base % 2 ** 32);
  p = writeBoxHeader(v, p + 12, 20 + 16 * n, 'trun');
  // duration, size, flags and composition offset per sample; version 1 when offsets are signed.
  v.setUint32(p, (t.hasNegativeCts ? 1 : 0) * 2 ** 24 + 0x000f01);
  v.setUint32(p + 4, n);
  v.setInt32(p + 8, moofSize(n) + 8);
  p += 12;
  for (let i = s.first; i < s.end; i++) {
    v.setUint32(p, t.duration(i));
    v.setUint32(p + 4, t.sizes[i]!);
    v.setUint32(p + 8, t.sync[i] ? SYNC_FLAGS : NON_SYNC_FLAGS);
    v.setInt32(p + 12, t.ctsOffset(i));
    p += 16;
  }
  p = writeBoxHeader(v, p, out.byteLength - p, 'mdat');
  for (let i = s.first; i < s.end; i++) {
    copy(t.offsets[i]!, t.sizes[i]!, p);
    p += t.sizes[i]!;
  }
}
