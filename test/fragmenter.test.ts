/**
 * The compact sample tables and the fragmenter, on real ffmpeg files: every sample's bytes
 * come out exactly once, in order, inside well-formed moof + mdat pairs, whatever the chunking.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Fragmenter, type Fragment } from '../src/player/fragmenter.js';
import { parseMovie, type Movie } from '../src/player/movie.js';
import { readBoxHeader } from '../src/mp4/box.js';
import { sniff } from '../src/player/formats/sniff.js';
import { SampleTable } from '../src/player/sample-table.js';
import { HEAD_SECONDS, moovHead } from '../src/mp4/moov-head.js';
import { testMedia, type TestMedia } from './helpers/media.js';

let media: TestMedia;
beforeAll(() => {
  media = testMedia();
});

/** The file's moov box (top level), and its movie as the player reads it. */
function locate(file: Uint8Array): { movie: Movie; moov: Uint8Array } {
  let ftyp: Uint8Array = new Uint8Array(0);
  for (let pos = 0; ; ) {
    const box = readBoxHeader(file, pos, 0, file.byteLength)!;
    if (box.type === 'ftyp') ftyp = file.subarray(pos, pos + box.size);
    if (box.type === 'moov') {
      const moov = file.subarray(pos, pos + box.size);
      return { movie: parseMovie(ftyp, moov, file.byteLength), moov };
    }
    pos += box.size;
  }
}

/** Reads every trun and mdat back, checking sizes, and returns the sample payloads in order. */
function unpack(fragments: Fragment[]): Map<number, Uint8Array[]> {
  const out = new Map<number, Uint8Array[]>();
  for (const f of fragments) {
    const v = new DataView(f.data.buffer);
    const moof = readBoxHeader(f.data, 0, 0, f.data.byteLength)!;
    expect(moof.type).toBe('moof');
    const mdat = readBoxHeader(f.data, moof.size, 0, f.data.byteLength)!;
    expect(mdat.type).toBe('mdat');
    expect(moof.size + mdat.size).toBe(f.data.byteLength);
    // moof(8) mfhd(16) traf(8) tfhd(16) tfdt(20) trun(8 + 4 flags)
    const trun = 8 + 16 + 8 + 16 + 20;
    expect(String.fromCharCode(...f.data.subarray(trun + 4, trun + 8))).toBe('trun');
    const count = v.getUint32(trun + 12);
    expect(v.getInt32(trun + 16)).toBe(moof.size + 8);
    let at = moof.size + 8;
    const list = out.get(f.trackId) ?? [];
    for (let i = 0; i < count; i++) {
      const size = v.getUint32(trun + 20 + 16 * i + 4);
      list.push(f.data.subarray(at, at + size));
      at += size;
    }
    expect(at).toBe(f.data.byteLength);
    out.set(f.trackId, list);
  }
  return out;
}

function fragmentAll(file: Uint8Array, movie: Movie, from: number, chunk: number): Fragment[] {
  const fragmenter = new Fragmenter(movie.tracks);
  let offset = fragmenter.seek(from);
  const out: Fragment[] = [];
  for (let guard = 0; guard < 1e6; guard++) {
    const end = Math.min(file.byteLength, offset + chunk);
    out.push(...fragmenter.push(offset, file.subarray(offset, end)));
    const wanted = fragmenter.wanted();
    if (wanted === null) return out;
    offset = wanted;
  }
  throw new Error('did not finish');
}

describe('sniffing', () => {
  it('tells web pages from MP4s', () => {
    expect(sniff(new TextEncoder().encode('  <!DOCTYPE html><title>x</title>'), 100).container).toBe('html');
    expect(sniff(media.moovFirst.subarray(0, 65536), media.moovFirst.byteLength)).toMatchObject({ container: 'mp4', fragmented: false });
    expect(sniff(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9), 9).container).toBe('unknown');
  });
});

