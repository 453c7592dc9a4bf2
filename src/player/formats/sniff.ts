/**
 * What a file is, from its first bytes, never from its name or the server's word: MP4 boxes, EBML (WebM,
 * Matroska), an ID3 tag or MPEG audio frames (MP3), an ADTS header (AAC), RIFF/WAVE, OggS, fLaC, or markup
 * (most often a web page served in place of a video). Where the head names the codecs, they are read too.
 */
import { readBoxHeader, startsAnMp4, TOP_LEVEL, type BoxHeader } from '../../mp4/box.js';
import { ebmlDocType, readHead } from '../matroska/head.js';
import { codecsOf } from '../matroska/track-codecs.js';

export interface TrackCodec {
  kind: 'audio' | 'video';
  codec: string;
  /** The type to ask a browser about, when the container is known (an MP4's track); else codecs.ts chooses. */
  mime?: string;
}

export type Sniffed =
  | { container: 'mp4'; boxes: BoxHeader[]; fragmented: boolean }
  | { container: 'webm' | 'matroska' | 'mp3' | 'aac' | 'wav' | 'ogg' | 'flac'; mime: string; tracks: TrackCodec[] | null }
  | { container: 'html' }
  /** An MPEG transport stream, which no browser plays from a file. */
  | { container: 'mpegts' }
  | { container: 'unknown' };

const ascii = (b: Uint8Array, at: number, n: number): string => String.fromCharCode(...b.subarray(at, at + n));

export function sniff(head: Uint8Array, total: number | null): Sniffed {
  // Markup of any kind (HTML, an XML error document) starts with '<' after optional white space.
  if (new TextDecoder().decode(head.subarray(0, 64)).trimStart().startsWith('<')) return { container: 'html' };
  const mp4 = sniffMp4(head, total);
  if (mp4) return mp4;
  const docType = ebmlDocType(head);
  if (docType) {
    const webm = docType === 'webm';
    const tracks = ebmlTracks(head, total);
    const video = !tracks || tracks.some((t) => t.kind === 'video');
    const mime = `${video ? 'video' : 'audio'}/${webm ? 'webm' : 'x-matroska'}`;
    return { container: webm ? 'webm' : 'matroska', mime, tracks };
  }
  return sniffAudio(head) ?? (isTransportStream(head) ? { container: 'mpegts' } : { container: 'unknown' });
}

/** The codecs of a Matroska or WebM file whose head (up to its first Cluster) the bytes hold; else null. */
function ebmlTracks(bytes: Uint8Array, total: number | null): TrackCodec[] | null {
  try {
    const head = readHead(bytes, total);
    return 'need' in head ? null : codecsOf(head.tracks);
  } catch {
    // A damaged head: the browser's own player is left to say what it makes of the file.
    return null;
  }
}

/** An MPEG-TS sync byte (0x47) at the start of each of the first packets of 188 bytes. */
function isTransportStream(b: Uint8Array): boolean {
  const packets = Math.min(5, Math.floor(b.byteLength / 188));
  if (packets < 2) return false;
  for (let k = 0; k < packets; k++) if (b[188 * k] !== 0x47) return false;
  return true;
}

/** Top-level boxes of a sane size, the first an ftyp, styp or moov; fragmented when moofs or an mvex show. */
function sniffMp4(head: Uint8Array, total: number | null): Sniffed | null {
  const boxes: BoxHeader[] = [];
  for (let pos = 0; ; ) {
    const box = readBoxHeader(head, pos, 0, total);
    if (!box || !TOP_LEVEL.has(box.type) || box.size < box.headerSize) break;
    boxes.push(box);
    if (!Number.isFinite(box.size)) break;
    pos += box.size;
  }
  if (!boxes.length || !startsAnMp4(boxes[0]!.type)) return null;
  const moov = boxes.find((b) => b.type === 'moov');
  const fragmented = boxes.some((b) => b.type === 'moof' || b.type === 'sidx' || b.type === 'styp') || (moov !== undefined && hasChild(head, moov, 'mvex'));
  return { container: 'mp4', boxes, fragmented };
}

