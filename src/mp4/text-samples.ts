/**
 * What an MP4 subtitle sample says, in each of the two formats MP4 files carry:
 * - `tx3g` (3GPP timed text, mov_text to ffmpeg): a 16-bit length, then UTF-8 (or UTF-16 after a BOM) text;
 *   a sample between two subtitles is empty.
 * - `wvtt` (WebVTT in ISO BMFF, ISO/IEC 14496-30): boxes; each `vttc` is one cue, its text in `payl` and its
 *   WebVTT settings in `sttg`; a sample between two subtitles holds one empty `vtte`. Cues that overlap in
 *   time share a sample, so one sample can give several.
 */
import { boxesIn } from './box.js';

export type TextFormat = 'tx3g' | 'wvtt';

export function isTextFormat(type: string | undefined): type is TextFormat {
  return type === 'tx3g' || type === 'wvtt';
}

/** One cue of a sample: its text, and its WebVTT settings ("" for none; tx3g's styling is not carried). */
export interface SampleCue {
  text: string;
  settings: string;
}

export function readTextSample(format: TextFormat, bytes: Uint8Array): SampleCue[] {
  return format === 'wvtt' ? readWebVttSample(bytes) : readTimedTextSample(bytes);
}

function readTimedTextSample(bytes: Uint8Array): SampleCue[] {
  const length = bytes.byteLength >= 2 ? Math.min((bytes[0]! << 8) | bytes[1]!, bytes.byteLength - 2) : 0;
  if (length === 0) return [];
  const text = bytes.subarray(2, 2 + length);
  const utf16 = text[0] === 0xfe && text[1] === 0xff;
  return [{ text: new TextDecoder(utf16 ? 'utf-16be' : 'utf-8').decode(text), settings: '' }];
}

function readWebVttSample(bytes: Uint8Array): SampleCue[] {
  const cues: SampleCue[] = [];
  for (const cue of boxesIn(bytes)) {
    if (cue.type !== 'vttc') continue;
    let text = '';
    let settings = '';
    for (const part of boxesIn(cue.payload)) {
      if (part.type === 'payl') text = utf8(part.payload);
      else if (part.type === 'sttg') settings = utf8(part.payload);
    }
    if (text) cues.push({ text, settings });
  }
  return cues;
}

const utf8 = (bytes: Uint8Array): string => new TextDecoder('utf-8').decode(bytes);
