/**
 * One played Matroska track's frames made into what its SourceBuffer takes, a fragment at a time: moof + mdat
 * for a track remuxed into MP4, a Cluster for one passed through as WebM. Matroska stores presentation times
 * only; for MP4, decode times are the presentation times in ascending order, assigned a few frames behind
 * the newest so that reordered frames (B-frames) are seen first, and every time is moved later by the
 * largest reordering seen at the start (`delay`), which the fragment's timestampOffset takes back.
 */
import { joinBytes } from '../../protocol/bytes.js';
import type { BufferPool } from '../buffer-pool.js';
import type { Fragment } from '../fragmenter.js';
import { writeHeldFragment, type HeldSample } from '../mp4/moof.js';
import type { Block } from './clusters.js';
import type { MatroskaTrack } from './head.js';
import type { TrackForm } from './track-codecs.js';
import { MAX_CLUSTER_TICKS, webmCluster, type HeldFrame } from './webm-writer.js';

/** Frames held back before the first of them is given its decode time: deeper than any encoder reorders. */
const REORDER_FRAMES = 6;
/** As the MP4 fragmenter: small fragments for the first seconds after a (re)position, then a second or a MiB. */
const EARLY = { seconds: 2, fragmentSeconds: 0.25, fragmentBytes: 192 * 1024 };
const LATER = { fragmentSeconds: 1, fragmentBytes: 1024 * 1024 };

interface Frame {
  data: Uint8Array;
  pts: number;
  sync: boolean;
}

export class TrackOutput {
  /** A laced block whose frames wait for the next block's time to be spaced (no default duration). */
  private laced: { time: number; frames: Uint8Array[]; sync: boolean } | null = null;
  private reorder: Frame[] = [];
  /** The presentation times of the frames held for reordering not yet given as decode times, ascending. */
  private unassigned: number[] = [];
  /** Frames with a decode time, the last waiting for the next one's to know its duration. */
  private timed: (Frame & { dts: number })[] = [];
  /** Samples of the next fragment, with their decode and presentation times and end in ticks. */
  private gathered: (HeldSample & { at: number; pts: number; until: number })[] = [];
  /** Where the next sample of an audio clock (below) falls, in samples; null after a position. */
  private clockAt: number | null = null;
  private gatheredBytes = 0;
  private delay = -1;
  private smallUntil = 0;
  private fresh = true;
  private lastDuration: number;
  /** Ticks of the newest frame taken. */
  newest = -Infinity;

  constructor(
    readonly track: MatroskaTrack,
    readonly form: TrackForm,
    /** Ticks per second. */
    private readonly rate: number,
    private readonly pool: BufferPool,
    private readonly sequence: () => number,
  ) {
    this.lastDuration = track.defaultDuration ? (track.defaultDuration * rate) / 1e9 : rate / 25;
  }

  get held(): number {
    return this.gatheredBytes + this.reorder.reduce((s, f) => s + f.data.byteLength, 0);
  }

  /** Forgets what was held: reading goes on from `ticks`, for playing from `target`. */
  reset(ticks: number, target = ticks): void {
    this.laced = null;
    this.reorder = [];
    this.unassigned = [];
    this.timed = [];
    this.gathered = [];
    this.gatheredBytes = 0;
    this.delay = -1;
    this.clockAt = null;
    this.fresh = true;
    this.newest = ticks;
    // Small up to the target and past it: the frame asked for is appended as soon as it is read.
    this.smallUntil = Math.max(ticks, target) + EARLY.seconds * this.rate;
  }

  add(block: Block, out: Fragment[]): void {
    if (this.laced) this.spaceLaced(block.time, out);
    const frames = this.track.stripped ? block.frames.map((f) => joinBytes([this.track.stripped!, f])) : block.frames;
    const spacing =
      block.duration !== null ? block.duration / frames.length : this.track.defaultDuration ? this.lastDuration : null;
    if (frames.length > 1 && spacing === null) {
      this.laced = { time: block.time, frames, sync: this.track.type !== 'video' || block.keyframe };
      return;
    }
    const sync = this.track.type !== 'video' || block.keyframe;
    frames.forEach((data, k) => this.take({ data, pts: block.time + k * (spacing ?? 0), sync }, out));
  }

  /** Everything held becomes fragments: the stream ends, or the first bytes after a position are read. */
  flush(out: Fragment[], last: boolean): void {
    if (this.laced) this.spaceLaced(this.laced.time + this.lastDuration * this.laced.frames.length, out);
    if (last) {
      while (this.reorder.length) this.assign(out);
      const end = this.timed.pop();
      if (end) this.gather({ ...end, duration: this.lastDuration }, out);
    }
    if (this.gathered.length && (last || this.fresh)) this.cut(out, last);
  }

  private spaceLaced(next: number, out: Fragment[]): void {
    const { time, frames, sync } = this.laced!;
    this.laced = null;
    const spacing = Math.max(0, (next - time) / frames.length);
    frames.forEach((data, k) => this.take({ data, pts: time + k * spacing, sync }, out));
  }

