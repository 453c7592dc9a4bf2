/**
 * Reads one movie fragment (moof + mdat) of one track back into its samples: what the page's audio conversion
 * takes from the demuxers, which write each track's samples as such fragments whatever the file's container.
 * It reads any fragment of the spec's shape (tfhd defaults, trun fields present or not), not only Ferry's own.
 */
import { FerryError } from '../protocol/codes.js';
import { boxesIn, findBox } from './box.js';

export interface ReadSample {
  data: Uint8Array;
  /** Decode time, in the track's timescale. */
  dts: number;
  duration: number;
}

const damaged = (): FerryError => new FerryError('media_error', 'a piece of the audio could not be read back');

/** The samples of a fragment's first traf, their bytes viewed in `fragment` (not copied). */
export function readFragment(fragment: Uint8Array): ReadSample[] {
  const moof = [...boxesIn(fragment)].find((b) => b.type === 'moof');
  const traf = moof && findBox(moof.payload, ['traf']);
  const tfhd = traf && findBox(traf, ['tfhd']);
  const trun = traf && findBox(traf, ['trun']);
  if (!moof || !tfhd || !trun || tfhd.byteLength < 8 || trun.byteLength < 8) throw damaged();
  const defaults = readDefaults(tfhd);
  const tfdt = findBox(traf, ['tfdt']);
  let dts = tfdt ? readTime(tfdt) : 0;
  const view = new DataView(trun.buffer, trun.byteOffset, trun.byteLength);
  const flags = view.getUint32(0) & 0xffffff;
  const count = view.getUint32(4);
  let p = 8;
  const dataOffset = flags & 1 ? view.getInt32(p) : 0;
  if (flags & 1) p += 4;
  if (flags & 4) p += 4;
  const each = [0x100, 0x200, 0x400, 0x800].filter((bit) => flags & bit).length * 4;
  if (p + count * each > trun.byteLength) throw damaged();
  // Data offsets count from the moof's first byte (default-base-is-moof, or no base given: a fragment alone).
  let at = moof.offset + dataOffset;
  const samples: ReadSample[] = [];
  for (let k = 0; k < count; k++) {
    const duration = flags & 0x100 ? view.getUint32(p) : defaults.duration;
    const size = flags & 0x200 ? view.getUint32(p + (flags & 0x100 ? 4 : 0)) : defaults.size;
    p += each;
    if (at + size > fragment.byteLength) throw damaged();
    samples.push({ data: fragment.subarray(at, at + size), dts, duration });
    at += size;
    dts += duration;
  }
  return samples;
}

/** The tfhd's default sample duration and size. */
function readDefaults(tfhd: Uint8Array): { duration: number; size: number } {
  const view = new DataView(tfhd.buffer, tfhd.byteOffset, tfhd.byteLength);
  const flags = view.getUint32(0) & 0xffffff;
  let p = 8;
  const field = (bit: number, width: 4 | 8): number | null => {
    if (!(flags & bit)) return null;
    if (p + width > tfhd.byteLength) throw damaged();
    const value = width === 8 ? view.getUint32(p) * 2 ** 32 + view.getUint32(p + 4) : view.getUint32(p);
    p += width;
    return value;
  };
  field(1, 8);
  field(2, 4);
  const duration = field(8, 4) ?? 0;
  const size = field(0x10, 4) ?? 0;
  return { duration, size };
}

function readTime(tfdt: Uint8Array): number {
  const view = new DataView(tfdt.buffer, tfdt.byteOffset, tfdt.byteLength);
  if (view.getUint8(0) === 1) return tfdt.byteLength >= 12 ? view.getUint32(4) * 2 ** 32 + view.getUint32(8) : 0;
  return tfdt.byteLength >= 8 ? view.getUint32(4) : 0;
}
