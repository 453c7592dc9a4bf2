/**
 * Subtitle files as WebVTT, which is what a `<track>` takes: VTT as it is, SubRip (.srt) converted (comma
 * decimal marks become points, ASS position tags such as {\an8} go; its cue numbers stay as cue names).
 * Anything else, such as a web page, is refused in words.
 */
import { FerryError } from '../../protocol/codes.js';

const SRT_TIMING = /^(\d{1,2}:)?\d{1,2}:\d{2}[,.]\d{1,3} --> (\d{1,2}:)?\d{1,2}:\d{2}[,.]\d{1,3}/m;

export function toWebVtt(text: string): string {
  const body = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (/^WEBVTT(?:[ \t\n]|$)/.test(body)) return body;
  if (/^\s*</.test(body)) throw new FerryError('not_media', 'the subtitles link gave a web page, not subtitles');
  if (!SRT_TIMING.test(body)) throw new FerryError('not_media', 'the subtitles are neither SubRip (.srt) nor WebVTT (.vtt)');
  const cues = body
    .trim()
    .split(/\n{2,}/)
    .map((cue) =>
      cue
        .split('\n')
        .map((line) => (SRT_TIMING.test(line) ? line.replace(/(\d),(\d)/g, '$1.$2') : line.replace(/\{\\[^}]*\}/g, '')))
        .join('\n'),
    );
  return `WEBVTT\n\n${cues.join('\n\n')}\n`;
}
