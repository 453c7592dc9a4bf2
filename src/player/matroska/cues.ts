/**
 * The Cues: the seek index of a Matroska file, a time and a Cluster's place for each keyframe its muxer
 * listed (usually one per video keyframe, at the end of the file). Held as two typed arrays.
 */
import { lastAtOrBelow } from '../search.js';
import { children, element, ID, uint, type Element } from './ebml.js';

/** Past this, the Cues are not read (a sane film's are tens of kilobytes); the file seeks by search instead. */
export const MAX_CUES_BYTES = 8 * 1024 * 1024;

export interface CueIndex {
  /** Ticks of the timestamp scale, ascending. */
  times: Float64Array;
  /** File offsets of the Clusters. */
  offsets: Float64Array;
}

/**
 * The cue points of `track` (another track's when it has none), from the Cues element `b` begins with;
 * positions are relative to the Segment's data at `segmentStart`.
 */
export function readCues(b: Uint8Array, segmentStart: number, track: number): CueIndex {
  const cues = element(b, 0);
  const points: { time: number; track: number; offset: number }[] = [];
  if (cues && cues.id === ID.cues) {
    for (const point of children(b, cues.start, Math.min(cues.end, b.byteLength))) {
      if (point.id === ID.cuePoint) readPoint(b, point, segmentStart, points);
    }
  }
  const own = points.filter((p) => p.track === track);
  const chosen = (own.length ? own : points).sort((x, y) => x.time - y.time);
  return { times: Float64Array.from(chosen, (p) => p.time), offsets: Float64Array.from(chosen, (p) => p.offset) };
}

function readPoint(
  b: Uint8Array,
  point: Element,
  segmentStart: number,
  out: { time: number; track: number; offset: number }[],
): void {
  let time = 0;
  const positions: { track: number; offset: number }[] = [];
  for (const e of children(b, point.start, point.end)) {
    if (e.id === ID.cueTime) time = uint(b, e);
    if (e.id !== ID.cueTrackPositions) continue;
    let track = 0;
    let offset = -1;
    for (const f of children(b, e.start, e.end)) {
      if (f.id === ID.cueTrack) track = uint(b, f);
      if (f.id === ID.cueClusterPosition) offset = segmentStart + uint(b, f);
    }
    if (offset >= segmentStart) positions.push({ track, offset });
  }
  for (const p of positions) out.push({ time, ...p });
}

/** The Cluster to read from to play from `ticks`: the last cue at or before it (the first cue if none). */
export function clusterBefore(index: CueIndex, ticks: number): { offset: number; time: number } | null {
  if (index.times.length === 0) return null;
  const i = Math.max(0, lastAtOrBelow(index.times, ticks));
  return { offset: index.offsets[i]!, time: index.times[i]! };
}
