/**
 * The Matroska reader on its own, in Node: lacing (Xiph, EBML, fixed), BlockGroups, Clusters of unknown
 * size, header removal, the Cues, bytes one at a time, and damaged or hostile input, which is an error in words
 * and never a hang or a parser's exception. Then a real film: every frame once, in order, as ffprobe counts.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BufferPool } from '../src/player/buffer-pool.js';
import { ClusterReader, type Block } from '../src/player/matroska/clusters.js';
import { MatroskaPresentation } from '../src/player/matroska/matroska-presentation.js';
import { clusterBefore, readCues } from '../src/player/matroska/cues.js';
import { readHead, type MatroskaTrack } from '../src/player/matroska/head.js';
import { trackForm } from '../src/player/matroska/track-codecs.js';
import { FerryError } from '../src/protocol/codes.js';
import { matroskaMedia } from './helpers/matroska-media.js';
import { REALWORLD_DIR } from './helpers/realworld.js';

/** An EBML element with an 8-byte size (or unknown size), as any muxer may write. */
function el(id: number, body: Uint8Array | number[] = [], unknown = false): Uint8Array {
  const idBytes: number[] = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) idBytes.unshift(v % 256);
  const data = Uint8Array.from(body);
  const size = unknown
    ? [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
    : [0x01, 0, 0, 0, 0, 0, 0, 0].map((b, k) => (k === 0 ? b : Math.floor(data.byteLength / 2 ** (8 * (7 - k))) % 256));
  return Uint8Array.from([...idBytes, ...size, ...data]);
}
const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
const u = (n: number): number[] => (n < 256 ? [n] : [n >> 8, n & 255]);
const frame = (size: number, fill: number): number[] => Array<number>(size).fill(fill);
/** A block's header: track 1, a relative time, flags. */
const blockHead = (relative: number, flags: number): number[] => [0x81, (relative >> 8) & 255, relative & 255, flags];

function readAll(bytes: Uint8Array, step = bytes.byteLength): Block[] {
  const reader = new ClusterReader(bytes.byteLength, () => true);
  reader.seek(0);
  const blocks: Block[] = [];
  for (let at = 0; at < bytes.byteLength; at += step) blocks.push(...reader.push(at, bytes.subarray(at, at + step)));
  expect(reader.next()).toBeNull();
  return blocks;
}

