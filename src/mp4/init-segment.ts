/**
 * Writes an MSE init segment (ftyp + moov with one trak under an mvex) for a track whose sample entry is
 * made elsewhere: a Matroska track remuxed into fragmented MP4. Tables are empty; the fragments carry it all.
 */

/** A box: its size and type, then its payload. */
export function box(type: string, ...parts: Uint8Array[]): Uint8Array {
  const size = 8 + parts.reduce((s, p) => s + p.byteLength, 0);
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, size);
  for (let k = 0; k < 4; k++) out[4 + k] = type.charCodeAt(k);
  let at = 8;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Big-endian fields of the given byte widths, as one array. */
export function fields(...pairs: [number, number][]): Uint8Array {
  const out = new Uint8Array(pairs.reduce((s, [width]) => s + width, 0));
  const v = new DataView(out.buffer);
  let at = 0;
  for (const [width, value] of pairs) {
    if (width === 1) v.setUint8(at, value);
    else if (width === 2) v.setUint16(at, value);
    else if (width === 4) v.setUint32(at, value >>> 0);
    else if (width === 8) {
      v.setUint32(at, Math.floor(value / 2 ** 32));
      v.setUint32(at + 4, value % 2 ** 32);
    } else if (value !== 0) throw new Error(`a field of ${width} bytes is written as zeros only`);
    at += width;
  }
  return out;
}

const MATRIX: [number, number][] = [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000].map((x) => [4, x]);

export interface InitTrack {
  id: number;
  kind: 'video' | 'audio';
  timescale: number;
  /** The stsd's one entry, a whole box (avc1, mp4a, fLaC...). */
  sampleEntry: Uint8Array;
  width: number;
  height: number;
}

export function initSegment(t: InitTrack): ArrayBuffer {
  const ftyp = box('ftyp', ascii('isom'), fields([4, 0x200]), ascii('isomiso6mp41'));
  const mvhd = box(
    'mvhd',
    fields([4, 0], [4, 0], [4, 0], [4, 1000], [4, 0], [4, 0x00010000], [2, 0x0100], [10, 0]),
    fields(...MATRIX),
    fields([24, 0], [4, t.id + 1]),
  );
  const video = t.kind === 'video';
  const tkhd = box(
    'tkhd',
    fields([4, 3], [4, 0], [4, 0], [4, t.id], [4, 0], [4, 0], [8, 0], [2, 0], [2, 0], [2, video ? 0 : 0x0100], [2, 0]),
    fields(...MATRIX),
    fields([4, t.width * 65536], [4, t.height * 65536]),
  );
  const mdhd = box('mdhd', fields([4, 0], [4, 0], [4, 0], [4, t.timescale], [4, 0], [2, 0x55c4], [2, 0]));
  const hdlr = box(
    'hdlr',
    fields([4, 0], [4, 0]),
    ascii(video ? 'vide' : 'soun'),
    fields([12, 0]),
    ascii(video ? 'VideoHandler\0' : 'SoundHandler\0'),
  );
  const header = video ? box('vmhd', fields([4, 1], [8, 0])) : box('smhd', fields([4, 0], [4, 0]));
  const dinf = box('dinf', box('dref', fields([4, 0], [4, 1]), box('url ', fields([4, 1]))));
  const empty = fields([4, 0], [4, 0]);
  const stbl = box(
    'stbl',
    box('stsd', fields([4, 0], [4, 1]), t.sampleEntry),
    box('stts', empty),
    box('stsc', empty),
    box('stsz', empty, fields([4, 0])),
    box('stco', empty),
  );
  const trak = box('trak', tkhd, box('mdia', mdhd, hdlr, box('minf', header, dinf, stbl)));
  const mvex = box('mvex', box('trex', fields([4, 0], [4, t.id], [4, 1], [4, 0], [4, 0], [4, 0])));
  const moov = box('moov', mvhd, trak, mvex);
  const out = new Uint8Array(ftyp.byteLength + moov.byteLength);
  out.set(ftyp);
  out.set(moov, ftyp.byteLength);
  return out.buffer;
}

export function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** A visual sample entry (avc1, hvc1...) of `width` × `height`, with its configuration boxes. */
export function visualEntry(type: string, width: number, height: number, ...config: Uint8Array[]): Uint8Array {
  const head = fields(
    [6, 0],
    [2, 1],
    [2, 0],
    [2, 0],
    [12, 0],
    [2, width],
    [2, height],
    [4, 0x00480000],
    [4, 0x00480000],
    [4, 0],
    [2, 1],
  );
  return box(type, head, new Uint8Array(32), fields([2, 0x18], [2, 0xffff]), ...config);
}

/** An audio sample entry (mp4a, fLaC...) with its configuration boxes. */
export function audioEntry(type: string, channels: number, sampleRate: number, ...config: Uint8Array[]): Uint8Array {
  const rate = sampleRate < 65536 ? Math.round(sampleRate) * 65536 : 0;
  return box(type, fields([6, 0], [2, 1], [8, 0], [2, channels], [2, 16], [2, 0], [2, 0], [4, rate]), ...config);
}
