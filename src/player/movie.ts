/**
 * The moov as tracks: sample tables read straight into typed arrays (mp4/moov-split.ts), the rest parsed by
 * mp4box.js's box parser (its sample lists are never built) and written back by its box writers as one MSE
 * init segment per track.
 */
import { createFile, DataStream, ISOFile, Log, MP4BoxBuffer } from 'mp4box';
import { FerryError } from '../protocol/codes.js';
import { mp4CodecString, mp4TrackMime } from './codecs.js';
import { splitMoov, type TrakTables } from '../mp4/moov-split.js';
import { isTextFormat, type TextFormat } from '../mp4/text-samples.js';
import type { TrackCodec } from './formats/sniff.js';
import { SampleTable } from './sample-table.js';
import { inLanguage } from './languages.js';

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
  /** For a video track, what a WebCodecs decoder is configured with (its avcC or hvcC payload). */
  description: Uint8Array | null;
  /** For an audio track, its channels and rate as its sample entry gives them. */
  sound: Sound | null;
}

export interface Sound {
  channels: number;
  sampleRate: number;
}

/** A subtitle track: 3GPP timed text (`tx3g`, mov_text to ffmpeg) or WebVTT (`wvtt`); mp4/text-samples.ts reads both. */
export interface MovieText {
  id: number;
  format: TextFormat;
  /** Its language (ISO 639-2), or null when the file says none ("und"). */
  language: string | null;
  label: string;
  table: SampleTable;
}

/** An audio track of the file, played or not. */
export interface AudioChoice {
  id: number;
  /** ISO 639-2, or null when the file says none ("und"). */
  language: string | null;
  codec: string;
  mime: string;
  sound: Sound | null;
  /** The track, ready to play (its tables and init segment); null when it has no samples. */
  make(): MovieTrack | null;
}

export interface Movie {
  /** Seconds. */
  duration: number;
  tracks: MovieTrack[];
  /** Subtitle tracks, whose cues come with the media bytes they sit among. */
  texts: MovieText[];
  /** Every audio track, the one playing among them. */
  audioChoices: AudioChoice[];
  /** The samples are in moof/mdat fragments, not in the moov's tables. */
  fragmented: boolean;
  /** The codec of each track that plays, those without samples here (a fragmented file's) included. */
  codecs: TrackCodec[];
  /** Seconds at which playback starts: where every track has begun, after the edits. */
  start: number;
}

/**
 * The moov's tracks; a damaged moov is a FerryError in words, never a parser's exception. `fileSize` bounds
 * every count read from the tables; `complete` is false for a moov's head, whose tables end early.
 */
export function parseMovie(ftyp: Uint8Array, moov: Uint8Array, fileSize: number | null, complete = true): Movie {
  try {
    return readMovie(ftyp, moov, fileSize, complete);
  } catch (err) {
    if (err instanceof FerryError) throw err;
    throw new FerryError('no_index', 'the file index (moov box) is damaged, so the file cannot be played');
  }
}

function readMovie(ftyp: Uint8Array, moov: Uint8Array, fileSize: number | null, complete: boolean): Movie {
  const { skeleton, traks: tables } = splitMoov(moov);
  const bytes = new Uint8Array(ftyp.byteLength + skeleton.byteLength);
  bytes.set(ftyp, 0);
  bytes.set(skeleton, ftyp.byteLength);
  const file = createFile();
  if (file.checkBuffer(MP4BoxBuffer.fromArrayBuffer(bytes.buffer, 0))) file.parse();
  const parsed = file.moov;
  if (!parsed || !file.ftyp) throw new FerryError('no_index', 'the file index (moov box) could not be parsed');
  const movieScale = parsed.mvhd.timescale;
  if (!(movieScale > 0)) throw new FerryError('no_index', 'the file index is damaged (its timescale is 0)');
  const duration = parsed.mvhd.duration / movieScale;
  // Init segments carry no duration; the MediaSource is given it instead.
  parsed.mvhd.duration = 0;
  const all = mediaTraks(parsed.traks);
  const played = playedTraks(all);
  const codecs = played.map(({ kind, codec }) => ({ kind, codec, mime: mp4TrackMime(kind, codec) }));
  const texts = textTraks(parsed.traks, tables, fileSize, movieScale, complete);
  // Read before any init segment is written: writing one drops its trak's edit list.
  const shifts = new Map(all.map((c) => [c, editShift(c.trak, movieScale)]));
  const make = (candidate: Candidate): MovieTrack | null => {
    const { trak, index, kind, codec } = candidate;
    const timescale = trak.mdia.mdhd.timescale;
    if (!(timescale > 0)) throw new FerryError('no_index', `the file index is damaged (track ${trak.tkhd.track_id} has a timescale of 0)`);
    const table = new SampleTable(tables[index] ?? {}, timescale, fileSize, shifts.get(candidate));
    table.complete = complete;
    if (table.count === 0) return null;
    const mime = `${kind}/mp4; codecs="${codec}"`;
    const description = decoderDescription(trak);
    const init = initSegment(file, trak);
    return { id: trak.tkhd.track_id, kind, codec, mime, table, init, description, sound: soundOf(trak) };
  };
  const tracks = played.map(make).filter((t): t is MovieTrack => t !== null);
  const { start, preroll } = alignStarts(tracks, texts);
  const audioChoices = all.filter((c) => c.kind === 'audio').map((c) => audioChoice(c, () => {
    const track = make(c);
    if (track) track.table.shift += preroll;
    return track;
  }));
  return { duration, tracks, texts, audioChoices, fragmented: Boolean(parsed.mvex), codecs, start };
}

