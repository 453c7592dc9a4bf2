/**
 * A Matroska or WebM file's head, everything before its first Cluster: the Segment, the SeekHead (where the
 * Cues are), the Info (timestamp scale, duration) and the Tracks. Elements that play no part (attachments such
 * as fonts, tags, chapters) are stepped over by their size, never read.
 */
import { FerryError } from '../../protocol/codes.js';
import { children, element, float, ID, text, uint, type Element } from './ebml.js';

export interface MatroskaTrack {
  number: number;
  type: 'video' | 'audio' | 'subtitle' | 'other';
  codecId: string;
  codecPrivate: Uint8Array | null;
  /** ISO 639-2 or BCP 47, or null when the file says none ("und"). */
  language: string | null;
  name: string | null;
  default: boolean;
  forced: boolean;
  /** Nanoseconds per frame, when the file says. */
  defaultDuration: number | null;
  width: number;
  height: number;
  sampleRate: number;
  channels: number;
  /** Bytes its muxer stripped from the start of every frame (header removal), put back when read. */
  stripped: Uint8Array | null;
  /** Compressed (zlib) or encrypted frames, which no browser reads. */
  sealed: boolean;
  /** The TrackEntry element as written, header included: a WebM init segment carries it as it is. */
  entry: Uint8Array;
}

export interface MatroskaHead {
  docType: string;
  /** File offsets: the Segment's data, its end (the file's end when its size is unknown), the first Cluster. */
  segmentStart: number;
  segmentEnd: number;
  firstCluster: number;
  /** Nanoseconds per timestamp tick. */
  timestampScale: number;
  /** Seconds, or null when the file does not say (a recording). */
  duration: number | null;
  tracks: MatroskaTrack[];
  /** File offset of the Cues, when the SeekHead names them. */
  cuesOffset: number | null;
  /** File offset of the Attachments (fonts for ASS subtitles), when the file has them. */
  attachmentsOffset: number | null;
}

/** Past this, a head is not one: a file whose first Cluster is further in cannot start. */
export const MAX_HEAD_BYTES = 16 * 1024 * 1024;

/** The head, from the file's first bytes; `{ need }` when more of them are needed (up to that offset). */
export function readHead(b: Uint8Array, total: number | null): MatroskaHead | { need: number } {
  const header = element(b, 0);
  if (!header || header.end > b.byteLength) return { need: Math.min(b.byteLength * 2, 4096) };
  const docType = docTypeOf(b, header);
  const segment = element(b, header.end);
  if (!segment) return { need: header.end + 12 };
  if (segment.id !== ID.segment) throw damaged('it has no Segment');
  const segmentEnd = Number.isFinite(segment.end) ? segment.end : (total ?? Infinity);
  const head: MatroskaHead = {
    docType,
    segmentStart: segment.start,
    segmentEnd,
    firstCluster: 0,
    timestampScale: 1e6,
    duration: null,
    tracks: [],
    cuesOffset: null,
    attachmentsOffset: null,
  };
  let seenTracks = false;
  for (let pos = segment.start; ;) {
    if (pos >= segmentEnd) throw damaged('it holds no media (no Cluster)');
    const e = element(b, pos);
    if (!e) return { need: pos + 12 };
    if (e.id === ID.cluster) {
      if (!seenTracks) throw damaged('its Tracks are missing');
      head.firstCluster = pos;
      return head;
    }
    const wanted = e.id === ID.seekHead || e.id === ID.info || e.id === ID.tracks;
    if (wanted && e.end > b.byteLength) return { need: e.end };
    if (!Number.isFinite(e.end)) throw damaged('an element of unknown size comes before its media');
    if (e.id === ID.seekHead) head.cuesOffset ??= seekPosition(b, e, ID.cues, segment.start);
    if (e.id === ID.seekHead) head.attachmentsOffset ??= seekPosition(b, e, ID.attachments, segment.start);
    if (e.id === ID.cues) head.cuesOffset = pos;
    if (e.id === ID.attachments) head.attachmentsOffset = pos;
    if (e.id === ID.info) readInfo(b, e, head);
    if (e.id === ID.tracks) {
      seenTracks = true;
      for (const t of children(b, e.start, e.end)) if (t.id === ID.trackEntry) head.tracks.push(readTrack(b, t));
    }
    pos = e.end;
  }
}

/**
 * The DocType of the EBML header the bytes start with ("webm", "matroska"), or null when they start with none.
 * A header that ends past the bytes says what it has.
 */
export function ebmlDocType(b: Uint8Array): string | null {
  const header = element(b, 0);
  return header?.id === ID.ebml ? docTypeOf(b, header) : null;
}

