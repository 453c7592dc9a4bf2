/**
 * MP4 box headers, read and written in one place, for both halves: the relay walks a file's top-level boxes
 * to find its moov, the player reads and writes boxes. A header is a 32-bit size and a four-letter type; size 1
 * means a 64-bit size follows, size 0 means "to the end of the file". Offsets are plain numbers, never
 * bitwise-combined, so sizes beyond 4 GiB are exact.
 */
import { FerryError } from '../protocol/codes.js';

export interface BoxHeader {
  type: string;
  /** Where the box starts in the file. */
  offset: number;
  /** Whole box size, header included; Infinity for size 0 ("to the end of the file") when the total is unknown. */
  size: number;
  headerSize: number;
}

/** Reads the box header at `pos` of `bytes` (which start at file offset `base`), or null if it is not all there. */
export function readBoxHeader(bytes: Uint8Array, pos: number, base: number, total: number | null): BoxHeader | null {
  if (pos + 8 > bytes.byteLength) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let size = view.getUint32(pos);
  const type = String.fromCharCode(bytes[pos + 4]!, bytes[pos + 5]!, bytes[pos + 6]!, bytes[pos + 7]!);
  let headerSize = 8;
  if (size === 1) {
    if (pos + 16 > bytes.byteLength) return null;
    size = view.getUint32(pos + 8) * 2 ** 32 + view.getUint32(pos + 12);
    headerSize = 16;
  } else if (size === 0) {
    size = total === null ? Infinity : total - (base + pos);
  }
  return { type, offset: base + pos, size, headerSize };
}

/** Writes an 8-byte box header at `at` of `view`; returns the position after it. */
export function writeBoxHeader(view: DataView, at: number, size: number, type: string): number {
  view.setUint32(at, size);
  for (let k = 0; k < 4; k++) view.setUint8(at + 4 + k, type.charCodeAt(k));
  return at + 8;
}

/**
 * The boxes laid end to end in `bytes` from `start` to `end`, each with its payload. A box that claims more
 * than is there ends the walk (a damaged one); `offset` is where each box starts in `bytes`.
 */
export function* boxesIn(
  bytes: Uint8Array,
  start = 0,
  end = bytes.byteLength,
): Generator<BoxHeader & { payload: Uint8Array }> {
  const within = bytes.subarray(0, end);
  for (let pos = start; pos + 8 <= end; ) {
    const box = readBoxHeader(within, pos, 0, end);
    if (!box || box.size < box.headerSize || pos + box.size > end) return;
    yield { ...box, payload: bytes.subarray(pos + box.headerSize, pos + box.size) };
    pos += box.size;
  }
}

/** The payload of the first box at `path` (box types, each inside the one before) under `within`, or null. */
export function findBox(within: Uint8Array, path: readonly string[]): Uint8Array | null {
  for (const box of boxesIn(within)) {
    if (box.type === path[0]) return path.length === 1 ? box.payload : findBox(box.payload, path.slice(1));
  }
  return null;
}

/** A new 8-byte box header. */
export function boxHeader(type: string, size: number): Uint8Array {
  const out = new Uint8Array(8);
  writeBoxHeader(new DataView(out.buffer), 0, size, type);
  return out;
}

/**
 * The box an MP4 starts with: one of these, else the bytes are no MP4. Older QuickTime movies have no ftyp
 * and open with padding (`free`, `skip`, `wide`) or their media (`mdat`).
 */
export function startsAnMp4(type: string): boolean {
  return ['ftyp', 'styp', 'moov', 'free', 'skip', 'wide', 'mdat'].includes(type);
}

/** A moov this large is refused by whoever reads it: far above any real file's index. */
export function moovTooLarge(size: number): FerryError {
  const megabytes = Math.round(size / 2 ** 20);
  return new FerryError('no_index', `the file index (moov box) is ${megabytes} MB, too large to stream`);
}

/** A file that ends inside, or before, its moov: `end` is where the box would end. */
export function indexLost(total: number, end: number): FerryError {
  const percent = Math.floor((100 * total) / end);
  return new FerryError('truncated', `the file ends early at ${percent}%, and its index (moov box) is lost`);
}

/** Box types seen at the top level of real MP4 and QuickTime files. */
export const TOP_LEVEL = new Set([
  'ftyp', 'styp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pdin', 'uuid', 'meta', 'sidx', 'moof', 'mfra', 'prft',
  'emsg', 'junk', 'pnot',
]);