  private take(frame: Frame, out: Fragment[]): void {
    this.newest = Math.max(this.newest, frame.pts);
    if (this.form.form === 'webm' || this.track.type !== 'video') {
      this.timed.push({ ...frame, dts: frame.pts });
      this.drain(out);
      return;
    }
    this.reorder.push(frame);
    let at = this.unassigned.length;
    while (at > 0 && this.unassigned[at - 1]! > frame.pts) at--;
    this.unassigned.splice(at, 0, frame.pts);
    if (this.reorder.length > REORDER_FRAMES) this.assign(out);
  }

  /** The oldest frame held for reordering takes the smallest presentation time not yet given as its decode time. */
  private assign(out: Fragment[]): void {
    if (this.delay < 0) this.delay = Math.max(0, ...this.reorder.map((f, k) => this.unassigned[k]! - f.pts));
    const frame = this.reorder.shift()!;
    this.timed.push({ ...frame, dts: this.unassigned.shift()! });
    this.drain(out);
  }

  private drain(out: Fragment[]): void {
    while (this.timed.length > 1) {
      const frame = this.timed.shift()!;
      const duration = Math.max(0, Math.round(this.timed[0]!.dts) - Math.round(frame.dts));
      if (duration > 0) this.lastDuration = duration;
      this.gather({ ...frame, duration }, out);
    }
  }

  private gather(f: Frame & { dts: number; duration: number }, out: Fragment[]): void {
    const delay = Math.max(0, this.delay);
    const dts = Math.max(0, Math.round(f.dts));
    const sample = {
      data: f.data,
      dts,
      duration: f.duration,
      cto: Math.max(0, Math.round(f.pts + delay) - dts),
      sync: f.sync,
    };
    this.gathered.push({ ...sample, ...this.clocked(f.pts), at: f.dts, pts: f.pts, until: f.pts + f.duration });
    this.gatheredBytes += f.data.byteLength;
    const early = f.pts < this.smallUntil;
    const [seconds, bytes] = early
      ? [EARLY.fragmentSeconds, EARLY.fragmentBytes]
      : [LATER.fragmentSeconds, LATER.fragmentBytes];
    const span = f.dts + f.duration - this.gathered[0]!.at;
    if (this.gatheredBytes >= bytes || span >= seconds * this.rate || span >= MAX_CLUSTER_TICKS) this.cut(out, false);
  }

  /**
   * For an audio codec of fixed frame length remuxed into MP4 (AAC, MP3): the sample's decode time and
   * duration counted in samples, one frame after another, as an MP4 muxer writes them, rather than Matroska's
   * milliseconds (21 and 22 ms for AAC's 21.33); back on the file's time when the two part by over a frame.
   * Nothing for other tracks.
   */
  private clocked(pts: number): { dts: number; duration: number } | object {
    const clock = this.form.clock;
    if (!clock) return {};
    const at = (pts * clock.timescale) / this.rate;
    if (this.clockAt === null || Math.abs(this.clockAt - at) > clock.frame) this.clockAt = Math.max(0, Math.round(at));
    const dts = this.clockAt;
    this.clockAt += clock.frame;
    return { dts, duration: clock.frame };
  }

  /** The gathered samples in the form of the track's SourceBuffer. */
  private write(samples: (HeldSample & { pts: number })[]): Uint8Array<ArrayBuffer> {
    const take = (size: number): Uint8Array<ArrayBuffer> => this.pool.take(size);
    if (this.form.form === 'mpeg') {
      const frames = take(samples.reduce((n, s) => n + s.data.byteLength, 0));
      let at = 0;
      for (const s of samples) {
        frames.set(s.data, at);
        at += s.data.byteLength;
      }
      return frames;
    }
    if (this.form.form === 'mp4') return writeHeldFragment(take, this.sequence(), this.track.number, samples);
    const frames = samples.map(
      (s): HeldFrame => ({ data: s.data, time: s.pts, duration: s.duration, keyframe: s.sync }),
    );
    return webmCluster(take, this.track.number, frames);
  }

  /**
   * Where the SourceBuffer places the fragment: MP4's times moved back by the delay; plain MP3 frames, which
   * carry no time, from the first one's.
   */
  private placed(): { timestampOffset: number } {
    if (this.form.form === 'mpeg') return { timestampOffset: this.gathered[0]!.pts / this.rate };
    return { timestampOffset: this.form.form === 'mp4' ? -Math.max(0, this.delay) / this.rate : 0 };
  }

  private cut(out: Fragment[], last: boolean): void {
    const samples = this.gathered;
    const id = this.track.number;
    const end = samples[samples.length - 1]!;
    out.push({ trackId: id, data: this.write(samples), endTime: end.until / this.rate, ...this.placed(), last });
    this.gathered = [];
    this.gatheredBytes = 0;
    this.fresh = false;
  }
}
