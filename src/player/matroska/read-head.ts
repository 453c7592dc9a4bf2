/**
 * Reads a Matroska file's head and Cues over the relay: the head from the file's first answer (read on until
 * the first Cluster), the Cues by range from where the SeekHead puts them (usually the file's end).
 */
import type { Chunk, Transfer } from '../../client/transfer.js';
import { joinBytes } from '../../protocol/bytes.js';
import { FerryError } from '../../protocol/codes.js';
import type { RangeOpener } from '../media-loader.js';
import { cuesSize, MAX_CUES_BYTES, readCues, type CueIndex } from './cues.js';
import { MAX_HEAD_BYTES, readHead, type MatroskaHead } from './head.js';

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
  const transfer = openAt(offset, 256 * 1024);
  try {
    const parts: Uint8Array[] = [];
    let held = 0;
    let size: number | null = null;
    for (let c = await transfer.read(); c; c = await transfer.read()) {
      parts.push(c.data);
      held += c.data.byteLength;
      if (size === null && held >= 12) size = cuesSize(joinBytes(parts)) ?? -1;
      if (size === -1) break;
      if (size !== null && size > MAX_CUES_BYTES)
        throw new FerryError('no_index', 'the seek index (Cues) of this file is too large');
      if (size !== null && held >= size) break;
    }
    if (size === null || size < 0 || held < size)
      throw new FerryError('no_index', 'the seek index (Cues) of this file is damaged');
    return readCues(joinBytes(parts).subarray(0, size), segmentStart, track);
  } finally {
    transfer.cancel();
  }
}

/** The Cues, when the head's bytes hold them (a file written for streaming puts them before its Clusters). */
export function cuesInHead(head: MatroskaHead, bytes: Uint8Array): CueIndex | null {
  if (head.cuesOffset === null || head.cuesOffset >= head.firstCluster) return null;
  const video = head.tracks.find((t) => t.type === 'video') ?? head.tracks[0];
  return readCues(bytes.subarray(head.cuesOffset, head.firstCluster), head.segmentStart, video?.number ?? 0);
}
