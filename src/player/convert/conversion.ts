/**
 * Sound this browser cannot decode (AC-3, E-AC-3, DTS, TrueHD), converted in the page: its packets decoded in
 * WebAssembly (TrueHD by the relay, where it offers to: relay-decoder.ts), downmixed to stereo and encoded as
 * Opus by the browser's own encoder (WebCodecs), in a worker; the Opus goes to the audio SourceBuffer in MP4
 * fragments at the original times. What the page and the worker share: the codecs, the track's description,
 * the messages, and the Opus track's init segment.
 */
import { audioEntry, box, fields, initSegment } from '../../mp4/init-segment.js';

/** The codecs the page converts, as mediabunny names them: all but TrueHD decoded in the page. */
export type DecodedCodec = 'ac3' | 'eac3' | 'dts' | 'truehd';

/** What a converted track's SourceBuffer is opened with. */
export const CONVERTED_MIME = 'audio/mp4; codecs="opus"';
/** Stereo, at Opus's own rate; 160 kbit/s is transparent for a downmix of a film's sound. */
export const OUTPUT = { channels: 2, sampleRate: 48000, bitrate: 160_000 } as const;

/** A track whose packets are converted: its codec, its sound as its container describes it, its timescale. */
export interface AudioConversion {
  codec: DecodedCodec;
  sampleRate: number;
  channels: number;
  /** Ticks per second of the fragments the demuxer makes of it. */
  timescale: number;
}

/** The codec converted for a codec string of MP4 or Matroska, or null for one that is not. */
export function decodedCodec(codec: string): DecodedCodec | null {
  if (codec === 'ac-3') return 'ac3';
  if (codec === 'ec-3') return 'eac3';
  if (/^dts[chle]$/.test(codec)) return 'dts';
  if (codec === 'mlpa') return 'truehd';
  return null;
}

/**
 * The page to the worker. A generation is bumped by every seek: work of an older one is dropped. `from` is
 * where playback goes on (seconds): sound before it, read from the keyframe before it, is not converted.
 */
export type ToWorker =
  | { type: 'start'; conversion: AudioConversion; trackId: number; generation: number; from: number }
  | { type: 'fragment'; generation: number; data: ArrayBuffer; timestampOffset: number; last: boolean }
  | { type: 'reset'; generation: number; from: number }
  /** Where the relay decodes this track's sound (a WebSocket's address), or why it does not. */
  | { type: 'relay'; address: string | null; why: string };

/**
 * The worker to the page: an Opus fragment, an input fragment done with, or why some sound could not be
 * decoded (it plays as silence: the picture plays on).
 */
export type FromWorker =
  | { type: 'fragment'; generation: number; data: ArrayBuffer; endTime: number; last: boolean }
  | { type: 'taken'; generation: number; bytes: number }
  | { type: 'failed'; message: string };

/** The Opus track's init segment: stereo at 48 kHz, no pre-skip (the fragments are placed by their own times). */
export function convertedInit(trackId: number): ArrayBuffer {
  const { channels, sampleRate } = OUTPUT;
  const dOps = box('dOps', fields([1, 0], [1, channels], [2, 0], [4, sampleRate], [2, 0], [1, 0]));
  const entry = audioEntry('Opus', channels, sampleRate, dOps);
  return initSegment({ id: trackId, kind: 'audio', timescale: sampleRate, sampleEntry: entry, width: 0, height: 0 });
}
