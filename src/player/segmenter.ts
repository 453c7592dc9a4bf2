/**
 * mp4box.js behind a small interface: feed bytes at their file offsets, learn which offset it wants next,
 * and receive fragmented segments per track. Sample data is released as soon as a segment is appended,
 * which is what keeps memory flat (gpac/mp4box.js#315).
 */
import { createFile, Log, MP4BoxBuffer, type ISOFile, type Movie } from 'mp4box';

Log.setLogLevel(Log.error);

export interface TrackInfo {
  id: number;
  kind: 'video' | 'audio';
  codec: string;
  /** MIME type with codecs, for isTypeSupported and addSourceBuffer. */
  mime: string;
  init: ArrayBuffer;
}

export interface Segment {
  trackId: number;
  data: ArrayBuffer;
  /** The first sample not in this segment, for releaseUsedSamples. */
  nextSample: number;
  /** Presentation end of the segment, seconds. */
  endTime: number;
  last: boolean;
}

/** Samples per segment; mp4box needs the same count on every track or it silently skips one. */
const SAMPLES_PER_SEGMENT = 60;
/** Bytes per segment, far below Chromium's 12 MiB audio quota. */
const BYTES_PER_SEGMENT = 2 * 1024 * 1024;

export class Segmenter {
  onReady: ((info: Movie) => void) | null = null;
  onSegment: ((segment: Segment) => void) | null = null;
  onError: ((message: string) => void) | null = null;
  private readonly file: ISOFile<number, unknown>;
  private info: Movie | null = null;
  private readonly finished = new Set<number>();

  constructor() {
    this.file = createFile() as ISOFile<number, unknown>;
    this.file.onReady = (info) => {
      this.info = info;
      this.onReady?.(info);
    };
    this.file.onError = (_module, message) => this.onError?.(message);
    this.file.onSegment = (trackId, _user, data, nextSample, last) => {
      if (last) this.finished.add(trackId);
      const sample = this.file.getTrackSamplesInfo(trackId)[nextSample - 1];
      const endTime = sample ? (sample.cts + sample.duration) / sample.timescale : 0;
      this.onSegment?.({ trackId, data, nextSample, endTime, last });
    };
  }

  get ready(): boolean {
    return this.info !== null;
  }

  get movie(): Movie | null {
    return this.info;
  }

  /** Feeds bytes that start at `offset`; returns the offset mp4box wants next. */
  append(offset: number, bytes: Uint8Array): number {
    const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    return this.file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(copy, offset));
  }

  /** The tracks to play, with their init segments; starts segmentation. */
  tracks(): TrackInfo[] {
    const info = this.info;
    if (!info) throw new Error('no movie yet');
    const playable = info.tracks.filter((t) => info.videoTracks.includes(t) || info.audioTracks.includes(t));
    for (const t of playable) {
      this.file.setSegmentOptions(t.id, t.id, { nbSamples: SAMPLES_PER_SEGMENT, sizePerSegment: BYTES_PER_SEGMENT, rapAlignement: false });
    }
    const inits = this.file.initializeSegmentation('per-track');
    this.file.start();
    return inits.map((init) => {
      const track = playable.find((t) => t.id === init.id)!;
      const kind = info.videoTracks.includes(track) ? 'video' : 'audio';
      return { id: track.id, kind, codec: track.codec, mime: `${kind}/mp4; codecs="${track.codec}"`, init: init.buffer };
    });
  }

  /** Offset to fetch from to play at `time`, from the keyframe at or before it. */
  seek(time: number): number {
    this.finished.clear();
    return this.file.seek(time, true).offset;
  }

  release(trackId: number, nextSample: number): void {
    this.file.releaseUsedSamples(trackId, nextSample);
  }

  /** Emits what is left once the input ended. */
  flush(): void {
    this.file.flush();
  }

  /** Every track has produced its last segment. */
  get complete(): boolean {
    return this.info !== null && this.info.tracks.length > 0 && this.trackIds().every((id) => this.finished.has(id));
  }

  /** Where the media data ends: one past the last byte of the last sample. */
  dataEnd(): number {
    let end = 0;
    for (const id of this.trackIds()) {
      for (const s of this.file.getTrackSamplesInfo(id)) end = Math.max(end, s.offset + s.size);
    }
    return end;
  }

  private trackIds(): number[] {
    const info = this.info;
    return info ? [...info.videoTracks, ...info.audioTracks].map((t) => t.id) : [];
  }
}
