/**
 * Writes WebM for one track's SourceBuffer: an init segment (EBML header, a Segment of unknown size, its Info
 * and the track's own TrackEntry as the file has it) and Clusters of SimpleBlocks. The frames pass through as
 * they are: this is how VP8, VP9, AV1, Opus and Vorbis reach MSE, which takes them in WebM.
 */
import { joinBytes } from '../../protocol/bytes.js';
import { ID } from './ebml.js';

/** A Cluster's blocks are placed by a signed 16-bit offset from its timestamp. */
export const MAX_CLUSTER_TICKS = 32000;

export interface HeldFrame {
  data: Uint8Array;
  /** Ticks of the timestamp scale. */
  time: number;
  /** Ticks until the next frame. */
  duration: number;
  keyframe: boolean;
}

function idBytes(id: number): number[] {
  const out: number[] = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return out;
}

/** An element of known size (an 8-byte size field, which every reader takes). */
function el(id: number, ...parts: Uint8Array[]): Uint8Array {
  const size = parts.reduce((s, p) => s + p.byteLength, 0);
  const head = [...idBytes(id), 0x01];
  for (let k = 6; k >= 0; k--) head.push(Math.floor(size / 2 ** (8 * k)) % 256);
  return joinBytes([Uint8Array.from(head), ...parts]);
}

function uintBytes(value: number): Uint8Array {
  const out: number[] = [];
  for (let v = value; v > 0 || out.length === 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return Uint8Array.from(out);
}

export function webmInit(entry: Uint8Array, timestampScale: number, docType = 'webm'): ArrayBuffer {
  const header = el(
    ID.ebml,
    el(ID.docType, new TextEncoder().encode(docType)),
    el(0x4287, uintBytes(4)),
    el(0x4285, uintBytes(2)),
  );
  // A Segment of unknown size: the Clusters that follow belong to it, however many.
  const segment = Uint8Array.of(...idBytes(ID.segment), 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
  const info = el(ID.info, el(ID.timestampScale, uintBytes(timestampScale)));
  const out = joinBytes([header, segment, info, el(ID.tracks, entry)]);
  return out.buffer as ArrayBuffer;
}

/**
 * One Cluster of `frames` (at most MAX_CLUSTER_TICKS apart) of track `number`, each a BlockGroup with its
 * duration. Browsers otherwise guess how long a Cluster's last frame lasts, and a guess short of the next
 * Cluster leaves a gap Chromium's MSE will not play across (a WebM whose frames are 0.9 s apart after its
 * first 0.2 s waited for ever at its start); and Chromium dropped a last BlockGroup after SimpleBlocks.
 */
/** A TrackEntry of an audio track numbered 1, for a file written to be read back (the page's audio decoding). */
export function audioTrackEntry(codecId: string, sampleRate: number, channels: number): Uint8Array {
  const rate = new Uint8Array(8);
  new DataView(rate.buffer).setFloat64(0, sampleRate);
  const audio = el(ID.audio, el(ID.samplingFrequency, rate), el(ID.channels, uintBytes(channels)));
  const uid = el(0x73c5, uintBytes(1));
  const head = [el(ID.trackNumber, uintBytes(1)), uid, el(ID.trackType, uintBytes(2))];
  return el(ID.trackEntry, ...head, el(ID.codecId, new TextEncoder().encode(codecId)), audio);
}

export function webmCluster(
  take: (size: number) => Uint8Array<ArrayBuffer>,
  number: number,
  frames: HeldFrame[],
): Uint8Array<ArrayBuffer> {
  const base = frames[0]!.time;
  const track = number < 127 ? [0x80 | number] : [0x40 | (number >> 8), number & 0xff];
  const parts: Uint8Array[] = [el(ID.timestamp, uintBytes(base))];
  for (const f of frames) {
    const relative = Math.round(f.time - base);
    const block = el(ID.block, Uint8Array.of(...track, (relative >> 8) & 0xff, relative & 0xff, 0), f.data);
    const duration = el(ID.blockDuration, uintBytes(Math.max(1, Math.round(f.duration))));
    // A BlockGroup is a keyframe unless it refers to another frame.
    const reference = f.keyframe ? [] : [el(ID.referenceBlock, Uint8Array.of(0xff))];
    parts.push(el(ID.blockGroup, block, duration, ...reference));
  }
  const cluster = el(ID.cluster, ...parts);
  const out = take(cluster.byteLength);
  out.set(cluster);
  return out;
}
