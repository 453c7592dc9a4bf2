/**
 * Which engine plays a file, by what its first bytes say it is: a progressive MP4 from the MSE threshold up
 * (and one that ends early) through Media Source Extensions, with bounded memory; everything else the browser
 * plays with its own demuxers, through the relay (the native engine). Codecs are checked on every path, with
 * the real codec string, and a refusal says which codec.
 */
import type { Connection } from '../client/connection.js';
import { FerryError } from '../protocol/codes.js';
import type { Chunk, Transfer, TransferMeta } from '../client/transfer.js';
import { codecRefusal, partialNotice } from './codecs.js';
import type { Engine } from './engine.js';
import { sniff, type Sniffed, type TrackCodec } from './formats/sniff.js';
import { AttachedMediaSource, hasMediaSource, sourceBufferTakes } from './media-source.js';
import type { IndexParts } from './moov-index.js';
import { parseMovie, type Movie } from './movie.js';
import { MseEngine, type BufferGoals, type MseSource, type RangeOpener } from './mse-engine.js';
import { Mp4Presentation, type WholeMovie } from './mp4/mp4-presentation.js';
import { openMatroska } from './matroska/open.js';
import { BufferPool } from './buffer-pool.js';
import type { Presentation } from './container.js';
import { NativeEngine } from './native-engine.js';
import { playableAudio } from './playable-audio.js';
import { conversionFor, relayDecoding, type Converts } from './convert/support.js';

export interface ChoiceContext {
  video: HTMLVideoElement;
  connection: Connection;
  url: string;
  meta: TransferMeta;
  first: Transfer;
  /** A MediaSource the player attached early, for the MSE engine to take; closed if another engine plays. */
  attached: AttachedMediaSource | null;
  /** What the first transfer brought: the file's first bytes, or (from an index stream) its ftyp and moov. */
  start: { kind: 'bytes'; chunk: Chunk } | ({ kind: 'index'; prefetch: Transfer } & IndexParts);
  options: { mseThreshold: number; goals: BufferGoals; window: number; probeWindow: number; mediaBase: string };
  fail: (err: FerryError) => void;
  notice: (text: string) => void;
}

/**
 * Opens the file of `meta` from an offset, pinned to the version of that first answer, with a credit window
 * sized to the link as measured, up to `maxWindow`.
 */
export function rangeOpener(connection: Connection, meta: TransferMeta, maxWindow: number): RangeOpener {
  return (offset, window = connection.link.window(maxWindow) ?? maxWindow) => connection.open({ url: meta.url, offset, window, ...(meta.validator && { validator: meta.validator }) });
}

export async function chooseEngine(c: ChoiceContext): Promise<Engine> {
  const openAt = rangeOpener(c.connection, c.meta, c.options.window);
  if (c.start.kind === 'index') {
    const { ftyp, head, whole, dropWhole, prefetch } = c.start;
    try {
      const movie = parseMovie(ftyp, head, c.meta.total, false);
      const converts = await conversionFor(movie.audioChoices, sourceBufferTakes, relayDecodes(c));
      // A large file plays from the head at once; for a small one, the whole says which engine.
      if (!movie.fragmented && isLarge(c.meta.total, c.options.mseThreshold) && mseTakes(c, movie, converts)) {
        const load = async (): Promise<Movie> => parseMovie(ftyp, await whole(), c.meta.total);
        return mse(c, openAt, { movie, prefetch, whole: { load, drop: dropWhole }, converts });
      }
      return forMovie(c, openAt, parseMovie(ftyp, await whole(), c.meta.total), { prefetch, converts });
    } catch (err) {
      prefetch.cancel();
      throw err;
    }
  }
  const format = sniff(c.start.chunk.data, c.meta.total);
  if (format.container === 'html') throw new FerryError('not_media', `the server sent a web page${c.meta.type ? ` (${c.meta.type.split(';')[0]})` : ''}, not a video`);
  if (format.container === 'mpegts') {
    const what = 'an MPEG transport stream (.ts, as TV recordings and live streams are)';
    throw new FerryError('unsupported_codec', `this is ${what}, which browsers do not play as a file`);
  }
  // An MP4 comes with the relay's index; one without (a relay that found no MP4 where this page did: they
  // share the rule, so it does not happen) is left to the browser's own player.
  if (format.container === 'mp4') return native(c, 'video/mp4', null);
  if (format.container === 'matroska' || format.container === 'webm') {
    const opened = await matroska(c, openAt);
    return 'engine' in opened ? opened.engine : nativeFor(c, { ...format, tracks: opened.native ?? format.tracks });
  }
  return nativeFor(c, format);
}

/** An MP4 whose moov is known: MSE from the threshold up, and for one that ends early or has tracks to choose; else the browser's own. */
type Mp4Found = Pick<Mp4Start, 'prefetch' | 'converts'>;

function forMovie(c: ChoiceContext, openAt: RangeOpener, movie: Movie, at: Mp4Found): Engine {
  const { prefetch, converts } = at;
  const whole = movie.fragmented || c.meta.total === null || movie.tracks.every((t) => t.table.dataEnd <= c.meta.total!);
  // One that ends early plays through MSE, which ends the stream cleanly where the bytes end. So does one with
  // audio tracks to choose from, its own subtitles, or sound converted in the page: the browser's own player
  // offers none of these.
  const choices = movie.audioChoices.length > 1 || movie.texts.length > 0 || movie.tracks.some(converts);
  const wanted = isLarge(c.meta.total, c.options.mseThreshold) || !whole || choices;
  if (!movie.fragmented && wanted && mseTakes(c, movie, converts)) {
    return mse(c, openAt, { movie, prefetch, whole: null, converts });
  }
  prefetch?.cancel();
  return native(c, 'video/mp4', nativeTracks(c, movie.codecs));
}

