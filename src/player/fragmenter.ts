/**
 * Turns the media data of a non-fragmented MP4 into fragments (moof + mdat) as the bytes arrive, one track
 * at a time, in file order. Bytes are kept only until every track has taken the samples in them.
 *
 * The first fragment after a (re)position is cut as soon as any sample is ready, so a seek shows a frame
 * quickly; later ones are about a second or a MiB, far below Chromium's 12 MiB audio quota.
 */
import { FerryError } from '../protocol/codes.js';
import { BufferPool } from './buffer-pool.js';
import { ByteWindow } from './byte-window.js';
import type { MovieTrack } from './movie.js';

export interface Fragment {
  trackId: number;
  data: Uint8Array<ArrayBuffer>;
  /** Decode time at which this fragment ends, seconds. */
  endTime: number;
  /** The track's last sample is in it. */
  last: boolean;
}

export interface FragmenterLimits {
  seconds: number;
  bytes: number;
  /** Bytes held waiting for one track while another lags: past this the file is not interleaved enough. */
  window: number;
}

export const DEFAULT_FRAGMENT_LIMITS: FragmenterLimits = { seconds: 1, bytes: 1024 * 1024, window: 64 * 1024 * 1024 };

const SYNC_FLAGS = 0x02000000;
const NON_SYNC_FLAGS = 0x01010000;

interface Cursor {
  track: MovieTrack;
  /** First sample not yet taken. */
  next: number;
  /** First sample of the fragment being gathered. */
  first: number;
  fresh: boolean;
}

export class Fragmenter {
  private readonly window = new ByteWindow();
  private readonly cursors: Cursor[];
  private sequence = 1;

  constructor(
    tracks: MovieTrack[],
    private readonly pool = new BufferPool(),
    private readonly limits: FragmenterLimits = DEFAULT_FRAGMENT_LIMITS,
  ) {
    this.cursors = tracks.map((track) => ({ track, next: 0, first: 0, fresh: true }));
  }

  /** Bytes held. */
  get held(): number {
    return this.window.size;
  }

  get done(): boolean {
    return this.cursors.every((c) => c.next >= c.track.table.count);
  }

  /** One past the last media byte the sample tables refer to: a file shorter than this ends early. */
  get dataEnd(): number {
    return Math.max(...this.cursors.map((c) => c.track.table.dataEnd));
  }

  /** Decode time, in seconds, of the earliest sample not yet taken by any track (Infinity when all are). */
  position(): number {
    let earliest = Infinity;
    for (const c of this.cursors) if (c.next < c.track.table.count) earliest = Math.min(earliest, c.track.table.time(c.next));
    return earliest;
  }

  /** Positions every track for playing from `time`; returns the file offset to read from. */
  seek(time: number): number {
    const video = this.cursors.find((c) => c.track.kind === 'video');
    // Video starts at the keyframe before the target; audio at that same instant, so both begin together.
    let from = time;
    if (video) {
      const t = video.track.table;
      video.next = t.syncBefore(t.sampleAt(time));
      from = t.time(video.next);
    }
    let start = Infinity;
    for (const c of this.cursors) {
      if (c !== video) c.next = c.track.table.sampleAt(from);
      c.first = c.next;
      c.fresh = true;
      start = Math.min(start, c.track.table.offsets[c.next]!);
    }
    this.window.reset(start);
    return start;
  }

  /** The offset the next bytes must come from: the window's end, or earlier if a track needs what is gone. */
  wanted(): number | null {
    let behind = Infinity;
    let any = false;
    for (const c of this.cursors) {
      if (c.next >= c.track.table.count) continue;
      any = true;
      const offset = c.track.table.offsets[c.next]!;
      if (offset < this.window.start || this.window.size === 0) behind = Math.min(behind, offset);
    }
    if (!any) return null;
    return Number.isFinite(behind) ? behind : this.window.end;
  }

