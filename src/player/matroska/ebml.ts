/**
 * EBML, the binary form of Matroska and WebM: elements of an id and a size, each a variable-length integer.
 * One reader for the sniffer, the head, the Cues and the clusters.
 */

/** The element ids Ferry reads, by their Matroska names. */
export const ID = {
  ebml: 0x1a45dfa3,
  docType: 0x4282,
  segment: 0x18538067,
  seekHead: 0x114d9b74,
  seek: 0x4dbb,
  seekId: 0x53ab,
  seekPosition: 0x53ac,
  info: 0x1549a966,
  timestampScale: 0x2ad7b1,
  duration: 0x4489,
  tracks: 0x1654ae6b,
  trackEntry: 0xae,
  trackNumber: 0xd7,
  trackType: 0x83,
  flagDefault: 0x88,
  flagForced: 0x55aa,
  defaultDuration: 0x23e383,
  name: 0x536e,
  language: 0x22b59c,
  languageBcp47: 0x22b59d,
  codecId: 0x86,
  codecPrivate: 0x63a2,
  video: 0xe0,
  pixelWidth: 0xb0,
  pixelHeight: 0xba,
  audio: 0xe1,
  samplingFrequency: 0xb5,
  channels: 0x9f,
  contentEncodings: 0x6d80,
  contentEncoding: 0x6240,
  contentCompression: 0x5034,
  contentCompAlgo: 0x4254,
  contentCompSettings: 0x4255,
  contentEncryption: 0x5035,
  cues: 0x1c53bb6b,
  cuePoint: 0xbb,
  cueTime: 0xb3,
  cueTrackPositions: 0xb7,
  cueTrack: 0xf7,
  cueClusterPosition: 0xf1,
  cluster: 0x1f43b675,
  timestamp: 0xe7,
  simpleBlock: 0xa3,
  blockGroup: 0xa0,
  block: 0xa1,
  blockDuration: 0x9b,
  referenceBlock: 0xfb,
  tags: 0x1254c367,
  chapters: 0x1043a770,
  attachments: 0x1941a469,
  attachedFile: 0x61a7,
  fileName: 0x466e,
  fileMimeType: 0x4660,
  fileData: 0x465c,
  crc32: 0xbf,
} as const;

/** Elements directly under the Segment: one of these ends a Cluster of unknown size. */
export const SEGMENT_CHILDREN = new Set<number>([
  ID.seekHead,
  ID.info,
  ID.tracks,
  ID.cues,
  ID.cluster,
  ID.tags,
  ID.chapters,
  ID.attachments,
]);

export interface Element {
  id: number;
  /** Where its header starts. */
  at: number;
  /** Where its data starts, and ends (Infinity for an element of unknown size). */
  start: number;
  end: number;
}

/** A variable-length integer at `pos`: its value (marker kept for ids) and length, or null past the end. */
export function vint(b: Uint8Array, pos: number, keepMarker: boolean): { value: number; length: number } | null {
  const first = b[pos];
  if (first === undefined || first === 0) return null;
  const length = Math.clz32(first) - 23;
  if (pos + length > b.byteLength) return null;
  let value = keepMarker ? first : first & (0xff >> length);
  let unknown = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    value = value * 256 + b[pos + i]!;
    unknown &&= b[pos + i] === 0xff;
  }
  return { value: !keepMarker && unknown ? Infinity : value, length };
}

/** The element whose header is at `pos` (positions in `b`, plus `base`), or null when the header is cut. */
export function element(b: Uint8Array, pos: number, base = 0): Element | null {
  const id = vint(b, pos, true);
  const size = id && vint(b, pos + id.length, false);
  if (!id || !size) return null;
  const start = base + pos + id.length + size.length;
  return { id: id.value, at: base + pos, start, end: start + size.value };
}

/** Each child element of `b[from, to)`, whole ones only (a cut one ends the walk). */
export function* children(b: Uint8Array, from = 0, to = b.byteLength): Generator<Element> {
  for (let pos = from; pos < Math.min(to, b.byteLength);) {
    const e = element(b, pos);
    if (!e || e.end > Math.min(to, b.byteLength)) return;
    yield e;
    pos = e.end;
  }
}

export function uint(b: Uint8Array, e: Element): number {
  let value = 0;
  for (let i = e.start; i < e.end; i++) value = value * 256 + b[i]!;
  return value;
}

export function float(b: Uint8Array, e: Element): number {
  const v = new DataView(b.buffer, b.byteOffset + e.start, e.end - e.start);
  return e.end - e.start === 4 ? v.getFloat32(0) : e.end - e.start === 8 ? v.getFloat64(0) : 0;
}

/** An EBML string: its writer may pad it with NUL bytes (GStreamer ends a CodecID `V_VP8\0`). */
export function text(b: Uint8Array, e?: Element): string {
  const bytes = e ? b.subarray(e.start, e.end) : b;
  return new TextDecoder().decode(bytes).replace(/\0+$/, '');
}