describe('fragmenter', () => {
  it.each([
    ['moov last', () => media.moovLast, 64 * 1024],
    ['moov first', () => media.moovFirst, 1000],
    ['B-frames', () => media.bframes, 256 * 1024],
  ])('carries every sample of %s exactly once, in order', (_name, file, chunk) => {
    const bytes = file();
    const { movie } = locate(bytes);
    const fragments = fragmentAll(bytes, movie, 0, chunk);
    const samples = unpack(fragments);
    for (const track of movie.tracks) {
      const got = samples.get(track.id)!;
      const t = track.table;
      expect(got).toHaveLength(t.count);
      const wrong = got.findIndex((sample, i) => !Buffer.from(sample).equals(bytes.subarray(t.offsets[i]!, t.offsets[i]! + t.sizes[i]!)));
      expect(wrong, `track ${track.id}: first sample whose bytes differ`).toBe(-1);
      expect(fragments.filter((f) => f.trackId === track.id && f.last)).toHaveLength(1);
    }
    for (const f of fragments) expect(f.data.byteLength).toBeLessThan(2 * 1024 * 1024);
  });

  it('from a moov head, stops where the head ends without ending any track, and goes on when the whole comes', () => {
    const bytes = media.moovLast;
    const { movie: whole, moov } = locate(bytes);
    const head = parseMovie(bytes.subarray(0, 32), moovHead(moov), bytes.byteLength, false);
    const fragmenter = new Fragmenter(head.tracks);
    const out: Fragment[] = [];
    let offset = fragmenter.seek(0);
    const step = (): void => {
      const end = Math.min(bytes.byteLength, offset + 64 * 1024);
      out.push(...fragmenter.push(offset, bytes.subarray(offset, end)));
      offset = fragmenter.wanted() ?? -1;
    };
    while (!fragmenter.starved) step();
    const before = out.length;
    expect(out.every((f) => !f.last)).toBe(true);
    expect(Math.max(...out.map((f) => f.endTime))).toBeLessThan(HEAD_SECONDS + 1);
    // The whole's tables take the head's place, as the engine does; reading goes on from where it wanted.
    for (const track of head.tracks) track.table = whole.tracks.find((t) => t.id === track.id)!.table;
    expect(fragmenter.starved).toBe(false);
    while (offset >= 0) step();
    expect(out.length).toBeGreaterThan(before);
    const samples = unpack(out);
    for (const track of whole.tracks) {
      const t = track.table;
      const got = samples.get(track.id)!;
      expect(got).toHaveLength(t.count);
      const wrong = got.findIndex((sample, i) => !Buffer.from(sample).equals(bytes.subarray(t.offsets[i]!, t.offsets[i]! + t.sizes[i]!)));
      expect(wrong).toBe(-1);
      expect(out.filter((f) => f.trackId === track.id && f.last)).toHaveLength(1);
    }
  });

  it('derives every decode time from the stts runs, and finds samples by time', () => {
    for (const file of [media.moovLast, media.bframes]) {
      for (const track of locate(file).movie.tracks) {
        const t = track.table;
        let sum = 0;
        for (let i = 0; i < t.count; i++) {
          expect(t.dts(i)).toBe(sum);
          sum += t.duration(i);
        }
        for (const i of [0, 1, Math.floor(t.count / 3), t.count - 2, t.count - 1]) expect(t.sampleAt(t.time(i))).toBe(i);
        expect(t.sampleAt(1e9)).toBe(t.count - 1);
      }
    }
  });

  it('keeps composition offsets of B-frames', () => {
    const { movie } = locate(media.bframes);
    const video = movie.tracks.find((t) => t.kind === 'video')!;
    expect(Array.from({ length: 30 }, (_, i) => video.table.ctsOffset(i)).some((x) => x !== 0)).toBe(true);
  });

  it('seeks to the keyframe at or before a time, with audio from the same instant', () => {
    const { movie } = locate(media.moovLast);
    const fragmenter = new Fragmenter(movie.tracks);
    const offset = fragmenter.seek(61.3);
    const video = movie.tracks.find((t) => t.kind === 'video')!.table;
    const key = video.syncBefore(video.sampleAt(61.3));
    expect(video.sync[key]).toBe(1);
    expect(video.time(key)).toBeLessThanOrEqual(61.3);
    expect(video.time(key)).toBeGreaterThan(61.3 - 2.1);
    expect(offset).toBeLessThanOrEqual(video.offsets[key]!);
    const first = fragmentAll(media.moovLast, movie, 61.3, 128 * 1024).find((f) => f.trackId === movie.tracks.find((t) => t.kind === 'video')!.id)!;
    // The first video fragment after a seek starts on that keyframe.
    const tfdt = new DataView(first.data.buffer).getUint32(8 + 16 + 8 + 16 + 12 + 4);
    expect(tfdt).toBe(video.dts(key));
  });

  it('holds only what the slowest track still needs', () => {
    const { movie } = locate(media.moovFirst);
    const fragmenter = new Fragmenter(movie.tracks);
    let offset = fragmenter.seek(0);
    let peak = 0;
    while (offset < media.moovFirst.byteLength) {
      fragmenter.push(offset, media.moovFirst.subarray(offset, offset + 256 * 1024));
      peak = Math.max(peak, fragmenter.held);
      offset += 256 * 1024;
    }
    expect(peak).toBeLessThan(4 * 1024 * 1024);
  });
});

