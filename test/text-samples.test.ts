import { describe, expect, it } from 'vitest';
import { readTextSample } from '../src/mp4/text-samples.js';
import { box } from './helpers/wvtt-mp4.js';

const text = (s: string): Uint8Array => Buffer.from(s);

describe('subtitle samples', () => {
  it('reads each cue of a wvtt sample, with its settings; an empty one (vtte) has none', () => {
    const sample = Buffer.concat([
      box('vttc', box('iden', text('a')), box('sttg', text('line:10% align:start')), box('payl', text('Là-haut'))),
      box('vttc', box('payl', text('Two\nlines'))),
      box('vtta', text('a comment')),
    ]);
    expect(readTextSample('wvtt', sample)).toEqual([
      { text: 'Là-haut', settings: 'line:10% align:start' },
      { text: 'Two\nlines', settings: '' },
    ]);
    expect(readTextSample('wvtt', box('vtte'))).toEqual([]);
  });

  it('keeps the cues before a box that claims more than the sample holds, and no more', () => {
    const whole = box('vttc', box('payl', text('kept')));
    const damaged = Buffer.from(box('vttc', box('payl', text('lost'))));
    damaged.writeUInt32BE(999, 0);
    expect(readTextSample('wvtt', Buffer.concat([whole, damaged]))).toEqual([{ text: 'kept', settings: '' }]);
    expect(readTextSample('wvtt', Buffer.from([0, 0, 0]))).toEqual([]);
  });

  it('reads tx3g text in UTF-8 and, after a byte-order mark, UTF-16; an empty sample is no cue', () => {
    const utf8 = Buffer.concat([Buffer.from([0, 6]), text('Ferry!'), Buffer.from('styl-box')]);
    expect(readTextSample('tx3g', utf8)).toEqual([{ text: 'Ferry!', settings: '' }]);
    const utf16 = Buffer.concat([Buffer.from([0, 6, 0xfe, 0xff]), Buffer.from('\u00e9t', 'utf16le').swap16()]);
    expect(readTextSample('tx3g', utf16)).toEqual([{ text: 'ét', settings: '' }]);
    expect(readTextSample('tx3g', Buffer.from([0, 0]))).toEqual([]);
    expect(readTextSample('tx3g', Buffer.from([0, 40, 65]))).toEqual([{ text: 'A', settings: '' }]);
  });
});
