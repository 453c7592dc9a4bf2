/**
 * Adds a WebVTT subtitle track (`wvtt`, ISO/IEC 14496-30) to an MP4 whose moov is its last box. Debian's
 * ffmpeg cannot write one ("codec not currently supported in container"), so the test media gets it here:
 * the cue samples go between the media's chunks, and the moov gets one more trak. Written to the standard's layout, not read back by the code under test.
 */
export interface WebVttCue {
  start: number;
  end: number;
  text: string;
  /** WebVTT settings, e.g. "line:10% align:start". */
  settings?: string;
}

const TIMESCALE = 1000;

/** A box of `type` around `parts`. */
export function box(type: string, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.byteLength);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
}

const fullBox = (type: string, flags: number, ...parts: Uint8Array[]): Buffer => box(type, u32(flags & 0xffffff), ...parts);

function u32(...values: number[]): Buffer {
  const out = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => out.writeUInt32BE(v, 4 * i));
  return out;
}

function u16(...values: number[]): Buffer {
  const out = Buffer.alloc(2 * values.length);
  values.forEach((v, i) => out.writeUInt16BE(v, 2 * i));
  return out;
}

/** The samples: one per stretch of time, a `vttc` for a cue, an empty `vtte` for the gaps between them. */
function samples(cues: WebVttCue[], duration: number): { data: Buffer; length: number }[] {
  const out: { data: Buffer; length: number }[] = [];
  let at = 0;
  for (const cue of cues) {
    const [start, end] = [Math.round(cue.start * TIMESCALE), Math.round(cue.end * TIMESCALE)];
    if (start > at) out.push({ data: box('vtte'), length: start - at });
    const settings = cue.settings ? [box('sttg', Buffer.from(cue.settings))] : [];
    out.push({ data: box('vttc', ...settings, box('payl', Buffer.from(cue.text))), length: end - start });
    at = end;
  }
  if (duration > at) out.push({ data: box('vtte'), length: duration - at });
  return out;
}

function trak(id: number, language: string, list: { data: Buffer; length: number }[], offsets: number[]): Buffer {
  const duration = list.reduce((n, s) => n + s.length, 0);
  const matrix = u32(0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000);
  const tkhd = fullBox('tkhd', 3, u32(0, 0, id, 0, duration, 0, 0), u16(0, 0, 0, 0), matrix, u32(0, 0));
  const packed = [...language].reduce((n, c) => (n << 5) | (c.charCodeAt(0) - 0x60), 0);
  const mdhd = fullBox('mdhd', 0, u32(0, 0, TIMESCALE, duration), u16(packed, 0));
  const hdlr = fullBox('hdlr', 0, u32(0), Buffer.from('text'), u32(0, 0, 0), Buffer.from('WebVTT\0'));
  const dinf = box('dinf', fullBox('dref', 0, u32(1), fullBox('url ', 1)));
  const entry = box('wvtt', Buffer.alloc(6), u16(1), box('vttC', Buffer.from('WEBVTT')));
  const stbl = box('stbl',
    fullBox('stsd', 0, u32(1), entry),
    fullBox('stts', 0, u32(list.length), ...list.map((s) => u32(1, s.length))),
    fullBox('stsc', 0, u32(1, 1, 1, 1)),
    fullBox('stsz', 0, u32(0, list.length), ...list.map((s) => u32(s.data.byteLength))),
    fullBox('stco', 0, u32(offsets.length, ...offsets)));
  return box('trak', tkhd, box('mdia', mdhd, hdlr, box('minf', fullBox('nmhd', 0), dinf, stbl)));
}

/**
 * `mp4` with a `wvtt` track of `cues` in `language` (ISO 639-2), as long as the movie. Each cue sample goes
 * into the mdat between media chunks, at the share of the mdat its time is of the movie's, as a muxer
 * interleaves them; every chunk offset after it moves by its size.
 */
