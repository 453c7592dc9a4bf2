/**
 * What each Matroska track becomes for MSE: the codec string browsers are asked about and the form its
 * SourceBuffer takes. Codecs MSE takes in WebM (VP8, VP9, AV1, Opus, Vorbis) pass through as WebM; H.264,
 * HEVC, AAC, MP3 and FLAC are remuxed into fragmented MP4, their configuration written as MP4 boxes.
 */
import { audioEntry, box, fields, initSegment, visualEntry } from '../../mp4/init-segment.js';
import type { TrackCodec } from '../formats/sniff.js';
import type { MatroskaTrack } from './head.js';
import { webmInit } from './webm-writer.js';
import type { AudioConversion } from '../convert/conversion.js';

export interface TrackForm {
  codec: string;
  mime: string;
  /** Remuxed into MP4, passed through as WebM, or (MP3) its frames as they are, in an audio/mpeg SourceBuffer. */
  form: 'mp4' | 'webm' | 'mpeg';
  /** The SourceBuffer's init segment; null when Ferry cannot remux this codec (AC-3, DTS...). */
  init: ArrayBuffer | null;
  /** For audio of fixed frame length in MP4: its timescale (the sample rate) and samples per frame. */
  clock?: { timescale: number; frame: number };
  /** Sound converted in the page: its fragments are of the file's codec, its SourceBuffer's of Opus. */
  conversion?: AudioConversion;
}

const hex = (n: number): string => n.toString(16).padStart(2, '0').toUpperCase();

/** Codec strings of codecs that are named but not remuxed: listed in menus, refused by the browser's answer. */
const NAMED: Record<string, string> = {
  A_AC3: 'ac-3',
  A_EAC3: 'ec-3',
  A_DTS: 'dtsc',
  A_TRUEHD: 'mlpa',
  A_ALAC: 'alac',
  V_THEORA: 'theora',
  'A_PCM/INT/LIT': '1',
  V_MPEG2: 'mp2v',
  'V_MS/VFW/FOURCC': 'vfw',
};

/**
 * The file's picture and sound tracks as the browser's own player is asked about them, by the codec strings
 * MSE would be asked about (the codecs are the same; codecs.ts picks the container to ask in).
 */
export function codecsOf(tracks: readonly MatroskaTrack[]): TrackCodec[] {
  return tracks
    .filter((t) => t.type === 'video' || t.type === 'audio')
    .map((t) => ({
      kind: t.type === 'video' ? 'video' : 'audio',
      codec: t.sealed ? t.codecId : (webmCodec(t) ?? mp4Sample(t).codec),
    }));
}

/** `takes` says which types MSE takes here (MP3 has three ways in: mp3Form). */
export function trackForm(t: MatroskaTrack, timestampScale: number, takes: (mime: string) => boolean): TrackForm {
  const kind = t.type === 'video' ? 'video' : 'audio';
  if (t.sealed) return { codec: t.codecId, mime: `${kind}/x-sealed`, form: 'mp4', init: null };
  const mp3 = t.codecId === 'A_MPEG/L3' ? mp3Form(takes) : null;
  if (mp3 === 'mpeg') {
    // No init segment: the frames carry their own headers; the SourceBuffer times them from its offset.
    return { codec: 'mp3', mime: 'audio/mpeg', form: 'mpeg', init: new ArrayBuffer(0) };
  }
  const passed = webmCodec(t);
  if (passed) {
    const init = webmInit(t.entry, timestampScale);
    return { codec: passed, mime: `${kind}/webm; codecs="${passed}"`, form: 'webm', init };
  }
  const { codec: named, entry, frame } = mp4Sample(t);
  const codec = mp3 ?? named;
  const clock = frame && t.sampleRate >= 8000 ? { timescale: Math.round(t.sampleRate), frame } : undefined;
  const timescale = clock?.timescale ?? 1e9 / timestampScale;
  const init =
    entry && initSegment({ id: t.number, kind, timescale, sampleEntry: entry, width: t.width, height: t.height });
  return { codec, mime: `${kind}/mp4; codecs="${codec}"`, form: 'mp4', init, ...(clock && { clock }) };
}

/**
 * How MP3 goes to MSE here: in MP4 by the codec string MSE takes it under ("mp4a.6B", or Firefox's "mp3"),
 * else as its plain frames in an audio/mpeg SourceBuffer (Chromium takes MP3 in no MP4).
 */
function mp3Form(takes: (mime: string) => boolean): string {
  return ['mp4a.6B', 'mp3'].find((codec) => takes(`audio/mp4; codecs="${codec}"`)) ?? 'mpeg';
}

/** The codec string of a track passed through as WebM, or null for one that is not. */
function webmCodec(t: MatroskaTrack): string | null {
  const cp = t.codecPrivate;
  if (t.codecId === 'V_AV1') return cp && cp.byteLength >= 4 ? av1Codec(cp) : 'av01.0.04M.08';
  return (
    ({ V_VP8: 'vp8', V_VP9: 'vp9', A_OPUS: 'opus', A_VORBIS: 'vorbis' } as Record<string, string>)[t.codecId] ?? null
  );
}

/**
 * A track remuxed into MP4: its codec string, its sample entry (null when it is not remuxed), and for audio
 * of fixed frame length its samples per frame.
 */
