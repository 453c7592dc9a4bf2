/**
 * The parts of the page's audio conversion that need no browser: fragments read back as the demuxers write
 * them, AC-3/E-AC-3 packets split into the frames a decoder takes one at a time, the mix to stereo, and the
 * TrueHD major syncs a run sent to the relay starts from.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readFragment } from '../src/mp4/fragment-read.js';
import { writeHeldFragment } from '../src/player/mp4/moof.js';
import { syncFrames } from '../src/player/convert/sync-frames.js';
import { toStereo } from '../src/player/convert/downmix.js';
import { hasMajorSync } from '../src/player/convert/relay-decoder.js';
import { FerryError } from '../src/protocol/codes.js';

const take = (size: number): Uint8Array<ArrayBuffer> => new Uint8Array(size);

describe('fragments read back', () => {
  it('gives each sample its bytes, decode time and duration, as written (50 samples, times past 2^32)', () => {
    const samples = Array.from({ length: 50 }, (_, k) => ({
      data: Uint8Array.from({ length: 10 + k }, (_, i) => (k * 7 + i) & 0xff),
      dts: 2 ** 33 + k * 1536,
      duration: 1536,
      cto: 0,
      sync: true,
    }));
    const read = readFragment(writeHeldFragment(take, 3, 2, samples));
    expect(read.map((s) => [s.dts, s.duration, [...s.data]])).toEqual(
      samples.map((s) => [s.dts, s.duration, [...s.data]]),
    );
  });

  it('refuses, in words, a fragment cut short or without its boxes', () => {
    const sample = { data: new Uint8Array(100), dts: 0, duration: 1, cto: 0, sync: true };
    const whole = writeHeldFragment(take, 1, 1, [sample]);
    for (const bad of [whole.subarray(0, whole.byteLength - 10), whole.subarray(0, 40), new Uint8Array(16)]) {
      expect(() => readFragment(bad)).toThrow(FerryError);
    }
  });
});

describe('AC-3 and E-AC-3 packets split into frames', () => {
  /** An E-AC-3 frame of 4000 bytes (bsid 16, 5.1, one block: Bento4 writes six such in one MP4 sample). */
  const eac3 = (k: number, dependent = false): Uint8Array => {
    const f = new Uint8Array(4000).fill(k);
    f.set([0x0b, 0x77, (dependent ? 0x40 : 0) | 0x07, 0xcf, 0x0f, 16 << 3]);
    return f;
  };
  /** An AC-3 frame at 48 kHz, 448 kbit/s (frmsizecod 28: 768 words). */
  const ac3 = (k: number): Uint8Array => {
    const f = new Uint8Array(1536).fill(k);
    f.set([0x0b, 0x77, 0, 0, 28, 8 << 3]);
    return f;
  };
  const join = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

  it('six E-AC-3 frames in one packet come out as six, each whole', () => {
    const frames = [0, 1, 2, 3, 4, 5].map((k) => eac3(k));
    expect(syncFrames(join(frames))).toEqual(frames);
  });

  it('AC-3 frames sized by their rate code', () => {
    const frames = [ac3(1), ac3(2), ac3(3)];
    expect(syncFrames(join(frames))).toEqual(frames);
  });

  it('a dependent substream stays with the frame before it', () => {
    const frames = syncFrames(join([eac3(0), eac3(1, true), eac3(2)]));
    expect(frames.map((f) => f.byteLength)).toEqual([8000, 4000]);
  });

  it('a packet that is not frames end to end is left whole', () => {
    const junk = join([eac3(0), new TextEncoder().encode('not a frame')]);
    expect(syncFrames(junk)).toEqual([junk]);
    const cut = eac3(0).subarray(0, 100);
    expect(syncFrames(cut)).toEqual([cut]);
  });
});

describe('the mix to stereo', () => {
  const plane = (x: number): Float32Array => new Float32Array(4).fill(x);

  it('5.1: fronts as they are, the centre and surrounds at -3 dB, the LFE left out', () => {
    const [left, right] = toStereo([plane(0.1), plane(0.2), plane(0.3), plane(1), plane(0.4), plane(0.5)]);
    expect(left[0]).toBeCloseTo(0.1 + Math.SQRT1_2 * (0.3 + 0.4), 6);
    expect(right[0]).toBeCloseTo(0.2 + Math.SQRT1_2 * (0.3 + 0.5), 6);
  });

  it('mono on both sides, stereo unchanged, an unknown layout its first two', () => {
    expect([...toStereo([plane(0.3)])[1]]).toEqual([...plane(0.3)]);
    const stereo: Float32Array[] = [plane(0.1), plane(0.2)];
    expect(toStereo(stereo)).toEqual(stereo);
    const many = Array.from({ length: 12 }, (_, c) => plane(c / 20));
    expect(toStereo(many).map((p) => p[0])).toEqual([many[0]![0], many[1]![0]]);
  });
});

describe('TrueHD major syncs (where a run sent to the relay may start)', () => {
  /** ffmpeg's TrueHD, raw: access units one after another, a major sync every 16. */
  const units = ((): Uint8Array[] => {
    const raw = new Uint8Array(execFileSync('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=1',
      '-c:a', 'truehd', '-strict', '-2', '-ac', '6', '-f', 'truehd', 'pipe:1',
    ], { maxBuffer: 64 * 1024 * 1024 }));
    const out: Uint8Array[] = [];
    for (let at = 0; at < raw.length;) {
      const length = (((raw[at]! & 0x0f) << 8) | raw[at + 1]!) * 2;
      out.push(raw.subarray(at, at + length));
      at += length;
    }
    return out;
  })();

  it('finds the major sync of a packet that starts with one, or holds one further on, and only those', () => {
    expect(units.length).toBe(1200);
    const withSync = units.map((u) => hasMajorSync(u));
    expect(withSync.filter(Boolean).length).toBe(1200 / 16);
    expect(withSync.every((has, i) => has === (i % 16 === 0))).toBe(true);
    const packet = (from: number, to: number): Uint8Array => Buffer.concat(units.slice(from, to));
    expect(hasMajorSync(packet(1, 16))).toBe(false);
    expect(hasMajorSync(packet(5, 20))).toBe(true);
  });

  it('reads damaged or short packets without running past them', () => {
    for (let seed = 0; seed < 2000; seed++) {
      const bytes = Uint8Array.from({ length: seed % 64 }, (_, i) => (seed * 31 + i * 17) & 0xff);
      expect(typeof hasMajorSync(bytes)).toBe('boolean');
    }
  });
});
