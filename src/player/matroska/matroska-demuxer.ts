/**
 * Reads a Matroska or WebM file's Clusters into fragments for the MSE buffers, one output per played track,
 * and its text subtitles into cues as their blocks pass by. Seeks go by the Cues; reading is sequential from
 * the chosen Cluster, so one transfer serves every track.
 */
import type { Demuxer } from '../container.js';
import type { Fragment, TextCue } from '../fragmenter.js';
import { assEventText } from '../formats/subtitles.js';
import { ClusterReader, type Block } from './clusters.js';
import { ClusterSearch } from './cluster-search.js';
import { clusterBefore, type CueIndex } from './cues.js';
import type { MatroskaHead, MatroskaTrack } from './head.js';
import type { TrackOutput } from './track-output.js';

/** A text track's format, by its CodecID; image subtitles (PGS, VobSub) are listed but not read. */
type TextKind = 'srt' | 'vtt' | 'ass' | 'image';

export function textKind(codecId: string): TextKind | null {
  if (codecId === 'S_TEXT/UTF8' || codecId === 'S_TEXT/ASCII') return 'srt';
  if (codecId === 'S_TEXT/WEBVTT' || codecId === 'D_WEBVTT/SUBTITLES') return 'vtt';
  if (/^S_(TEXT\/)?(ASS|SSA)$/.test(codecId)) return 'ass';
  if (/^S_(HDMV\/PGS|VOBSUB|DVBSUB|HDMV\/TEXTST)$/.test(codecId)) return 'image';
  return null;
}

/** A subtitle without a duration shows this long, or until the next. */
const DEFAULT_CUE_SECONDS = 4;

export class MatroskaDemuxer implements Demuxer {
  private readonly reader: ClusterReader;
  private readonly rate: number;
  private cues: TextCue[] = [];
  private ended = false;
  /** A seek in a file without Cues, until the Cluster to read from is found. */
  private search: ClusterSearch | null = null;
  /** Ticks from which blocks are wanted, after a seek: earlier ones in the first Cluster are passed over. */
  private from = 0;
  /** Ticks the last seek asked for: fragments stay small until past it. */
  private target = 0;
  readonly starved = false;

  constructor(
    private readonly head: MatroskaHead,
    private outputs: TrackOutput[],
    private readonly texts: MatroskaTrack[],
    /** The seek index, once read (null before, and for a file without one). */
    private readonly index: () => CueIndex | null,
  ) {
    this.rate = 1e9 / head.timestampScale;
    this.reader = new ClusterReader(head.segmentEnd, (n) => this.numbers.has(n));
    this.refreshWanted();
  }

  /** The track numbers whose blocks are read. */
  private numbers = new Set<number>();

  private refreshWanted(): void {
    this.numbers = new Set([...this.outputs.map((o) => o.track.number), ...this.texts.map((t) => t.number)]);
  }

  /** Reads `output` in place of the output of the same kind (another audio language); a seek follows. */
  replaceOutput(old: TrackOutput, output: TrackOutput): void {
    this.outputs = this.outputs.map((o) => (o === old ? output : o));
    this.refreshWanted();
  }

  get held(): number {
    return this.reader.held + this.outputs.reduce((s, o) => s + o.held, 0);
  }

  get dataEnd(): number {
    return this.head.segmentEnd;
  }

  seek(time: number): number {
    const ticks = Math.max(0, time * this.rate);
    const index = this.index();
    const cluster = index && time > 0 ? clusterBefore(index, ticks) : null;
    this.ended = false;
    this.search = null;
    if (!index && time > 0) {
      // No Cues: a search, from the first Cluster to the Segment's end.
      const end = { offset: this.head.segmentEnd, time: (this.head.duration ?? Infinity) * this.rate };
      this.search = new ClusterSearch(ticks, { offset: this.head.firstCluster, time: 0 }, end, this.rate);
      this.target = ticks;
      this.startAt({ time: ticks });
      this.reader.seekNear(this.search.next());
      return this.reader.next()!;
    }
    this.target = ticks;
    this.startAt(cluster ?? { offset: this.head.firstCluster, time: 0 });
    this.reader.seek(cluster?.offset ?? this.head.firstCluster);
    return cluster?.offset ?? this.head.firstCluster;
  }

  /** Reading starts at this Cluster: blocks before its time are passed over, the outputs start afresh. */
  private startAt(cluster: { time: number }): void {
    this.from = cluster.time;
    for (const o of this.outputs) o.reset(this.from, this.target);
  }

  position(): number {
    if (this.ended) return Infinity;
    return Math.min(...this.outputs.map((o) => o.newest)) / this.rate;
  }

  wanted(): number | null {
    return this.ended ? null : this.reader.next();
  }

  finishedTracks(): number[] {
    return this.ended ? this.outputs.map((o) => o.track.number) : [];
  }

  takeCues(): TextCue[] {
    const cues = this.cues;
    this.cues = [];
    return cues;
  }

  push(offset: number, data: Uint8Array): Fragment[] {
    const out: Fragment[] = [];
    let blocks = this.reader.push(offset, data);
    const found = this.reader.found;
    if (found && this.search) {
      if (!this.search.found(found.offset, found.time)) {
        this.reader.seekNear(this.search.next());
        return out;
      }
      this.search = null;
      this.startAt(found);
      blocks = this.reader.readOn();
    }
    for (const block of blocks) this.route(block, out);
    this.ended = this.reader.next() === null;
    for (const o of this.outputs) o.flush(out, this.ended);
    return out;
  }

  private route(block: Block, out: Fragment[]): void {
    const output = this.outputs.find((o) => o.track.number === block.track);
    if (output) {
      if (block.time >= this.from || output.track.type !== 'video') output.add(block, out);
      return;
    }
    const text = this.texts.find((t) => t.number === block.track);
    if (text) this.readCue(text, block);
  }

  private readCue(track: MatroskaTrack, block: Block): void {
    const kind = textKind(track.codecId);
    const raw = new TextDecoder().decode(block.frames[0]);
    const said = kind === 'ass' ? assEventText(raw, 8) : raw.replace(/\r\n?/g, '\n').trim();
    if (!said) return;
    const start = block.time / this.rate;
    const end = block.duration !== null ? start + block.duration / this.rate : start + DEFAULT_CUE_SECONDS;
    const cue = { trackId: track.number, index: block.time, part: 0, start, end, text: said, settings: '' };
    this.cues.push(kind === 'ass' ? { ...cue, assEvent: raw } : cue);
  }
}