  /** Takes bytes at `offset` and returns the fragments they complete. */
  push(offset: number, data: Uint8Array): Fragment[] {
    this.window.append(offset, data);
    const out: Fragment[] = [];
    for (const c of this.cursors) this.advance(c, out);
    let keep = this.window.end;
    for (const c of this.cursors) if (c.first < c.track.table.count) keep = Math.min(keep, c.track.table.offsets[c.first]!);
    this.window.dropBefore(keep);
    if (this.window.size > this.limits.window) {
      throw new FerryError('unsupported_codec', 'the audio and video of this file are far apart in it (not interleaved), so it cannot stream; download it instead');
    }
    return out;
  }

  private advance(c: Cursor, out: Fragment[]): void {
    const t = c.track.table;
    let bytes = 0;
    for (let i = c.first; i < c.next; i++) bytes += t.sizes[i]!;
    while (c.next < t.count) {
      const i = c.next;
      if (!this.window.has(t.offsets[i]!, t.sizes[i]!)) break;
      c.next++;
      bytes += t.sizes[i]!;
      if (bytes >= this.limits.bytes || (t.dts(c.next - 1) + t.duration(c.next - 1) - t.dts(c.first)) / t.timescale >= this.limits.seconds) {
        out.push(this.cut(c));
        bytes = 0;
      }
    }
    if (c.next > c.first && (c.fresh || c.next >= t.count)) out.push(this.cut(c));
  }

  /** Writes samples [first, next) of a track as moof + mdat. */
  private cut(c: Cursor): Fragment {
    const t = c.track.table;
    const n = c.next - c.first;
    let payload = 0;
    for (let i = c.first; i < c.next; i++) payload += t.sizes[i]!;
    const trafSize = 8 + 16 + 20 + 20 + 16 * n;
    const moofSize = 8 + 16 + trafSize;
    const out = this.pool.take(moofSize + 8 + payload);
    const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
    let p = 0;
    const box = (size: number, type: string): void => {
      v.setUint32(p, size);
      for (let k = 0; k < 4; k++) out[p + 4 + k] = type.charCodeAt(k);
      p += 8;
    };
    box(moofSize, 'moof');
    box(16, 'mfhd');
    v.setUint32(p, 0);
    v.setUint32(p + 4, this.sequence++);
    p += 8;
    box(trafSize, 'traf');
    box(16, 'tfhd');
    v.setUint32(p, 0x020000); // default-base-is-moof
    v.setUint32(p + 4, c.track.id);
    p += 8;
    box(20, 'tfdt');
    v.setUint32(p, 0x01000000); // version 1: 64-bit decode time
    const base = t.dts(c.first);
    v.setUint32(p + 4, Math.floor(base / 2 ** 32));
    v.setUint32(p + 8, base % 2 ** 32);
    p += 12;
    box(20 + 16 * n, 'trun');
    // duration, size, flags and composition offset per sample; version 1 when offsets are signed.
    v.setUint32(p, ((t.hasNegativeCts ? 1 : 0) * 2 ** 24) + 0x000f01);
    v.setUint32(p + 4, n);
    v.setInt32(p + 8, moofSize + 8);
    p += 12;
    for (let i = c.first; i < c.next; i++) {
      v.setUint32(p, t.duration(i));
      v.setUint32(p + 4, t.sizes[i]!);
      v.setUint32(p + 8, t.sync[i] ? SYNC_FLAGS : NON_SYNC_FLAGS);
      v.setInt32(p + 12, t.ctsOffset(i));
      p += 16;
    }
    box(8 + payload, 'mdat');
    for (let i = c.first; i < c.next; i++) {
      this.window.copy(t.offsets[i]!, t.sizes[i]!, out, p);
      p += t.sizes[i]!;
    }
    const last = c.next >= t.count;
    const fragment = { trackId: c.track.id, data: out, endTime: (t.dts(c.next - 1) + t.duration(c.next - 1)) / t.timescale, last };
    c.first = c.next;
    c.fresh = false;
    return fragment;
  }
}
