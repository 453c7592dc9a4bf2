/**
 * The seam between the MSE engine and a container format. The engine, the loader and the buffers know only
 * these shapes; each container (ISO-BMFF in mp4/, Matroska and WebM in matroska/) gives one Presentation,
 * whose Demuxer turns the file's bytes into fragments for the SourceBuffers and cues for the text tracks.
 */
import type { FerryError } from '../protocol/codes.js';
import type { Fragment, TextCue } from './fragmenter.js';
import type { AudioConversion } from './convert/conversion.js';

/** A track as its SourceBuffer plays it. */
export interface PlayedTrack {
  id: number;
  kind: 'video' | 'audio';
  codec: string;
  /** MIME type with codecs, for isTypeSupported and addSourceBuffer. */
  mime: string;
  init: ArrayBuffer;
  /** Sound this browser cannot decode, converted in the page: its fragments go through convert/ first. */
  conversion?: AudioConversion;
}

/** A subtitle track as the captions menu lists it. */
export interface TextTrackInfo {
  id: number;
  /** Its language, or null when the file says none. */
  language: string | null;
  label: string;
  /** Shown without being chosen (a film's forced subtitles for foreign dialogue). */
  forced?: boolean;
  /** An ASS/SSA track's script head (its styles), for libass to draw its events with. */
  assHeader?: string;
  /** The fonts the file attaches for it, read when asked; rejects with a FerryError. */
  assFonts?: () => Promise<Uint8Array[]>;
}

/** An audio track of the file, played or not, as the audio menu lists it. */
export interface AudioChoiceInfo {
  id: number;
  language: string | null;
  /** The track's own name ("Commentary"), when the file gives one. */
  name?: string | null;
  codec: string;
  mime: string;
  /** Its channels, when the file says (for "5.1" in the menu). */
  channels?: number;
  /** Played by converting it in the page. */
  converted?: boolean;
}

/** What the loader reads for: the file's bytes from where it says, made into fragments and cues. */
export interface Demuxer {
  /** Positions every track for playing from `time` (seconds); returns the file offset to read from. */
  seek(time: number): number;
  /** Takes bytes at `offset` and returns the fragments they complete. */
  push(offset: number, data: Uint8Array): Fragment[];
  /** The subtitles read since the last call. */
  takeCues(): TextCue[];
  /** The offset the next bytes must come from, or null when every track is read to its end. */
  wanted(): number | null;
  /** Seconds up to which every track is read. */
  position(): number;
  /** Reading waits for more of the index (an MP4's tables that end early). */
  readonly starved: boolean;
  /** Bytes held, not yet made into fragments. */
  readonly held: number;
  /** One past the last byte the media needs: a file shorter than this ends early. */
  readonly dataEnd: number;
  /** Tracks whose every sample is in fragments made. */
  finishedTracks(): number[];
}

/** A file as the MSE engine plays it, in whichever container. */
export interface Presentation {
  /** Seconds, for the MediaSource; where playback starts. */
  readonly duration: number;
  readonly start: number;
  /** The tracks playing: one video and one audio at most. */
  readonly tracks: PlayedTrack[];
  readonly texts: TextTrackInfo[];
  readonly demuxer: Demuxer;
  audioChoices(): AudioChoiceInfo[];
  /** Reads audio track `id` in place of the one playing; null when it cannot. A seek should follow. */
  swapAudio(id: number): { old: PlayedTrack; track: PlayedTrack } | null;
  /**
   * Before anything is read: a failure (nothing here plays), or the seconds that play (Infinity when all
   * do); `notice` tells the page of a file that plays in part.
   */
  check(notice: (text: string) => void): FerryError | number;
  /** Whether a seek to `time` waits for the rest of the index (`complete`). */
  waitsFor(time: number): boolean;
  /**
   * Reads the rest of the index, once the first frame shows or a seek waits: resolves with the seconds that
   * play (Infinity for all), rejects with a FerryError; null when there is nothing more to read.
   */
  complete(notice: (text: string) => void): Promise<number> | null;
  /** A picture near `time`, for the timeline. */
  preview?(time: number, width: number, signal: AbortSignal): Promise<ImageBitmap | null>;
  /** Lets go of what it reads (the rest of the index). */
  close(): void;
}
