/**
 * Subtitle files as WebVTT, which is what a `<track>` takes: VTT as it is, SubRip (.srt) converted (comma
 * decimal marks become points, ASS position tags such as {\an8} go; its cue numbers stay as cue names), and
 * ASS/SSA (.ass) as plain cues, its events' text without their styling.
 * Anything else, such as a web page, is refused in words.
 */
import { FerryError } from '../../protocol/codes.js';

const SRT_TIMING = /^(\d{1,2}:)?\d{1,2}:\d{2}[,.]\d{1,3} --> (\d{1,2}:)?\d{1,2}:\d{2}[,.]\d{1,3}/m;

/** Whether a subtitle file is an ASS/SSA script (which libass can draw as it is). */
export function isAssScript(text: string): boolean {
  return /^\[Script Info\]/im.test(text);
}

export function toWebVtt(text: string): string {
  const body = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (/^WEBVTT(?:[ \t\n]|$)/.test(body)) return body;
  if (/^\s*</.test(body)) throw new FerryError('not_media', 'the subtitles link gave a web page, not subtitles');
  if (isAssScript(body)) return assToWebVtt(body);
  if (!SRT_TIMING.test(body)) {
    throw new FerryError('not_media', 'the subtitles are neither SubRip (.srt), WebVTT (.vtt) nor ASS/SSA (.ass)');
  }
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

/**
 * An ASS/SSA event's text as plain cue text: override blocks ({\b1}, {\pos(…)}) go, \N and \n are line
 * breaks, \h a space. Its styling is not carried (a plain cue, where no ASS renderer runs).
 */
function assText(text: string): string {
  return text.replace(/\{[^}]*\}/g, '').replace(/\\[Nn]/g, '\n').replace(/\\h/g, ' ').trim();
}

/** The Text field of an ASS event line whose first `before` comma-separated fields precede it. */
export function assEventText(line: string, before: number): string {
  let at = 0;
  for (let k = 0; k < before; k++) {
    const comma = line.indexOf(',', at);
    if (comma < 0) return '';
    at = comma + 1;
  }
  return assText(line.slice(at));
}

/** An ASS/SSA file's Dialogue events as WebVTT cues, by the fields its [Events] Format line names. */
function assToWebVtt(body: string): string {
  let fields: string[] = [];
  const cues: string[] = [];
  const time = (t: string): string => {
    const [h = '0', m = '0', sc = '0'] = t.trim().split(':');
    const [sec = '0', cs = '0'] = sc.split('.');
    return `${h.padStart(2, '0')}:${m.padStart(2, '0')}:${sec.padStart(2, '0')}.${cs.padEnd(3, '0').slice(0, 3)}`;
  };
  for (const line of body.split('\n')) {
    const [kind, rest] = [line.slice(0, line.indexOf(':')).trim(), line.slice(line.indexOf(':') + 1)];
    if (kind === 'Format') fields = rest.split(',').map((f) => f.trim().toLowerCase());
    if (kind !== 'Dialogue' || !fields.includes('text')) continue;
    const values = rest.split(',');
    const at = (name: string): string => values[fields.indexOf(name)] ?? '0:00:00.00';
    const text = assEventText(rest, fields.indexOf('text'));
    if (text) cues.push(`${time(at('start'))} --> ${time(at('end'))}\n${text}`);
  }
  return `WEBVTT\n\n${cues.join('\n\n')}\n`;
}