/** One of the file's audio tracks, as the page's menu lists it; `make` reads it for playing. */
function audioChoice({ trak, codec }: Candidate, make: () => MovieTrack | null): AudioChoice {
  const mime = `audio/mp4; codecs="${codec}"`;
  return { id: trak.tkhd.track_id, language: trakLanguage(trak), codec, mime, sound: soundOf(trak), make };
}

/** Full-bandwidth channels of each AC-3 audio coding mode (acmod), the LFE apart. */
const ACMOD_CHANNELS = [2, 1, 2, 3, 3, 4, 4, 5];

interface AudioEntry {
  type?: string;
  channel_count?: number;
  samplerate?: number;
  dac3?: { acmod: number; lfeon: number };
  dec3?: { ind_subs: { acmod: number; lfeon: number }[] };
  /** An entry the MP4 reader does not know (TrueHD's mlpa): its bytes after the data reference index. */
  data?: Uint8Array;
}

/** Channels of each bit of a TrueHD channel assignment, lowest first (as libavcodec's mlp_parse.c counts). */
const TRUEHD_GROUP_CHANNELS = [2, 1, 1, 2, 2, 2, 2, 1, 1, 2, 2, 1, 1];

/**
 * TrueHD's rate (a 32-bit field where other entries have 16.16) and channels, from its dmlp's format info:
 * the 8-channel presentation's assignment (13 bits), else the 6-channel one's (5 bits).
 */
function trueHdSound(data: Uint8Array): Sound | null {
  if (data.length < 32 || String.fromCharCode(...data.subarray(24, 28)) !== 'dmlp') return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const info = view.getUint32(28);
  const count = (bits: number): number => TRUEHD_GROUP_CHANNELS.reduce((n, c, i) => n + ((bits >> i) & 1) * c, 0);
  const channels = count(info & 0x1fff) || count((info >> 15) & 0x1f) || 2;
  return { channels, sampleRate: view.getUint32(16) };
}

/** An audio trak's channels and rate, from its sample entry (AC-3's from its dac3: the entry says 2 for 5.1). */
function soundOf(trak: TrakBox): Sound | null {
  const entry = trak.mdia.minf.stbl.stsd.entries[0] as AudioEntry | undefined;
  if (trak.mdia.hdlr.handler !== 'soun') return null;
  if (entry?.type === 'mlpa' && entry.data) return trueHdSound(entry.data);
  if (!entry?.samplerate) return null;
  const dolby = entry.dac3 ?? entry.dec3?.ind_subs[0];
  const channels = dolby ? (ACMOD_CHANNELS[dolby.acmod] ?? 2) + dolby.lfeon : (entry.channel_count ?? 2);
  return { channels, sampleRate: entry.samplerate };
}

/** A trak's language (ISO 639-2, from its mdhd), or null when the file says none ("und"). */
function trakLanguage(trak: TrakBox): string | null {
  const code = (trak.mdia.mdhd as { languageString?: string }).languageString;
  return code && code !== 'und' ? code : null;
}

interface Candidate { trak: TrakBox; index: number; kind: 'video' | 'audio'; codec: string; enabled: boolean }

/** The video and audio traks (subtitles and timecode are not media the buffers take). */
function mediaTraks(traks: TrakBox[]): Candidate[] {
  const all: Candidate[] = [];
  for (const [index, trak] of traks.entries()) {
    const handler = trak.mdia.hdlr.handler;
    if (handler !== 'vide' && handler !== 'soun') continue;
    const entry = trak.mdia.minf.stbl.stsd.entries[0] as { getCodec?: () => string } | undefined;
    const codec = mp4CodecString(entry?.getCodec?.() ?? 'unknown');
    all.push({ trak, index, kind: handler === 'vide' ? 'video' : 'audio', codec, enabled: (trak.tkhd.flags & 1) === 1 });
  }
  return all;
}