describe('Matroska clusters', () => {
  const laced = cat(
    el(
      0x1f43b675,
      cat(
        el(0xe7, [0x03, 0xe8]), // Cluster timestamp 1000
        el(0xa3, [
          ...blockHead(0, 0x80 | 0x02),
          2,
          ...xiph([300, 20]),
          ...frame(300, 1),
          ...frame(20, 2),
          ...frame(7, 3),
        ]),
        // EBML lacing: 500 as a 2-byte vint, then 489 as a difference of -11 (0x80 | (63 - 11)).
        el(0xa3, [
          ...blockHead(40, 0x80 | 0x06),
          2,
          0x40 | (500 >> 8),
          500 & 255,
          0x80 | (63 - 11),
          ...frame(500, 4),
          ...frame(489, 5),
          ...frame(9, 6),
        ]),
        el(0xa3, [...blockHead(80, 0x80 | 0x04), 2, ...frame(12, 7)]),
      ),
    ),
  );

  function xiph(sizes: number[]): number[] {
    return sizes.flatMap((s) => [...Array<number>(Math.floor(s / 255)).fill(255), s % 255]);
  }

  it('undoes Xiph, EBML and fixed lacing into frames of the right sizes, at the right times', () => {
    const blocks = readAll(laced);
    expect(blocks.map((b) => [b.time, b.keyframe, b.frames.map((f) => [f.byteLength, f[0]])])).toEqual([
      [
        1000,
        true,
        [
          [300, 1],
          [20, 2],
          [7, 3],
        ],
      ],
      [
        1040,
        true,
        [
          [500, 4],
          [489, 5],
          [9, 6],
        ],
      ],
      [
        1080,
        true,
        [
          [4, 7],
          [4, 7],
          [4, 7],
        ],
      ],
    ]);
  });

  it('gives the same blocks however the bytes arrive, one at a time included', () => {
    const whole = readAll(laced);
    for (const step of [1, 2, 7, 64]) expect(readAll(laced, step)).toEqual(whole);
  });

  it('reads BlockGroups (duration; a ReferenceBlock: no keyframe) and Clusters of unknown size', () => {
    const group = (relative: number, referenced: boolean): Uint8Array =>
      el(
        0xa0,
        cat(
          el(0xa1, [...blockHead(relative, 0), ...frame(5, 9)]),
          el(0x9b, u(33)),
          ...(referenced ? [el(0xfb, [0xd8])] : []),
        ),
      );
    const bytes = cat(
      el(0x1f43b675, cat(el(0xe7, [0]), group(0, false), group(20, true)), true),
      el(0x1f43b675, cat(el(0xe7, [100]), el(0xa3, [...blockHead(-5, 0x80), 1, 2, 3])), true),
    );
    for (const step of [bytes.byteLength, 3]) {
      expect(readAll(bytes, step).map((b) => [b.time, b.keyframe, b.duration, b.frames[0]!.byteLength])).toEqual([
        [0, true, 33, 5],
        [20, false, 33, 5],
        [95, true, null, 3],
      ]);
    }
  });

  it('steps over the blocks of tracks not wanted without copying them, and over unknown elements', () => {
    const other = [0x82, 0, 0, 0x80, ...frame(1000, 1)];
    const bytes = el(
      0x1f43b675,
      cat(el(0xe7, [0]), el(0xec, frame(50, 0)), el(0xa3, other), el(0xa3, [...blockHead(1, 0x80), 42])),
    );
    const reader = new ClusterReader(bytes.byteLength, (n) => n === 1);
    reader.seek(0);
    expect(reader.push(0, bytes).map((b) => [b.track, b.frames[0]![0]])).toEqual([[1, 42]]);
  });

  it('refuses damaged input in words: a block too large, a lacing that does not add up, a header of zeros', () => {
    const cases = [
      cat(
        el(0x1f43b675, cat(el(0xe7, [0]))).subarray(0, 12),
        Uint8Array.of(0xa3, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
      ),
      el(0x1f43b675, el(0xa3, [...blockHead(0, 0x82), 3, 255, 255, 255, 255, 1, 2])),
      Uint8Array.from(frame(64, 0)),
    ];
    for (const bytes of cases) {
      const reader = new ClusterReader(bytes.byteLength + 100, () => true);
      reader.seek(0);
      expect(() => reader.push(0, bytes)).toThrow(FerryError);
    }
  });

  it('never hangs or throws anything but a FerryError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 1, max: 50 }), (bytes, step) => {
        const reader = new ClusterReader(bytes.byteLength, () => true);
        reader.seek(0);
        try {
          for (let at = 0; at < bytes.byteLength; at += step) reader.push(at, bytes.subarray(at, at + step));
        } catch (err) {
          if (!(err instanceof FerryError)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('a real Matroska film', () => {
  const { film } = matroskaMedia();

  it('reads its head (tracks, languages, flags, codec private data) and its Cues, and seeks by them', () => {
    const head = readHead(film, film.byteLength);
    if ('need' in head) throw new Error('head not read');
    expect(head.tracks.map((t) => [t.number, t.type, t.codecId, t.language, t.name, t.default])).toEqual([
      [1, 'video', 'V_MPEG4/ISO/AVC', null, null, false],
      [2, 'audio', 'A_AAC', 'eng', null, true],
      [3, 'audio', 'A_AAC', 'fre', 'Commentaire', false],
      [4, 'subtitle', 'S_TEXT/UTF8', 'eng', null, false],
      [5, 'subtitle', 'S_TEXT/ASS', 'fre', null, false],
    ]);
    expect(head.cuesOffset).toBeGreaterThan(head.firstCluster);
    const cues = readCues(film.subarray(head.cuesOffset!), head.segmentStart, 1);
    expect(cues.times.length).toBeGreaterThanOrEqual(15);
    const at = clusterBefore(cues, 21_000)!;
    expect(at.time).toBeLessThanOrEqual(21_000);
    expect(at.time).toBeGreaterThan(18_000);
    expect(readHead(film.subarray(0, 200), film.byteLength)).toHaveProperty('need');
  });

  it('gives every video frame once, in order, with the sizes ffprobe reads', () => {
    const head = readHead(film, film.byteLength);
    if ('need' in head) throw new Error('head not read');
    const probe = execFileSync(
      'ffprobe',
      ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=size', '-of', 'csv=p=0', '-'],
      { input: film },
    ).toString();
    const sizes = probe.trim().split('\n').map(Number);
    const reader = new ClusterReader(head.segmentEnd, (n) => n === 1);
    reader.seek(head.firstCluster);
    const frames: number[] = [];
    for (let at = head.firstCluster; at < film.byteLength; at += 100_000) {
      for (const b of reader.push(at, film.subarray(at, at + 100_000)))
        frames.push(...b.frames.map((f) => f.byteLength));
    }
    expect(frames).toEqual(sizes);
  });

  it('without Cues, finds the Cluster before a target by a bounded search, reading a small part of the file', () => {
    const head = readHead(film, film.byteLength);
    if ('need' in head) throw new Error('head not read');
    const file = new MatroskaPresentation(
      { head: { ...head, cuesOffset: null }, cues: null },
      null as never,
      new BufferPool(),
      () => true,
    );
    for (const target of [22, 3, 29, 0.5]) {
      let at = file.demuxer.seek(target);
      let read = 0;
      let first: number | null = null;
      while (first === null && at < film.byteLength && read < film.byteLength) {
        const chunk = film.subarray(at, at + 32 * 1024);
        read += chunk.byteLength;
        const made = file.demuxer.push(at, chunk);
        first ??= made.find((f) => f.trackId === 1) ? file.demuxer.position() : null;
        at = file.demuxer.wanted() ?? film.byteLength;
      }
      expect(first).not.toBeNull();
      expect(first!).toBeLessThanOrEqual(target + 1);
      expect(first!).toBeGreaterThan(target - 6);
      // A search, not a read from the start.
      expect(read).toBeLessThan(film.byteLength * (target > 10 ? 0.45 : 0.3));
    }
  });
});

describe('Matroska tracks for MSE', () => {
  const track = (
    codecId: string,
    codecPrivate: number[] | null,
    extra: Partial<MatroskaTrack> = {},
  ): MatroskaTrack => ({
    number: 1,
    type: codecId.startsWith('V_') ? 'video' : 'audio',
    codecId,
    codecPrivate: codecPrivate && Uint8Array.from(codecPrivate),
    language: null,
    name: null,
    default: true,
    forced: false,
    defaultDuration: null,
    width: 640,
    height: 360,
    sampleRate: 48000,
    channels: 2,
    stripped: null,
    sealed: false,
    entry: el(0xae, el(0xd7, [1])),
    ...extra,
  });

  it('names each codec as MSE is asked about it, in the form its SourceBuffer takes', () => {
    const forms = [
      track('V_MPEG4/ISO/AVC', [1, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0]),
      track('V_VP9', null),
      track('V_AV1', [0x81, 0x08, 0x0c, 0]),
      track('V_MPEGH/ISO/HEVC', [1, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 93, ...Array<number>(10).fill(0)]),
      track('A_AAC', [0x11, 0x90]),
      track('A_AAC/MPEG4/LC', null),
      track('A_OPUS', null),
      track('A_FLAC', [0x66, 0x4c, 0x61, 0x43, 0, 0, 0, 34, ...Array<number>(34).fill(0)]),
      track('A_MPEG/L3', null),
      track('A_AC3', null),
      track('A_AAC', [0x11, 0x90], { sealed: true }),
    ].map((t) => trackForm(t, 1e6, () => true));
    expect(forms.map((f) => [f.codec, f.form, f.init !== null])).toEqual([
      ['avc1.64001F', 'mp4', true],
      ['vp9', 'webm', true],
      ['av01.0.08M.08', 'webm', true],
      ['hvc1.1.6.L93.90', 'mp4', true],
      ['mp4a.40.2', 'mp4', true],
      ['mp4a.40.2', 'mp4', true],
      ['opus', 'webm', true],
      ['flac', 'mp4', true],
      ['mp4a.6B', 'mp4', true],
      ['ac-3', 'mp4', false],
      ['A_AAC', 'mp4', false],
    ]);
    // The FLAC track's one metadata block is flagged the last, as dfLa requires.
    const flac = new Uint8Array(forms[7]!.init!);
    const dfla = Buffer.from(flac).indexOf('dfLa');
    expect(flac[dfla + 8]! & 0x80).toBe(0x80);
    // Where MSE takes no MP3 in MP4 (Chromium), its frames go as they are to an audio/mpeg buffer.
    const mp3 = trackForm(track('A_MPEG/L3', null), 1e6, (mime) => mime === 'audio/mpeg');
    expect([mp3.codec, mp3.mime, mp3.form, mp3.init?.byteLength]).toEqual(['mp3', 'audio/mpeg', 'mpeg', 0]);
    // Firefox's MSE takes it in MP4 by the codec string "mp3".
    const inMp4 = trackForm(track('A_MPEG/L3', null), 1e6, (mime) => mime === 'audio/mp4; codecs="mp3"');
    expect([inMp4.codec, inMp4.mime, inMp4.form]).toEqual(['mp3', 'audio/mp4; codecs="mp3"', 'mp4']);
  });

  it('puts back the bytes a muxer stripped from every frame (header removal)', () => {
    const head = readHead(film(), 1e9);
    if ('need' in head) throw new Error('head not read');
    const stripped = head.tracks.find((t) => t.number === 2)!;
    expect(Array.from(stripped.stripped ?? [])).toEqual([0xff, 0xf1]);
  });

  /** A minimal Matroska head whose track 2 has header removal of 0xFF 0xF1 (mkvmerge did this for AAC/ADTS). */
  function film(): Uint8Array {
    const encoding = el(0x6d80, el(0x6240, el(0x5034, cat(el(0x4254, [3]), el(0x4255, [0xff, 0xf1])))));
    const tracks = el(
      0x1654ae6b,
      cat(
        el(0xae, cat(el(0xd7, [1]), el(0x83, [1]), el(0x86, [...Buffer.from('V_VP9')]))),
        el(0xae, cat(el(0xd7, [2]), el(0x83, [2]), el(0x86, [...Buffer.from('A_AAC')]), encoding)),
      ),
    );
    return cat(
      el(0x1a45dfa3, el(0x4282, [...Buffer.from('matroska')])),
      el(0x18538067, cat(tracks, el(0x1f43b675, el(0xe7, [0]))), true),
    );
  }
});

describe('a Matroska file with many subtitle tracks (mkvmerge’s test file 5)', () => {
  const dir = REALWORLD_DIR;
  it.skipIf(!dir)('lists each by a label of its own, for the captions menu tells them apart by label', () => {
    const bytes = readFileSync(join(dir!, 'mkvmerge-test5-subs.mkv'));
    const head = readHead(bytes, bytes.byteLength);
    if ('need' in head) throw new Error('head not read');
    const file = new MatroskaPresentation({ head, cues: null }, null as never, new BufferPool(), () => true);
    const labels = file.texts.map((t) => t.label);
    expect(labels.length).toBe(8);
    expect(new Set(labels).size).toBe(labels.length);
    expect(file.audioChoices().length).toBe(2);
  });
});
