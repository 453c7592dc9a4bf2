/** What a file is, from its first 64 KB alone, for each container the player meets; and the codecs named in it. */
import { toWebVtt } from '../src/player/formats/subtitles.js';
import { describe, expect, it } from 'vitest';
import { codecMime } from '../src/player/codecs.js';
import { sniff } from '../src/player/formats/sniff.js';
import { formatMedia, testMedia } from './helpers/media.js';

const A_VP9 = { kind: 'video', codec: 'vp9' };
const AN_OPUS = { kind: 'audio', codec: 'opus' };

describe('sniffing a file’s first bytes', () => {
  const f = formatMedia();
  const head = (b: Buffer): Uint8Array => new Uint8Array(b.subarray(0, 64 * 1024));
  it.each([
    ['webm', () => f.webm, { container: 'webm', mime: 'video/webm', tracks: [A_VP9, AN_OPUS] }],
    ['mkv', () => f.mkv, { container: 'matroska', tracks: [{ kind: 'video', codec: expect.stringMatching(/^avc1\.[0-9A-F]{6}$/) }, { kind: 'audio', codec: 'mp4a.40.2' }] }],
    ['mp3', () => f.mp3, { container: 'mp3', mime: 'audio/mpeg' }],
    ['wav', () => f.wav, { container: 'wav', tracks: [{ kind: 'audio', codec: '1' }] }],
    ['ogg', () => f.ogg, { container: 'ogg', tracks: [{ kind: 'audio', codec: 'vorbis' }] }],
    ['opus', () => f.opus, { container: 'ogg', tracks: [{ kind: 'audio', codec: 'opus' }] }],
    ['flac', () => f.flac, { container: 'flac' }],
    ['aac', () => f.aac, { container: 'aac', tracks: [{ kind: 'audio', codec: 'mp4a.40.2' }] }],
    ['fragmented mp4', () => f.fragmented, { container: 'mp4', fragmented: true }],
    ['progressive mp4', () => testMedia().moovLast, { container: 'mp4', fragmented: false }],
  ])('%s', (_name, file, expected) => {
    expect(sniff(head(file()), file().byteLength)).toMatchObject(expected);
  });

  it('tells markup and unknown bytes apart from media', () => {
    expect(sniff(new TextEncoder().encode('\n <?xml version="1.0"?><Error/>'), 40).container).toBe('html');
    expect(sniff(new TextEncoder().encode('PK\x03\x04zip file'), 12).container).toBe('unknown');
  });

  it('asks the browser about each codec in its own container', () => {
    expect(codecMime({ kind: 'video', codec: 'avc1.64001F' })).toBe('video/mp4; codecs="avc1.64001F"');
    expect(codecMime({ kind: 'audio', codec: 'opus' })).toBe('audio/webm; codecs="opus"');
    expect(codecMime({ kind: 'audio', codec: 'mp3' })).toBe('audio/mpeg');
    expect(codecMime({ kind: 'audio', codec: '1' })).toBe('audio/wav; codecs="1"');
  });
});

describe('subtitle files as WebVTT', () => {
  it('keeps WebVTT, converts SubRip (times, CRLF, BOM, position tags), and refuses anything else in words', () => {
    expect(toWebVtt('WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n')).toBe('WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n');
    const srt = '\uFEFF1\r\n00:00:01,500 --> 00:00:02,250\r\n{\\an8}<i>Top</i>\r\n\r\n2\r\n01:00:00,000 --> 01:00:01,000\r\nLast\r\n';
    expect(toWebVtt(srt)).toBe('WEBVTT\n\n1\n00:00:01.500 --> 00:00:02.250\n<i>Top</i>\n\n2\n01:00:00.000 --> 01:00:01.000\nLast\n');
    expect(() => toWebVtt('<!doctype html><p>Sign in')).toThrow(/web page, not subtitles/);
    expect(() => toWebVtt('just some words\nand more')).toThrow(/neither SubRip \(\.srt\), WebVTT \(\.vtt\) nor ASS/);
  });

  it('converts an ASS/SSA file: each Dialogue by its Format line, styling gone, \\N a line break', () => {
    const ass = [
      '[Script Info]', 'ScriptType: v4.00+', '', '[Events]',
      'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
      'Comment: 0,0:00:00.00,0:00:01.00,Default,,0,0,0,,not shown',
      'Dialogue: 0,0:00:01.50,0:00:04.00,Default,,0,0,0,,{\\b1}Hello{\\b0}, you\\Nthere',
      'Dialogue: 0,1:02:03.04,1:02:05.00,Default,,0,0,0,,{\\pos(10,10)}Late',
    ].join('\r\n');
    const cues = ['00:00:01.500 --> 00:00:04.000\nHello, you\nthere', '01:02:03.040 --> 01:02:05.000\nLate'];
    expect(toWebVtt(ass)).toBe(`WEBVTT\n\n${cues.join('\n\n')}\n`);
  });
});