function docTypeOf(b: Uint8Array, header: Element): string {
  let docType = 'matroska';
  const end = Math.min(header.end, b.byteLength);
  for (const e of children(b, header.start, end)) if (e.id === ID.docType && e.end <= end) docType = text(b, e);
  return docType;
}

export function damaged(why: string): FerryError {
  return new FerryError('media_error', `this Matroska file is damaged: ${why}`);
}

/** Where the SeekHead puts the element of `wanted` id, as a file offset; null when it does not say. */
function seekPosition(b: Uint8Array, seekHead: Element, wanted: number, segmentStart: number): number | null {
  for (const seek of children(b, seekHead.start, seekHead.end)) {
    if (seek.id !== ID.seek) continue;
    let id = 0;
    let position: number | null = null;
    for (const f of children(b, seek.start, seek.end)) {
      if (f.id === ID.seekId) id = uint(b, f);
      if (f.id === ID.seekPosition) position = uint(b, f);
    }
    if (id === wanted && position !== null) return segmentStart + position;
  }
  return null;
}

function readInfo(b: Uint8Array, info: Element, head: MatroskaHead): void {
  for (const e of children(b, info.start, info.end)) {
    if (e.id === ID.timestampScale) head.timestampScale = uint(b, e) || 1e6;
    if (e.id === ID.duration) head.duration = float(b, e);
  }
  // Duration is in ticks of the scale.
  if (head.duration !== null) head.duration = (head.duration * head.timestampScale) / 1e9;
}

const TYPES: Record<number, MatroskaTrack['type']> = { 1: 'video', 2: 'audio', 17: 'subtitle' };

function readTrack(b: Uint8Array, entry: Element): MatroskaTrack {
  const t: MatroskaTrack = {
    number: 0,
    type: 'other',
    codecId: '',
    codecPrivate: null,
    language: 'eng',
    name: null,
    default: true,
    forced: false,
    defaultDuration: null,
    width: 0,
    height: 0,
    sampleRate: 8000,
    channels: 1,
    stripped: null,
    sealed: false,
    entry: b.subarray(entry.at, entry.end),
  };
  let bcp47: string | null = null;
  for (const e of children(b, entry.start, entry.end)) {
    if (e.id === ID.trackNumber) t.number = uint(b, e);
    else if (e.id === ID.trackType) t.type = TYPES[uint(b, e)] ?? 'other';
    else if (e.id === ID.codecId) t.codecId = text(b, e);
    else if (e.id === ID.codecPrivate) t.codecPrivate = b.slice(e.start, e.end);
    else if (e.id === ID.language) t.language = text(b, e);
    else if (e.id === ID.languageBcp47) bcp47 = text(b, e);
    else if (e.id === ID.name) t.name = text(b, e) || null;
    else if (e.id === ID.flagDefault) t.default = uint(b, e) === 1;
    else if (e.id === ID.flagForced) t.forced = uint(b, e) === 1;
    else if (e.id === ID.defaultDuration) t.defaultDuration = uint(b, e);
    else if (e.id === ID.video) readVideo(b, e, t);
    else if (e.id === ID.audio) readAudio(b, e, t);
    else if (e.id === ID.contentEncodings) readEncodings(b, e, t);
  }
  t.language = bcp47 ?? t.language;
  if (t.language === 'und') t.language = null;
  return t;
}

function readVideo(b: Uint8Array, video: Element, t: MatroskaTrack): void {
  for (const e of children(b, video.start, video.end)) {
    if (e.id === ID.pixelWidth) t.width = uint(b, e);
    if (e.id === ID.pixelHeight) t.height = uint(b, e);
  }
}

function readAudio(b: Uint8Array, audio: Element, t: MatroskaTrack): void {
  for (const e of children(b, audio.start, audio.end)) {
    if (e.id === ID.samplingFrequency) t.sampleRate = float(b, e);
    if (e.id === ID.channels) t.channels = uint(b, e);
  }
}

/** Header removal (algorithm 3) is undone as frames are read; anything else seals the track. */
function readEncodings(b: Uint8Array, encodings: Element, t: MatroskaTrack): void {
  for (const encoding of children(b, encodings.start, encodings.end)) {
    for (const e of children(b, encoding.start, encoding.end)) {
      if (e.id === ID.contentEncryption) t.sealed = true;
      if (e.id !== ID.contentCompression) continue;
      let algorithm = 0;
      let settings: Uint8Array | null = null;
      for (const c of children(b, e.start, e.end)) {
        if (c.id === ID.contentCompAlgo) algorithm = uint(b, c);
        if (c.id === ID.contentCompSettings) settings = b.slice(c.start, c.end);
      }
      if (algorithm === 3 && settings) t.stripped = settings;
      else t.sealed = true;
    }
  }
}
