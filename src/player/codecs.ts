/** Codecs in words, and whether this browser plays them: asked with the real codec string, on every path. */
import { FerryError } from '../protocol/codes.js';
import type { TrackCodec } from './formats/sniff.js';

/** PCM as QuickTime's sample entries name it: every browser decodes it, none can be asked about it in MP4. */
const QUICKTIME_PCM = /^(sowt|twos|lpcm|in24|in32|fl32|fl64|raw )$/;

/** Plain names for codec strings, for messages a person reads. */
const NAMES: [RegExp, string][] = [
  [/^(avc1|avc3)/, 'H.264'],
  [/^(hvc1|hev1)/, 'HEVC'],
  [/^av01/, 'AV1'],
  [/^vp0?9/, 'VP9'],
  [/^vp0?8/, 'VP8'],
  [/^mp4a\.(6b|69)$/i, 'MP3'],
  [/^mp3$/, 'MP3'],
  [/^mp4a/, 'AAC'],
  [/^ac-3/, 'AC-3'],
  [/^ec-3/, 'E-AC-3'],
  [/^dts/, 'DTS'],
  [/^mlpa$/, 'TrueHD'],
  [/^opus/i, 'Opus'],
  [/^vorbis/, 'Vorbis'],
  [/^theora/, 'Theora'],
  [/^flac/i, 'FLAC'],
  [/^1$/, 'PCM'],
  [QUICKTIME_PCM, 'PCM'],
  [/^jpeg$/, 'Motion JPEG'],
  [/^alac$/, 'ALAC'],
  [/^(s263|h263)$/, 'H.263'],
  [/^samr$/, 'AMR'],
  [/^3$/, 'floating-point PCM'],
];

export function codecName(codec: string): string {
  return NAMES.find(([re]) => re.test(codec))?.[1] ?? codec;
}

/**
 * The type a browser is asked about for one codec: in the container it is native to, since what matters is
 * whether the codec decodes (Chromium answers nothing for Matroska, whose codecs it plays).
 */
export function codecMime({ kind, codec }: TrackCodec): string {
  if (/^(avc[13]|hvc1|hev1|av01|mp4a|ac-3|ec-3|dts)/.test(codec)) return `${kind}/mp4; codecs="${codec}"`;
  if (/^(vp0?[89]|opus|vorbis)/.test(codec)) return `${kind}/webm; codecs="${codec}"`;
  if (codec === 'theora') return 'video/ogg; codecs="theora"';
  if (codec === 'flac') return 'audio/flac';
  if (codec === 'mp3') return 'audio/mpeg';
  if (/^\d+$/.test(codec)) return `audio/wav; codecs="${codec}"`;
  if (QUICKTIME_PCM.test(codec)) return 'audio/wav; codecs="1"';
  return `${kind}/x-unknown; codecs="${codec}"`;
}

/**
 * The codec string MSE and media elements take for an MP4 sample entry's: the registered ones are lower case
 * (`opus`, `flac`) where the sample entries are `Opus` and `fLaC`; asked as written, they matched nothing here
 * and both browsers refused files whose MSE plays them (issue 24).
 */
export function mp4CodecString(sampleEntry: string): string {
  return sampleEntry === 'Opus' || sampleEntry === 'fLaC' ? sampleEntry.toLowerCase() : sampleEntry;
}

/** The type a media element is asked about for an MP4's track: in MP4, but PCM as the PCM it is. */
export function mp4TrackMime(kind: TrackCodec['kind'], codec: string): string {
  return QUICKTIME_PCM.test(codec) ? codecMime({ kind, codec }) : `${kind}/mp4; codecs="${codec}"`;
}

/**
 * For a file that plays without some of its tracks: which, in words, what plays, and what would play them
 * (a plain <video> plays such a file the same way, and says nothing).
 */
export function partialNotice(refused: readonly TrackCodec[]): string {
  const what = refused.map((t) => `${codecName(t.codec)} ${t.kind} (${t.codec})`).join(' and ');
  const names = [...new Set(refused.map((t) => codecName(t.codec)))].join(' and ');
  const alone = refused.every((t) => t.kind === 'audio');
  const rest = alone ? 'the picture plays without sound' : 'the rest plays without it';
  // TrueHD is decoded by a relay that offers to (issue 25), and by no browser.
  const relay = refused.some((t) => t.codec === 'mlpa') ? '; a relay started with --decode-audio plays TrueHD' : '';
  const instead = `Download it for a player that decodes ${names}${relay}`;
  return `this browser cannot play this file's ${what}: ${rest} (${instead})`;
}

/** The error for tracks this browser cannot play (`plays` asks it), or null when it plays them all. */
export function codecRefusal(tracks: readonly TrackCodec[], plays: (mime: string) => boolean): FerryError | null {
  const refused = tracks.filter((t) => !plays(t.mime ?? codecMime(t)));
  if (!refused.length) return null;
  // Protected tracks keep their codec inside their encryption: there is nothing else to name.
  const locked = refused.filter((t) => /^enc[avst]$/.test(t.codec));
  if (locked.length) {
    const what = `encrypted (DRM: ${locked.map((t) => t.codec).join(', ')})`;
    return new FerryError('unsupported_codec', `this file is ${what}, and Ferry plays no protected media`);
  }
  const what = refused.map((t) => `${codecName(t.codec)} ${t.kind} (${t.codec})`).join(' and ');
  return new FerryError('unsupported_codec', `this file uses ${what}, which this browser cannot play`);
}
