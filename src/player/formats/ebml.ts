/**
 * Just enough of EBML (WebM, Matroska) to name a file's codecs from its head: the DocType, and each
 * TrackEntry's type, CodecID and, for H.264, the avcC in its CodecPrivate (the exact profile and level).
 * Reading stops at the first Cluster; a head that ends before the Tracks yields what it has.
 */
import { element, ID, text } from '../matroska/ebml.js';
import type { TrackCodec } from './sniff.js';

const CONTAINERS = new Set<number>([ID.segment, ID.tracks, ID.trackEntry]);

/** Matroska CodecIDs as the codec strings browsers are asked about. */
const CODECS: Record<string, string> = {
  V_VP8: 'vp8',
  V_VP9: 'vp09.00.10.08',
  V_AV1: 'av01.0.04M.08',
  'V_MPEG4/ISO/AVC': 'avc1.42E01E',
  'V_MPEGH/ISO/HEVC': 'hvc1.1.6.L93.B0',
  V_THEORA: 'theora',
  A_OPUS: 'opus',
  A_VORBIS: 'vorbis',
  A_AAC: 'mp4a.40.2',
  A_FLAC: 'flac',
  'A_MPEG/L3': 'mp3',
  A_AC3: 'ac-3',
  A_EAC3: 'ec-3',
  A_DTS: 'dtsc',
  A_ALAC: 'alac',
};

export interface EbmlInfo { docType: string; tracks: TrackCodec[] | null }

/** The DocType and track codecs of an EBML head, or null when it is not EBML. */
export function readEbml(b: Uint8Array): EbmlInfo | null {
  const header = element(b, 0);
  if (!header || header.id !== ID.ebml) return null;
  let docType = 'matroska';
  for (let pos = header.start; pos < Math.min(header.end, b.byteLength); ) {
    const e = element(b, pos);
    if (!e) break;
    if (e.id === ID.docType) docType = text(b.subarray(e.start, Math.min(e.end, b.byteLength)));
    pos = e.end;
  }
  const tracks: TrackCodec[] = [];
  let complete = false;
  const walk = (from: number, to: number, entry: { type?: number; codec?: string; avcc?: Uint8Array } | null): void => {
    for (let pos = from; pos < Math.min(to, b.byteLength); ) {
      const e = element(b, pos);
      if (!e || e.id === ID.cluster) return;
      if (CONTAINERS.has(e.id)) {
        const next = e.id === ID.trackEntry ? {} : entry;
        walk(e.start, e.end, next);
        if (e.id === ID.trackEntry && next) pushTrack(tracks, next);
        if (e.id === ID.tracks) complete = e.end <= b.byteLength;
      } else if (entry && e.end <= b.byteLength) {
        if (e.id === ID.trackType) entry.type = b[e.start];
        if (e.id === ID.codecId) entry.codec = text(b.subarray(e.start, e.end));
        if (e.id === ID.codecPrivate) entry.avcc = b.subarray(e.start, e.end);
      }
      if (!Number.isFinite(e.end)) return;
      pos = e.end;
    }
  };
  walk(header.end, b.byteLength, null);
  return { docType, tracks: complete ? tracks : null };
}

function pushTrack(tracks: TrackCodec[], entry: { type?: number; codec?: string; avcc?: Uint8Array }): void {
  // Track types: 1 video, 2 audio; subtitles and the rest play no part in whether the file plays.
  if (entry.type !== 1 && entry.type !== 2) return;
  const kind = entry.type === 1 ? 'video' : 'audio';
  let codec = CODECS[entry.codec ?? ''] ?? entry.codec ?? 'unknown';
  const avcc = entry.avcc;
  if (entry.codec === 'V_MPEG4/ISO/AVC' && avcc && avcc.byteLength >= 4) {
    codec = `avc1.${[avcc[1]!, avcc[2]!, avcc[3]!].map((x) => x.toString(16).padStart(2, '0')).join('').toUpperCase()}`;
  }
  tracks.push({ kind, codec });
}