function hasChild(head: Uint8Array, parent: BoxHeader, type: string): boolean {
  const end = Math.min(parent.offset + parent.size, head.byteLength);
  for (let pos = parent.offset + parent.headerSize; pos + 8 <= end; ) {
    const box = readBoxHeader(head.subarray(0, end), pos, 0, end);
    if (!box || box.size < box.headerSize) return false;
    if (box.type === type) return true;
    pos += box.size;
  }
  return false;
}

function sniffAudio(b: Uint8Array): Sniffed | null {
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WAVE') return { container: 'wav', mime: 'audio/wav', tracks: [{ kind: 'audio', codec: String(wavFormat(b)) }] };
  if (ascii(b, 0, 4) === 'fLaC') return { container: 'flac', mime: 'audio/flac', tracks: [{ kind: 'audio', codec: 'flac' }] };
  if (ascii(b, 0, 4) === 'OggS') return { container: 'ogg', ...oggCodec(b) };
  // An ID3v2 tag comes before the frames of most MP3s.
  let at = 0;
  if (ascii(b, 0, 3) === 'ID3' && b.byteLength >= 10) at = 10 + (((b[6]! & 0x7f) << 21) | ((b[7]! & 0x7f) << 14) | ((b[8]! & 0x7f) << 7) | (b[9]! & 0x7f));
  if (at + 1 < b.byteLength && b[at] === 0xff && (b[at + 1]! & 0xe0) === 0xe0) {
    const layer = (b[at + 1]! >> 1) & 3;
    if (layer === 0) return { container: 'aac', mime: 'audio/aac', tracks: [{ kind: 'audio', codec: 'mp4a.40.2' }] };
    return { container: 'mp3', mime: 'audio/mpeg', tracks: [{ kind: 'audio', codec: 'mp3' }] };
  }
  if (at > 0) return { container: 'mp3', mime: 'audio/mpeg', tracks: [{ kind: 'audio', codec: 'mp3' }] };
  return null;
}

/** The format tag of a WAVE file's fmt chunk (1 PCM, 3 float, 0xFFFE extensible), 1 if none is found. */
function wavFormat(b: Uint8Array): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let pos = 12; pos + 10 <= b.byteLength; pos += 8 + v.getUint32(pos + 4, true) + (v.getUint32(pos + 4, true) % 2)) {
    if (ascii(b, pos, 4) === 'fmt ') return v.getUint16(pos + 8, true);
  }
  return 1;
}

/** The codec an Ogg stream's first packet names, or null. */
function oggStream(packet: string): TrackCodec | null {
  if (packet.startsWith('OpusHead')) return { kind: 'audio', codec: 'opus' };
  if (packet.startsWith('\x01vorbis')) return { kind: 'audio', codec: 'vorbis' };
  if (packet.startsWith('\x7fFLAC')) return { kind: 'audio', codec: 'flac' };
  if (packet.startsWith('\x80theora')) return { kind: 'video', codec: 'theora' };
  return null;
}

/**
 * The codecs of an Ogg file's logical streams, from their first pages (each begins a stream, flag 0x02, and
 * they all come before any other page); null when one is of a codec not known here.
 */
function oggCodec(b: Uint8Array): { mime: string; tracks: TrackCodec[] | null } {
  const tracks: TrackCodec[] = [];
  let known = true;
  for (let at = 0; at + 27 <= b.byteLength && ascii(b, at, 4) === 'OggS' && (b[at + 5]! & 0x02) !== 0; ) {
    const segments = b[at + 26]!;
    let size = 0;
    for (let k = 0; k < segments; k++) size += b[at + 27 + k] ?? 0;
    const stream = oggStream(ascii(b, at + 27 + segments, 8));
    if (stream) tracks.push(stream);
    else known = false;
    at += 27 + segments + size;
  }
  const video = tracks.some((t) => t.kind === 'video');
  return { mime: video ? 'video/ogg' : 'audio/ogg', tracks: known && tracks.length > 0 ? tracks : null };
}
