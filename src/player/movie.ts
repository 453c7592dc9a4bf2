/**
 * The moov as tracks: sample tables read straight into typed arrays (mp4/moov-tables.ts), the rest parsed by
 * mp4box.js's box parser (its sample lists are never built) and written back by its box writers as one MSE
 * init segment per track.
 */
import { createFile, ISOFile, Log, MP4BoxBuffer } from 'mp4box';
import { FerryError } from '../protocol/codes.js';
import { splitMoov } from './mp4/moov-tables.js';
import { SampleTable } from './sample-table.js';

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
  const { skeleton, traks: tables } = splitMoov(moov);
  const bytes = new Uint8Array(ftyp.byteLength + skeleton.byteLength);
  bytes.set(ftyp, 0);
  bytes.set(skeleton, ftyp.byteLength);
  const file = createFile();
  if (file.checkBuffer(MP4BoxBuffer.fromArrayBuffer(bytes.buffer, 0))) file.parse();
  const parsed = file.moov;
  if (!parsed || !file.ftyp) throw new FerryError('no_index', 'the file index (moov box) could not be parsed');
  const duration = parsed.mvhd.duration / parsed.mvhd.timescale;
  // Init segments carry no duration; the MediaSource is given it instead.
  parsed.mvhd.duration = 0;
  const tracks: MovieTrack[] = [];
  let ignored = 0;
  for (const [index, trak] of parsed.traks.entries()) {
    const handler = trak.mdia.hdlr.handler;
    if (handler !== 'vide' && handler !== 'soun') {
      ignored++;
      continue;
    }
    const kind = handler === 'vide' ? 'video' : 'audio';
    const codec = (trak.mdia.minf.stbl.stsd.entries[0] as { getCodec?: () => string } | undefined)?.getCodec?.() ?? 'unknown';
    const table = new SampleTable(tables[index] ?? {}, trak.mdia.mdhd.timescale);
    if (table.count === 0) {
      ignored++;
      continue;
    }
    tracks.push({ id: trak.tkhd.track_id, kind, codec, mime: `${kind}/mp4; codecs="${codec}"`, table, init: initSegment(file, trak) });
  }
  return { duration, tracks, ignored };
}

/** An init segment for one track: its trak (whose tables came emptied from the skeleton), under an mvex. */
function initSegment(file: ISOFile, trak: TrakBox): ArrayBuffer {
  trak.tkhd.duration = 0;
  trak.mdia.mdhd.duration = 0;
  const moov = new (file.moov!.constructor as new () => MoovBox)();
  moov.addBox(file.moov!.mvhd);
  moov.addBox(trak);
  // The id set asks mp4box to move an AAC esds out of a QuickTime wave box, which MSE cannot read.
  return ISOFile.writeInitializationSegment(file.ftyp!, moov, 0, new Set([trak.tkhd.track_id]));
}
