/**
 * The moov, parsed by mp4box.js's box parser (its sample lists are never built), turned into compact sample
 * tables and one MSE init segment per track, written by mp4box.js's box writers.
 */
import { createFile, ISOFile, Log, MP4BoxBuffer } from 'mp4box';
import { FerryError } from '../protocol/codes.js';
import { SampleTable, type StblBoxes } from './sample-table.js';

Log.setLogLevel(Log.error);

type MoovBox = NonNullable<ISOFile['moov']>;
type TrakBox = MoovBox['traks'][number];

export interface MovieTrack {
  id: number;
  kind: 'video' | 'audio';
  codec: string;
  /** MIME type with codecs, for isTypeSupported and addSourceBuffer. */
  mime: string;
  table: SampleTable;
  init: ArrayBuffer;
}

export interface Movie {
  /** Seconds. */
  duration: number;
  tracks: MovieTrack[];
  /** Tracks that are neither audio nor video (subtitles, timecode), ignored. */
  ignored: number;
}

export function parseMovie(ftyp: Uint8Array, moov: Uint8Array): Movie {
  const bytes = new Uint8Array(ftyp.byteLength + moov.byteLength);
  bytes.set(ftyp, 0);
  bytes.set(moov, ftyp.byteLength);
  const file = createFile();
  if (file.checkBuffer(MP4BoxBuffer.fromArrayBuffer(bytes.buffer, 0))) file.parse();
  const parsed = file.moov;
  if (!parsed || !file.ftyp) throw new FerryError('no_index', 'the file index (moov box) could not be parsed');
  const duration = parsed.mvhd.duration / parsed.mvhd.timescale;
  // Init segments carry no duration; the MediaSource is given it instead.
  parsed.mvhd.duration = 0;
  const tracks: MovieTrack[] = [];
  let ignored = 0;
  for (const trak of parsed.traks) {
    const handler = trak.mdia.hdlr.handler;
    if (handler !== 'vide' && handler !== 'soun') {
      ignored++;
      continue;
    }
    const stbl = trak.mdia.minf.stbl as unknown as StblBoxes & { stsd: { entries: { getCodec(): string }[] } };
    const kind = handler === 'vide' ? 'video' : 'audio';
    const codec = stbl.stsd.entries[0]?.getCodec() ?? 'unknown';
    const table = new SampleTable(stbl, trak.mdia.mdhd.timescale);
    if (table.count === 0) {
      ignored++;
      continue;
    }
    tracks.push({ id: trak.tkhd.track_id, kind, codec, mime: `${kind}/mp4; codecs="${codec}"`, table, init: initSegment(file, trak) });
  }
  return { duration, tracks, ignored };
}

/** An init segment for one track: its trak with emptied sample tables, under an mvex. */
function initSegment(file: ISOFile, trak: TrakBox): ArrayBuffer {
  const stbl = trak.mdia.minf.stbl;
  trak.tkhd.duration = 0;
  trak.mdia.mdhd.duration = 0;
  const chunks = stbl.stco ?? stbl.co64;
  if (chunks) chunks.chunk_offsets = [];
  stbl.stsc.first_chunk = [];
  stbl.stsc.samples_per_chunk = [];
  stbl.stsc.sample_description_index = [];
  if (stbl.stsz) stbl.stsz.sample_sizes = [];
  stbl.stts.sample_counts = [];
  stbl.stts.sample_deltas = [];
  if (stbl.ctts) {
    stbl.ctts.sample_counts = [];
    stbl.ctts.sample_offsets = [];
  }
  stbl.boxes = (stbl.boxes ?? []).filter((b: { type: string }) => b.type !== 'stss');
  const moov = new (file.moov!.constructor as new () => MoovBox)();
  moov.addBox(file.moov!.mvhd);
  moov.addBox(trak);
  // The id set asks mp4box to move an AAC esds out of a QuickTime wave box, which MSE cannot read.
  return ISOFile.writeInitializationSegment(file.ftyp!, moov, 0, new Set([trak.tkhd.track_id]));
}