export function withWebVtt(mp4: Buffer, cues: WebVttCue[], language: string): Buffer {
  const boxes = topLevel(mp4);
  const moovBox = boxes.find((b) => b.type === 'moov');
  const mdat = boxes.find((b) => b.type === 'mdat');
  if (!moovBox || !mdat || moovBox.at + moovBox.size !== mp4.byteLength) throw new Error('this helper wants one mdat and the moov last');
  const moov = Buffer.from(mp4.subarray(moovBox.at + 8, moovBox.at + moovBox.size));
  const mvhd = moov.indexOf('mvhd', 0, 'latin1') - 4;
  const v1 = moov[mvhd + 8] === 1;
  const scale = moov.readUInt32BE(mvhd + (v1 ? 28 : 20));
  const duration = (v1 ? Number(moov.readBigUInt64BE(mvhd + 32)) : moov.readUInt32BE(mvhd + 24)) / scale;
  const nextId = moov.readUInt32BE(mvhd + moov.readUInt32BE(mvhd) - 4);
  moov.writeUInt32BE(nextId + 1, mvhd + moov.readUInt32BE(mvhd) - 4);

  const chunks = chunkOffsetTables(moov);
  const starts = [...new Set(chunks.flatMap(({ at, count }) => Array.from({ length: count }, (_, i) => moov.readUInt32BE(at + 4 * i))))].sort((a, b) => a - b);
  const list = samples(cues, Math.round(duration * TIMESCALE));
  // Each sample's place: the first chunk at or after its share of the mdat.
  let time = 0;
  const placed = list.map((sample) => {
    const share = mdat.at + 8 + (time / (duration * TIMESCALE)) * (mdat.size - 8);
    time += sample.length;
    return { ...sample, before: starts.find((o) => o >= share) ?? mdat.at + mdat.size };
  });
  const shift = (offset: number): number => placed.reduce((n, s) => n + (s.before <= offset ? s.data.byteLength : 0), 0);
  for (const { at, count } of chunks) for (let i = 0; i < count; i++) moov.writeUInt32BE(moov.readUInt32BE(at + 4 * i) + shift(moov.readUInt32BE(at + 4 * i)), at + 4 * i);
  const parts: Buffer[] = [];
  const offsets: number[] = [];
  let from = mdat.at + 8;
  let written = mdat.at + 8;
  for (const s of placed) {
    parts.push(mp4.subarray(from, s.before));
    written += s.before - from;
    from = s.before;
    offsets.push(written);
    parts.push(s.data);
    written += s.data.byteLength;
  }
  parts.push(mp4.subarray(from, mdat.at + mdat.size));
  const body = Buffer.concat(parts);
  return Buffer.concat([mp4.subarray(0, mdat.at), box('mdat', body), mp4.subarray(mdat.at + mdat.size, moovBox.at), box('moov', moov, trak(nextId, language, list, offsets))]);
}

function topLevel(mp4: Buffer): { type: string; at: number; size: number }[] {
  const out: { type: string; at: number; size: number }[] = [];
  for (let at = 0; at < mp4.byteLength; ) {
    const size = mp4.readUInt32BE(at);
    if (size < 8 || at + size > mp4.byteLength) throw new Error('a box size this helper cannot walk (64-bit or damaged)');
    out.push({ type: mp4.toString('latin1', at + 4, at + 8), at, size });
    at += size;
  }
  return out;
}

/** Every stco's entries in the moov's body: where its first entry is and how many. */
function chunkOffsetTables(moov: Buffer): { at: number; count: number }[] {
  const out: { at: number; count: number }[] = [];
  const walk = (from: number, to: number): void => {
    for (let at = from; at + 8 <= to; ) {
      const size = moov.readUInt32BE(at);
      const type = moov.toString('latin1', at + 4, at + 8);
      if (type === 'co64') throw new Error('64-bit chunk offsets: not for this helper');
      if (type === 'stco') out.push({ at: at + 16, count: moov.readUInt32BE(at + 12) });
      if (['trak', 'mdia', 'minf', 'stbl'].includes(type)) walk(at + 8, at + size);
      at += size;
    }
  };
  walk(0, moov.byteLength);
  return out;
}
