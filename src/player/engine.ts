/** What the page and tests see of a playback engine. */
import type { ErrorCode } from '../protocol/codes.js';

export interface EngineStats {
  engine: 'mse' | 'native' | null;
  state: 'idle' | 'loading' | 'playing' | 'ended' | 'error';
  bytesReceived: number;
  totalBytes: number | null;
  /** Operations waiting in the SourceBuffer queues. */
  queueDepth: number;
  bufferedAhead: number;
  bufferedBehind: number;
  /** Bytes the player holds outside the browser's media buffers: queued segments and unread transfer data. */
  bytesHeld: number;
  /** Bytes per second over the last few seconds. */
  speed: number;
  codecs: string[];
  buffered: [number, number][];
  reconnects: number;
  quotaHits: number;
  error: { code: ErrorCode; message: string } | null;
}

/** An audio track as the page's menu shows it. */
export interface AudioTrackInfo {
  id: number;
  language: string | null;
  /** The track's own name ("Commentary"), when the file gives one. */
  name?: string;
  codec: string;
  /** Whether this browser can play it. */
  playable: boolean;
  playing: boolean;
  /** Its channels, when the file says. */
  channels?: number;
  /** Played by converting it in the page. */
  converted?: boolean;
}

export interface Engine {
  stats(): Partial<EngineStats>;
  /** The file's audio tracks, where the engine can switch among them (else none). */
  audioTracks?(): AudioTrackInfo[];
  /** Plays another audio track from where playback is. */
  chooseAudio?(id: number): void;
  /** A picture of the film near `time`, `width` wide, for the timeline; null when none can be made. */
  preview?(time: number, width: number, signal: AbortSignal): Promise<ImageBitmap | null>;
  destroy(): void;
}

export function rangesOf(ranges: TimeRanges): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < ranges.length; i++) out.push([ranges.start(i), ranges.end(i)]);
  return out;
}

/** Seconds of `ranges` from `time` onwards without a gap, and seconds behind it. */
export function aroundPlayhead(ranges: TimeRanges, time: number, slack = 0.3): { ahead: number; behind: number; contains: boolean } {
  for (let i = 0; i < ranges.length; i++) {
    const start = ranges.start(i);
    const end = ranges.end(i);
    if (time >= start - slack && time <= end + slack) {
      return { ahead: Math.max(0, end - time), behind: Math.max(0, time - start), contains: time >= start - slack && time < end };
    }
  }
  return { ahead: 0, behind: 0, contains: false };
}