describe('hostile sample tables', () => {
  /** A table box's payload: version and flags, then these 32-bit words. */
  const payload = (...words: number[]): DataView => {
    const v = new DataView(new ArrayBuffer(4 + 4 * words.length));
    words.forEach((w, i) => v.setUint32(4 + 4 * i, w));
    return v;
  };

  it('refuses a 16-byte stsz claiming 50 million samples, before allocating anything', () => {
    const before = process.memoryUsage().arrayBuffers;
    expect(() => new SampleTable({ stsz: payload(1000, 50_000_000), stco: payload(1, 0), stsc: payload(1, 1, 1, 1), stts: payload(1, 50_000_000, 1) }, 1000)).toThrow(
      /stsz claims 50000000 samples/,
    );
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });

  it('refuses tables whose counts run past their own bytes', () => {
    expect(() => new SampleTable({ stsz: payload(0, 1000) }, 1000)).toThrow(/stsz is cut short/);
    expect(() => new SampleTable({ stz2: payload(12, 10) }, 1000)).toThrow(/stz2 has 12-bit sizes/);
    expect(() => new SampleTable({ stsz: payload(100, 3), stco: payload(5), stsc: payload(1, 1, 1, 1) }, 1000)).toThrow(/stco is cut short/);
  });
});

describe('offsets beyond 4 GiB', () => {
  /** A table payload: version and flags, then u32 fields. */
  const payload = (...words: number[]): DataView => {
    const v = new DataView(new ArrayBuffer(4 * words.length));
    words.forEach((w, i) => v.setUint32(4 * i, w));
    return v;
  };

  it('reads co64 chunk offsets and 64-bit box sizes exactly', () => {
    // Two chunks of two samples at 5 GiB and 8 GiB + 7.
    const co64 = payload(0, 2, 1, 2 ** 30, 2, 7);
    const table = new SampleTable(
      {
        stsz: payload(0, 0, 4, 100, 200, 300, 400),
        co64,
        stsc: payload(0, 1, 1, 2, 1),
        stts: payload(0, 1, 4, 512),
      },
      1000,
    );
    expect(Array.from(table.offsets)).toEqual([5 * 2 ** 30, 5 * 2 ** 30 + 100, 8 * 2 ** 30 + 7, 8 * 2 ** 30 + 7 + 300]);
    expect(table.dataEnd).toBe(8 * 2 ** 30 + 7 + 300 + 400);
    expect(Array.from(table.sync)).toEqual([1, 1, 1, 1]);

    // An mdat of 6 GiB written with a largesize header.
    const head = new Uint8Array(16);
    const v = new DataView(head.buffer);
    v.setUint32(0, 1);
    head.set(new TextEncoder().encode('mdat'), 4);
    v.setUint32(8, 1);
    v.setUint32(12, 2 ** 31);
    expect(readBoxHeader(head, 0, 40, null)).toEqual({ type: 'mdat', offset: 40, size: 6 * 2 ** 30, headerSize: 16 });
  });

  it('refuses a table that claims more entries than it holds', () => {
    expect(() => new SampleTable({ stsz: payload(0, 0, 1000, 1), stco: payload(0, 1, 0), stsc: payload(0, 1, 1, 1, 1), stts: payload(0, 0) }, 1000)).toThrow(/damaged/);
  });
});