function mp4Sample(t: MatroskaTrack): { codec: string; entry: Uint8Array | null; frame?: number } {
  const cp = t.codecPrivate;
  if (t.codecId === 'V_MPEG4/ISO/AVC') {
    if (!cp || cp.byteLength < 7) return { codec: 'avc1', entry: null };
    const codec = `avc1.${hex(cp[1]!)}${hex(cp[2]!)}${hex(cp[3]!)}`;
    return { codec, entry: visualEntry('avc1', t.width, t.height, box('avcC', cp)) };
  }
  if (t.codecId === 'V_MPEGH/ISO/HEVC') {
    if (!cp || cp.byteLength < 23) return { codec: 'hvc1', entry: null };
    return { codec: hevcCodec(cp), entry: visualEntry('hvc1', t.width, t.height, box('hvcC', cp)) };
  }
  const audio = (type: string, ...config: Uint8Array[]): Uint8Array =>
    audioEntry(type, t.channels, t.sampleRate, ...config);
  if (t.codecId === 'A_MPEG/L3')
    return { codec: 'mp4a.6B', entry: audio('mp4a', esds(0x6b, null)), frame: t.sampleRate >= 32000 ? 1152 : 576 };
  if (t.codecId === 'A_FLAC') return { codec: 'flac', entry: cp ? audio('fLaC', dfLa(cp)) : null };
  if (t.codecId.startsWith('A_AAC')) {
    const config = cp && cp.byteLength >= 2 ? cp : aacConfig(t);
    // 1024 samples a frame at the core rate: twice as many at the track's when SBR doubles it (HE-AAC).
    const core = AAC_RATES[((config[0]! & 7) << 1) | (config[1]! >> 7)] ?? t.sampleRate;
    const frame = 1024 * Math.max(1, Math.round(t.sampleRate / core));
    return { codec: `mp4a.40.${config[0]! >> 3 || 2}`, entry: audio('mp4a', esds(0x40, config)), frame };
  }
  return { codec: NAMED[t.codecId] ?? t.codecId, entry: null };
}

/** AAC's sampling frequencies, by the index an AudioSpecificConfig gives. */
const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** An AudioSpecificConfig for the old AAC CodecIDs that carry none (A_AAC/MPEG4/LC...): AAC-LC at the track's rate. */
function aacConfig(t: MatroskaTrack): Uint8Array {
  const index = Math.max(0, AAC_RATES.indexOf(Math.round(t.sampleRate)));
  return Uint8Array.of((2 << 3) | (index >> 1), ((index & 1) << 7) | (t.channels << 3));
}

/** An esds box: an MPEG-4 ES descriptor of the object type (0x40 AAC, 0x6B MP3) and its configuration. */
function esds(objectType: number, config: Uint8Array | null): Uint8Array {
  const descriptor = (tag: number, ...parts: Uint8Array[]): Uint8Array => {
    const size = parts.reduce((s, p) => s + p.byteLength, 0);
    return Uint8Array.of(tag, 0x80, 0x80, 0x80, size, ...parts.flatMap((p) => [...p]));
  };
  const specific = config ? [descriptor(5, config)] : [];
  const decoder = descriptor(4, fields([1, objectType], [1, 0x15], [3, 0], [4, 0], [4, 0]), ...specific);
  return box('esds', fields([4, 0]), descriptor(3, fields([2, 0], [1, 0]), decoder, descriptor(6, Uint8Array.of(2))));
}

/** A dfLa box: FLAC's metadata blocks as CodecPrivate holds them after "fLaC", the last one flagged so. */
function dfLa(cp: Uint8Array): Uint8Array {
  const blocks = cp.slice(cp[0] === 0x66 ? 4 : 0);
  for (let at = 0; at + 4 <= blocks.byteLength;) {
    const next = at + 4 + ((blocks[at + 1]! << 16) | (blocks[at + 2]! << 8) | blocks[at + 3]!);
    if (next >= blocks.byteLength) blocks[at] = blocks[at]! | 0x80;
    at = next;
  }
  return box('dfLa', fields([4, 0]), blocks);
}

/** av01.P.LLT.DD from an av1C. */
function av1Codec(c: Uint8Array): string {
  const profile = c[1]! >> 5;
  const level = c[1]! & 0x1f;
  const tier = c[2]! >> 7 ? 'H' : 'M';
  const depth = (c[2]! >> 6) & 1 ? ((c[2]! >> 5) & 1 ? 12 : 10) : 8;
  return `av01.${profile}.${String(level).padStart(2, '0')}${tier}.${String(depth).padStart(2, '0')}`;
}

/** hvc1.A.B.TL.C from an hvcC (ISO/IEC 14496-15, annex E). */
function hevcCodec(c: Uint8Array): string {
  const space = ['', 'A', 'B', 'C'][c[1]! >> 6]!;
  const profile = c[1]! & 0x1f;
  let flags = 0;
  for (let k = 0; k < 4; k++) flags = (flags << 8) | c[2 + k]!;
  let reversed = 0;
  for (let k = 0; k < 32; k++) reversed = (reversed << 1) | ((flags >>> k) & 1);
  const tier = (c[1]! >> 5) & 1 ? 'H' : 'L';
  const constraints = [...c.subarray(6, 12)];
  while (constraints.length && constraints[constraints.length - 1] === 0) constraints.pop();
  const tail = constraints.map((b) => b.toString(16).toUpperCase()).join('.');
  const compatibility = (reversed >>> 0).toString(16).toUpperCase();
  return `hvc1.${space}${profile}.${compatibility}.${tier}${c[12]!}${tail ? `.${tail}` : ''}`;
}