/**
 * Whether MSE can play the movie's tracks, once an audio track it cannot play is swapped for one it can (and
 * the page told). One it cannot play at all (QuickTime's PCM) may still play in the browser's own player.
 */
function mseTakes(c: ChoiceContext, movie: Movie, converts: Converts): boolean {
  if (!hasMediaSource()) return false;
  const swapped = playableAudio(movie, (t) => sourceBufferTakes(t.mime) || converts(t));
  if (codecRefusal(movie.tracks.filter((t) => !converts(t)), sourceBufferTakes)) return false;
  if (swapped) c.notice(swapped);
  return true;
}

/** Codecs of sound the relay decodes for this page. */
const relayDecodes = (c: ChoiceContext): readonly string[] => c.connection.welcome?.decodes ?? [];

/** From the MSE threshold up, or of unknown size: what goes through MSE. */
export function isLarge(total: number | null, mseThreshold: number): boolean {
  return total === null || total >= mseThreshold;
}

interface Mp4Start { movie: Movie; prefetch: Transfer | null; whole: WholeMovie | null; converts: Converts }

function mse(c: ChoiceContext, openAt: RangeOpener, start: Mp4Start): Engine {
  const pool = new BufferPool();
  const file = new Mp4Presentation(start.movie, start.whole, c.meta.total, openAt, pool, start.converts);
  return mseWith(c, openAt, file, pool, { prefetch: start.prefetch, lead: null });
}

type NativeCodecs = { native: TrackCodec[] | null };

/**
 * A Matroska or WebM file through MSE, when it should and can (matroska/open.ts); else the codecs of its head,
 * for the browser's own player (null: what the first bytes said).
 */
async function matroska(c: ChoiceContext, openAt: RangeOpener): Promise<{ engine: Engine } | NativeCodecs> {
  if (c.start.kind !== 'bytes' || !hasMediaSource()) return { native: null };
  const pool = new BufferPool();
  const { first, meta } = c;
  const large = isLarge(meta.total, c.options.mseThreshold);
  const { chunk } = c.start;
  const takes = sourceBufferTakes;
  const opened = await openMatroska({
    first, chunk, total: meta.total, large, openAt, pool, takes, relayDecodes: relayDecodes(c),
  });
  if ('native' in opened) return opened;
  // The first answer goes on into the first Cluster: playback from the start reads on from it.
  return { engine: mseWith(c, openAt, opened.file, pool, { prefetch: first, lead: opened.lead }) };
}

/** The MSE engine for a file of any container, given as its Presentation. */
type MediaStart = Pick<MseSource, 'prefetch' | 'lead'>;

function mseWith(c: ChoiceContext, openAt: RangeOpener, file: Presentation, pool: BufferPool, at: MediaStart): Engine {
  const mediaWindow = (): number | null => c.connection.link.window(c.options.window);
  const attached = c.attached ?? new AttachedMediaSource(c.video);
  const relay = relayDecoding(c.connection, c.url, c.options.mediaBase);
  const source = { openAt, attached, file, pool, ...at, total: c.meta.total, mediaWindow, relayDecoding: relay };
  return new MseEngine(c.video, source, { ...c.options.goals }, c.fail, c.notice);
}

function nativeFor(c: ChoiceContext, format: Exclude<Sniffed, { container: 'mp4' | 'html' | 'mpegts' }>): Engine {
  if (format.container === 'unknown') {
    const type = c.meta.type?.split(';')[0]?.trim() ?? null;
    // Not a format this page knows by its bytes; the browser may still, if the server's type is a media type.
    if (type && /^(audio|video)\//.test(type) && c.video.canPlayType(type) !== '') return native(c, type, null);
    throw new FerryError('not_media', `the server sent something that is not audio or video${type ? ` (${type})` : ''}`);
  }
  return native(c, format.mime, format.tracks ? nativeTracks(c, format.tracks) : null);
}

/**
 * The browser's own player plays what it can of a file: a track it cannot decode is named, and refuses the
 * file only when nothing else in it plays (a plain <video> would play Theora's sound, or an E-AC-3 film's
 * picture, with no word). Returns whether a picture plays.
 */
function nativeTracks(c: ChoiceContext, tracks: readonly TrackCodec[]): boolean {
  const plays = (mime: string): boolean => c.video.canPlayType(mime) !== '';
  const refused = codecRefusal(tracks, plays);
  const unplayable = refused ? tracks.filter((t) => codecRefusal([t], plays)) : [];
  if (refused && unplayable.length === tracks.length) throw refused;
  if (refused) c.notice(partialNotice(unplayable));
  return tracks.some((t) => t.kind === 'video' && !unplayable.includes(t));
}

function native(c: ChoiceContext, type: string, hasVideo: boolean | null): Engine {
  c.first.cancel();
  c.attached?.close();
  return new NativeEngine(c.video, { connection: c.connection, url: c.url, type, total: c.meta.total, base: c.options.mediaBase, hasVideo }, c.fail);
}
