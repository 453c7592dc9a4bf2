/**
 * Whether this page can convert sound (a worker, WebAssembly, a WebCodecs Opus encoder, and MSE that takes
 * Opus in MP4), asked once and only for a file whose sound needs it; and a track made into a converted one.
 */
import type { Connection } from '../../client/connection.js';
import type { PlayedTrack } from '../container.js';
import { hasMediaSource, sourceBufferTakes } from '../media-source.js';
import { CONVERTED_MIME, OUTPUT, convertedInit, decodedCodec } from './conversion.js';

/** Whether a track of `codec`, which this browser's MSE cannot play (`mime`), is converted here. */
export type Converts = (track: { codec: string; mime: string }) => boolean;

let ready: Promise<boolean> | null = null;

function conversionReady(): Promise<boolean> {
  ready ??= (async () => {
    if (typeof Worker === 'undefined' || typeof WebAssembly === 'undefined') return false;
    if (typeof AudioEncoder === 'undefined' || !sourceBufferTakes(CONVERTED_MIME)) return false;
    const { channels: numberOfChannels, sampleRate, bitrate } = OUTPUT;
    const answer = await AudioEncoder.isConfigSupported({ codec: 'opus', numberOfChannels, sampleRate, bitrate });
    return answer.supported === true;
  })().catch(() => false);
  return ready;
}

/** Codecs decoded by the relay, not in the page: only where the relay says it does. */
const RELAY_ONLY = new Set(['truehd']);

/**
 * What converts among tracks of these codecs, with `plays` saying what MSE plays and `relayDecodes` what the
 * relay decodes for the page: nothing is asked of the browser unless some track's codec is one that converts
 * and MSE does not play.
 */
export async function conversionFor(
  tracks: readonly { codec: string; mime: string }[],
  plays: (mime: string) => boolean,
  relayDecodes: readonly string[],
): Promise<Converts> {
  if (!hasMediaSource()) return () => false;
  const decodes = (codec: string | null): boolean =>
    codec !== null && (!RELAY_ONLY.has(codec) || relayDecodes.includes(codec));
  const wanted = (t: { codec: string; mime: string }): boolean => decodes(decodedCodec(t.codec)) && !plays(t.mime);
  if (!tracks.some(wanted) || !(await conversionReady())) return () => false;
  return wanted;
}

/** What a track of `codec` (numbered `id`) is given to play converted: the Opus SourceBuffer's type and init. */
export function convertedForm(
  id: number,
  codec: string,
  sound: { sampleRate: number; channels: number },
  timescale: number,
): Required<Pick<PlayedTrack, 'mime' | 'init' | 'conversion'>> | null {
  const decoded = decodedCodec(codec);
  if (!decoded) return null;
  return { mime: CONVERTED_MIME, init: convertedInit(id), conversion: { codec: decoded, ...sound, timescale } };
}

/** The track as its SourceBuffer plays it once converted: Opus, its codec still the file's. */
export function convertTrack<T extends PlayedTrack>(
  track: T,
  sound: { sampleRate: number; channels: number },
  timescale: number,
): T {
  return Object.assign(track, convertedForm(track.id, track.codec, sound, timescale));
}

/** The relay's decoder for a file's sound (relay-decoder.ts), reached with a playback ticket asked for when needed. */
export interface RelayDecoding {
  /** The decoder's WebSocket address. */
  address(): Promise<string>;
  /** Playing is over: the ticket is given back. */
  close(): void;
}

/** How this page reaches the relay's decoder for the file at `url`; null when the relay decodes nothing. */
export function relayDecoding(connection: Connection, url: string, base: string): RelayDecoding | null {
  if (!connection.welcome?.decodes?.length) return null;
  let download: ReturnType<Connection['download']> | null = null;
  let address: Promise<string> | null = null;
  return {
    address: () => {
      download ??= connection.download(url, { type: null });
      address ??= download.whenTicketed().then(({ ticket }) => {
        const at = new URL(`/decode/${ticket}`, base);
        at.protocol = at.protocol === 'https:' ? 'wss:' : 'ws:';
        return at.href;
      });
      return address;
    },
    close: () => download?.cancel(),
  };
}
