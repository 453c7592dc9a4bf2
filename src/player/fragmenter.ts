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
import type { MovieText, MovieTrack } from './movie.js';
import { fragmentSize, writeFragment } from './mp4/moof.js';
import { readTextSample } from '../mp4/text-samples.js';

export interface Fragment {
  trackId: number;
  data: Uint8Array<ArrayBuffer>;
  /** Decode time at which this fragment ends, seconds. */
  endTime: number;
  /**
   * Seconds added to its times in the SourceBuffer: the edit list's shift, less the lead of a first sample
   * held from the start (its fragment alone is placed earlier, so that its decode time is not after its display).
   */
  timestampOffset: number;
  /** The track's last sample is in it. */
  last: boolean;
}

/** A subtitle, read from a subtitle sample among the media bytes; times in seconds of the movie. */
export interface TextCue {
  trackId: number;
  /** Its sample's index and its place in the sample: the same each time the bytes pass by again. */
  index: number;
  part: number;
  start: number;
  end: number;
  text: string;
  /** WebVTT cue settings ("line:10% align:start"), or "". */
  settings: string;
  /** An ASS/SSA event as its file stores it, for libass (the text above is its plain words). */
  assEvent?: string;
}

export interface FragmenterLimits {
  seconds: number;
  bytes: number;
  /** Bytes held waiting for one track while another lags: past this the file is not interleaved enough. */
  window: number;
}

export const DEFAULT_FRAGMENT_LIMITS: FragmenterLimits = { seconds: 1, bytes: 1024 * 1024, window: 64 * 1024 * 1024 };

/**
 * For the first seconds after a (re)position, fragments this small: the browser decodes from the keyframe as
 * the bytes come instead of a second at a time, so the frame asked for shows sooner (a plain player's
 * demuxer feeds its decoder sample by sample).
 */
const EARLY = { seconds: 2, fragmentSeconds: 0.25, fragmentBytes: 192 * 1024 };

interface Cursor {
  track: MovieTrack;
  /** First sample not yet taken. */
  next: number;
  /** First sample of the fragment being gathered. */
  first: number;
  fresh: boolean;
  /** Decode time (track timescale) up to which fragments stay small, after the last (re)position. */
  smallUntil: number;
}

export class Fragmenter {
  private readonly window = new ByteWindow();
  private readonly cursors: Cursor[];
  /** Per subtitle track, its next sample: read when its bytes pass by, never asked for on its own. */
  private readonly texts: { text: MovieText; next: number }[];
  private cues: TextCue[] = [];
  private sequence = 1;

  constructor(
    tracks: MovieTrack[],
    private readonly pool = new BufferPool(),
    private readonly limits: FragmenterLimits = DEFAULT_FRAGMENT_LIMITS,
    texts: MovieText[] = [],
  ) {
    this.cursors = tracks.map((track) => ({ track, next: 0, first: 0, fresh: true, smallUntil: EARLY.seconds * track.table.timescale }));
    this.texts = texts.map((text) => ({ text, next: 0 }));
  }

  /** Reads `track` where `old` was read (another audio language); a seek should follow. */
  replaceTrack(old: MovieTrack, track: MovieTrack): void {
    for (const c of this.cursors) if (c.track === old) c.track = track;
  }

  /** Tracks whose every sample has been cut into fragments. */
  finishedTracks(): number[] {
    return this.cursors.filter((c) => c.next >= c.track.table.count && c.track.table.complete).map((c) => c.track.id);
  }

  /** The subtitles read since the last call. */
  takeCues(): TextCue[] {
    const cues = this.cues;
    this.cues = [];
    return cues;
  }

  /** Bytes held. */
  get held(): number {
    return this.window.size;
  }

  /** Some track has taken every sample of tables that are not yet complete: reading waits for the rest. */
  get starved(): boolean {
    return this.cursors.some((c) => c.next >= c.track.table.count && !c.track.table.complete);
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
      // Before a picture that starts late (an empty edit), the sound starts where asked.
      from = Math.min(time, t.time(video.next));
    }
    let start = Infinity;
    for (const c of this.cursors) {
      // One sample early: an audio decoder needs the frame before to decode the first one right (and at
      // the start, the encoder's priming frame, which the edit list puts just before 0).
      if (c !== video) c.next = Math.max(0, c.track.table.sampleAt(from) - 1);
      c.first = c.next;
      c.fresh = true;
      c.smallUntil = c.track.table.dts(Math.min(c.next, c.track.table.count - 1)) + EARLY.seconds * c.track.table.timescale;
      start = Math.min(start, c.track.table.offsets[c.next]!);
    }
    for (const c of this.texts) c.next = c.text.table.sampleAt(from);
    this.window.reset(start);
    return start;
  }

  /** The offset the next bytes must come from: the window's end, or earlier if a track needs what is gone. */
  wanted(): number | null {
    let behind = Infinity;
    let any = false;
    for (const c of this.cursors) {
      if (c.next >= c.track.table.count) {
        any ||= !c.track.table.complete;
        continue;
      }
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
    for (const c of this.texts) this.readText(c);
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
      const early = t.dts(i) < c.smallUntil;
      const [seconds, most] = early ? [EARLY.fragmentSeconds, EARLY.fragmentBytes] : [this.limits.seconds, this.limits.bytes];
      if ((i === 0 && t.leads) || bytes >= most || (t.dts(c.next - 1) + t.duration(c.next - 1) - t.dts(c.first)) / t.timescale >= seconds) {
        out.push(this.cut(c));
        bytes = 0;
      }
    }
    if (c.next > c.first && (c.fresh || c.next >= t.count)) out.push(this.cut(c));
  }

  /** Takes the subtitle samples whose bytes are here; one whose bytes went by before it was wanted is skipped. */
  private readText(c: { text: MovieText; next: number }): void {
    const t = c.text.table;
    for (; c.next < t.count; c.next++) {
      const [offset, size] = [t.offsets[c.next]!, t.sizes[c.next]!];
      if (offset < this.window.start) continue;
      if (!this.window.has(offset, size)) return;
      const start = t.time(c.next);
      const end = start + t.duration(c.next) / t.timescale;
      const said = readTextSample(c.text.format, this.window.copy(offset, Math.min(size, 64 * 1024)));
      for (const [part, { text, settings }] of said.entries()) this.cues.push({ trackId: c.text.id, index: c.next, part, start, end, text, settings });
    }
  }

  /** Writes samples [first, next) of a track as moof + mdat. */
  private cut(c: Cursor): Fragment {
    const t = c.track.table;
    const samples = { sequence: this.sequence++, trackId: c.track.id, table: t, first: c.first, end: c.next };
    const out = this.pool.take(fragmentSize(samples));
    writeFragment(out, samples, (offset, size, at) => this.window.copy(offset, size, out, at));
    const last = c.next >= t.count && t.complete;
    const timestampOffset = t.shift - (c.first === 0 ? t.leadSeconds : 0);
    const fragment = { trackId: c.track.id, data: out, endTime: t.time(c.next - 1) + t.duration(c.next - 1) / t.timescale, last, timestampOffset };
    c.first = c.next;
    c.fresh = false;
    return fragment;
  }
}
