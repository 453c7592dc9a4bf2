/**
 * The way into this folder for the engine choice: a Matroska or WebM file's Presentation, when the MSE engine
 * should play it (large, or with audio tracks to choose from or subtitles of its own, which the browser's
 * own player offers no choice of) and can (every kind of track it holds has one this browser takes).
 */
import type { Chunk, Transfer } from '../../client/transfer.js';
import { FerryError } from '../../protocol/codes.js';
import type { BufferPool } from '../buffer-pool.js';
import type { RangeOpener } from '../media-loader.js';
import { MatroskaPresentation } from './matroska-presentation.js';
import { cuesInHead, readMatroskaHead } from './read-head.js';
import { codecsOf } from './track-codecs.js';
import type { TrackCodec } from '../formats/sniff.js';
import { codecMime } from '../codecs.js';
import { conversionFor } from '../convert/support.js';

export type MatroskaOpened = { file: MatroskaPresentation; lead: Chunk } | { native: TrackCodec[] | null };

export interface MatroskaStart {
  first: Transfer;
  chunk: Chunk;
  total: number | null;
  /** Whether the file is large enough that MSE plays it whatever it holds. */
  large: boolean;
  openAt: RangeOpener;
  pool: BufferPool;
  takes: (mime: string) => boolean;
  /** Codecs of sound the relay decodes for this page. */
  relayDecodes: readonly string[];
}

/**
 * The file, and the bytes of its first answer read past its head (from the first Cluster on); or, when the
 * browser's own player should play it, the codecs it is asked about (null: the head could not be read).
 */
export async function openMatroska(s: MatroskaStart): Promise<MatroskaOpened> {
  let read;
  try {
    read = await readMatroskaHead(s.first, s.chunk, s.total);
  } catch (err) {
    // A head this page cannot read may still play in the browser's own player; a transfer's failure may not.
    if (err instanceof FerryError && err.code === 'media_error') return { native: null };
    throw err;
  }
  const { head, bytes } = read;
  const kinds = new Set(head.tracks.map((t) => t.type));
  const audio = head.tracks.filter((t) => t.type === 'audio').length;
  const codecs = codecsOf(head.tracks);
  const native = (): MatroskaOpened => ({ native: codecs });
  const sounds = codecs.map((t) => ({ codec: t.codec, mime: codecMime(t) }));
  const converts = await conversionFor(sounds, s.takes, s.relayDecodes);
  const file = new MatroskaPresentation({ head, cues: cuesInHead(head, bytes) }, s.openAt, s.pool, s.takes, converts);
  // Sound converted in the page plays through MSE only.
  const converting = file.tracks.some((t) => t.conversion);
  if (!s.large && audio < 2 && !kinds.has('subtitle') && !converting) return native();
  const played = new Set(file.tracks.map((t) => t.kind));
  // A film whose sound MSE cannot play plays its picture (matroska-presentation.ts says so); one whose
  // picture it cannot play goes to the browser's own player, which may play its sound.
  if ((kinds.has('video') && !played.has('video')) || played.size === 0) return native();
  return { file, lead: { offset: head.firstCluster, data: bytes.subarray(head.firstCluster) } };
}
