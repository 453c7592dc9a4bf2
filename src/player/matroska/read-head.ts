/**
 * Reads a Matroska file's head and Cues over the relay: the head from the file's first answer (read on until
 * the first Cluster), the Cues by range from where the SeekHead puts them (usually the file's end), and the
 * fonts it attaches by range, when an ASS track is shown.
 */
import type { Chunk, Transfer } from '../../client/transfer.js';
import { joinBytes } from '../../protocol/bytes.js';
import { FerryError } from '../../protocol/codes.js';
import type { RangeOpener } from '../media-loader.js';
import { MAX_CUES_BYTES, readCues, type CueIndex } from './cues.js';
import { children, element, ID, text } from './ebml.js';
import { MAX_HEAD_BYTES, readHead, type MatroskaHead } from './head.js';

/** Attachments larger than this are not read: a film's fonts are a few MB, rarely tens. */
const MAX_ATTACHMENTS_BYTES = 48 * 1024 * 1024;

/** The head, read from `first` (whose first chunk is `chunk`); the transfer is left where the reading stopped. */
export async function readMatroskaHead(
  first: Transfer,
  chunk: Chunk,
  total: number | null,
): Promise<{ head: MatroskaHead; bytes: Uint8Array }> {
  let bytes = chunk.data;
  for (;;) {
    const read = readHead(bytes, total);
    if (!('need' in read)) return { head: read, bytes };
    if (read.need > MAX_HEAD_BYTES) {
      throw new FerryError(
        'unsupported_codec',
        'this Matroska file keeps its media too far in (its head is over 16 MB)',
      );
    }
    const parts = [bytes];
    for (let held = bytes.byteLength; held < read.need;) {
      const next = await first.read();
      if (!next) throw new FerryError('truncated', 'the file ends within its head');
      parts.push(next.data);
      held += next.data.byteLength;
    }
    bytes = joinBytes(parts);
  }
}

/** The Cues at `offset` (their bytes alone), for the seeks of `track`; rejects with a FerryError. */
export async function readMatroskaCues(
  openAt: RangeOpener,
  offset: number,
  segmentStart: number,
  track: number,
): Promise<CueIndex> {
  const cues = await readElement(openAt, offset, ID.cues, MAX_CUES_BYTES, 'the seek index (Cues)');
  return readCues(cues, segmentStart, track);
}

/**
 * The fonts a file attaches (for its ASS subtitles), from its Attachments at `offset`: files whose type or
 * name says font; rejects with a FerryError.
 */
export async function readAttachedFonts(openAt: RangeOpener, offset: number): Promise<Uint8Array[]> {
  const b = await readElement(openAt, offset, ID.attachments, MAX_ATTACHMENTS_BYTES, 'the attached fonts');
  const attachments = element(b, 0)!;
  const fonts: Uint8Array[] = [];
  for (const file of children(b, attachments.start, attachments.end)) {
    if (file.id !== ID.attachedFile) continue;
    let [name, type, data] = ['', '', null as Uint8Array | null];
    for (const f of children(b, file.start, file.end)) {
      if (f.id === ID.fileName) name = text(b, f).toLowerCase();
      if (f.id === ID.fileMimeType) type = text(b, f).toLowerCase();
      if (f.id === ID.fileData) data = b.subarray(f.start, f.end);
    }
    if (data && (/font|opentype|truetype|sfnt/.test(type) || /\.(ttf|otf|ttc|woff2?)$/.test(name))) fonts.push(data);
  }
  return fonts;
}

/**
 * The element of `id` at `offset`, whole, read by range (at most `max` bytes); rejects with a FerryError
 * naming `what` when another element is there, it is larger, or the file ends within it.
 */
async function readElement(
  openAt: RangeOpener,
  offset: number,
  id: number,
  max: number,
  what: string,
): Promise<Uint8Array> {
  const transfer = openAt(offset, 256 * 1024);
  try {
    const parts: Uint8Array[] = [];
    let held = 0;
    let size: number | null = null;
    for (let c = await transfer.read(); c; c = await transfer.read()) {
      parts.push(c.data);
      held += c.data.byteLength;
      if (size === null && held >= 12) size = elementSize(joinBytes(parts), id) ?? -1;
      if (size === -1) break;
      if (size !== null && size > max) throw new FerryError('no_index', `${what} of this file is too large`);
      if (size !== null && held >= size) break;
    }
    if (size === null || size < 0 || held < size) throw new FerryError('no_index', `${what} of this file is damaged`);
    return joinBytes(parts).subarray(0, size);
  } finally {
    transfer.cancel();
  }
}

/** The whole size of the element of `id` the bytes begin with, or null when another (or none) is there. */
function elementSize(b: Uint8Array, id: number): number | null {
  const e = element(b, 0);
  return e && e.id === id && Number.isFinite(e.end) ? e.end : null;
}

/** The Cues, when the head's bytes hold them (a file written for streaming puts them before its Clusters). */
export function cuesInHead(head: MatroskaHead, bytes: Uint8Array): CueIndex | null {
  if (head.cuesOffset === null || head.cuesOffset >= head.firstCluster) return null;
  const video = head.tracks.find((t) => t.type === 'video') ?? head.tracks[0];
  return readCues(bytes.subarray(head.cuesOffset, head.firstCluster), head.segmentStart, video?.number ?? 0);
}