/**
 * The tracks that play first: one video and one audio, each the first flagged enabled in its tkhd, else the
 * first in the browser's language, else the first of its kind. The other audio tracks (a second language, a commentary) are in the audio menu.
 */
function playedTraks(all: Candidate[]): Candidate[] {
  const pick = (kind: Candidate['kind']): Candidate[] => {
    const of = all.filter((c) => c.kind === kind);
    const chosen = of.find((c) => c.enabled) ?? inLanguage(of, (c) => trakLanguage(c.trak)) ?? of[0];
    return chosen ? [chosen] : [];
  };
  return [...pick('video'), ...pick('audio')].sort((a, b) => a.index - b.index);
}

/**
 * Where playback starts, with every time kept at or above 0 (MSE drops what is presented before 0, and with
 * it the video up to the next keyframe). An edit that skips a lead-in (a file cut without re-encoding)
 * leaves the skipped media before the start, still there to decode from. Video that starts after the sound
 * (an empty edit) shows its first frame from the start, as players do.
 */
function alignStarts(tracks: MovieTrack[], texts: MovieText[]): { start: number; preroll: number } {
  const earliest = Math.min(...tracks.map((t) => t.table.start));
  // An encoder's priming (tens of milliseconds of audio) is trimmed by the browser; a lead-in is not.
  const preroll = earliest < -0.1 ? -earliest : 0;
  for (const t of [...tracks, ...texts]) t.table.shift += preroll;
  for (const t of tracks) if (t.kind === 'video') t.table.startAt(Math.max(preroll, earliest + preroll));
  return { start: Math.max(preroll, ...tracks.map((t) => t.table.start)), preroll };
}

/** The subtitle tracks, with their tables (cut short too when they come from a moov's head). */
function textTraks(traks: TrakBox[], tables: TrakTables[], fileSize: number | null, movieScale: number, complete: boolean): MovieText[] {
  const texts: MovieText[] = [];
  for (const [index, trak] of traks.entries()) {
    const entry = trak.mdia.minf.stbl.stsd.entries[0] as { type?: string } | undefined;
    const timescale = trak.mdia.mdhd.timescale;
    const format = entry?.type;
    if (!isTextFormat(format) || !(timescale > 0)) continue;
    const table = new SampleTable(tables[index] ?? {}, timescale, fileSize, editShift(trak, movieScale));
    table.complete = complete;
    const language = trakLanguage(trak);
    if (table.count > 0) texts.push({ id: trak.tkhd.track_id, format, language, label: language ?? `Subtitles ${texts.length + 1}`, table });
  }
  return texts;
}

/**
 * Where the edit list puts a track's media, in seconds added to its media times: empty edits first delay
 * it, and the first real edit's media_time skips its start (an encoder's priming, a cut lead-in). Edits
 * after the first real one (rare outside editing tools) are not followed.
 */
function editShift(trak: TrakBox, movieScale: number): number {
  let delay = 0;
  for (const e of trak.edts?.elst?.entries ?? []) {
    if (e.media_time === -1) delay += e.segment_duration / movieScale;
    else return delay - e.media_time / trak.mdia.mdhd.timescale;
  }
  return delay;
}

/** A video track's avcC or hvcC payload, which a WebCodecs decoder is configured with; null for others. */
function decoderDescription(trak: TrakBox): Uint8Array | null {
  const entry = trak.mdia.minf.stbl.stsd.entries[0] as { avcC?: { write(s: DataStream): void }; hvcC?: { write(s: DataStream): void } } | undefined;
  const box = entry?.avcC ?? entry?.hvcC;
  if (!box) return null;
  // Big-endian, the default.
  const stream = new DataStream();
  box.write(stream);
  // After the box's own 8-byte header.
  return new Uint8Array(stream.buffer.slice(8, stream.getPosition()));
}

/** An init segment for one track: its trak (whose tables came emptied from the skeleton), under an mvex. */
function initSegment(file: ISOFile, trak: TrakBox): ArrayBuffer {
  // The edits are applied by the player (timestampOffset), not left to each browser's reading of them.
  trak.boxes = (trak.boxes ?? []).filter((b) => b.type !== 'edts');
  trak.edts = undefined as unknown as TrakBox['edts'];
  trak.tkhd.duration = 0;
  trak.mdia.mdhd.duration = 0;
  const moov = new (file.moov!.constructor as new () => MoovBox)();
  moov.addBox(file.moov!.mvhd);
  moov.addBox(trak);
  // The id set asks mp4box to move an AAC esds out of a QuickTime wave box, which MSE cannot read.
  return ISOFile.writeInitializationSegment(file.ftyp!, moov, 0, new Set([trak.tkhd.track_id]));
}
