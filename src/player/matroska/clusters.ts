/**
 * Reads a Matroska file's Clusters as their bytes arrive, from any Cluster on: SimpleBlocks and BlockGroups,
 * with Xiph, EBML and fixed lacing undone, Clusters of unknown size (a recording's) ended by the next
 * top-level element, and everything else stepped over by its size. Bytes are held only until read.
 */
import { ByteWindow } from '../byte-window.js';
import { damaged } from './head.js';
import { element, ID, SEGMENT_CHILDREN, uint, vint, type Element } from './ebml.js';

export interface Block {
  track: number;
  /** Ticks of the timestamp scale, from the Segment's start. */
  time: number;
  /** Ticks, when a BlockGroup says. */
  duration: number | null;
  keyframe: boolean;
  frames: Uint8Array[];
}

/** A block bigger than this is no frame of a film: the file is damaged. */
const MAX_BLOCK_BYTES = 64 * 1024 * 1024;
const HEADER_BYTES = 12;
/** A Cluster is looked for this far from where a search put the reading; Clusters are a few MB at most. */
const MAX_SCAN_BYTES = 32 * 1024 * 1024;

export class ClusterReader {
  private readonly window = new ByteWindow();
  /** Where the next element's header is. */
  private pos = 0;
  /** The end of the Cluster being read (Infinity when its size is unknown), or -1 between Clusters. */
  private clusterEnd = -1;
  private clusterTime = 0;

  constructor(
    private readonly segmentEnd: number,
    /** Whether blocks of this track are wanted (the others are stepped over, never copied). */
    private readonly wanted: (track: number) => boolean,
  ) {}

  /** Looks for a Cluster from `offset` on (no index says where one starts): `found` says where and when. */
  private scanning = false;
  private scanAt = 0;
  found: { offset: number; time: number } | null = null;

  /** Reads on from the Cluster at `offset`. */
  seek(offset: number): void {
    this.pos = offset;
    this.clusterEnd = -1;
    this.scanning = false;
    this.found = null;
    this.window.reset(offset);
  }

  /** Looks for the first Cluster at or after `offset`; reading stops there until `readOn`. */
  seekNear(offset: number): void {
    this.seek(offset);
    this.scanning = true;
    this.scanAt = offset;
  }

  /**
   * Where the next bytes must come from, or null when the Segment is read to its end: after the bytes held,
   * or further on past an element stepped over.
   */
  next(): number | null {
    if (this.pos >= this.segmentEnd) return null;
    return this.scanning || (this.pos >= this.window.start && this.pos <= this.window.end) ? this.window.end : this.pos;
  }

  get held(): number {
    return this.window.size;
  }

  /** Takes bytes at `offset` and returns the blocks they complete. */
  push(offset: number, data: Uint8Array): Block[] {
    this.window.append(offset, data);
    if (this.scanning) this.scan();
    return this.found || this.scanning ? [] : this.readOn();
  }

  /** Reads the bytes held on from where reading is (after a Cluster `found`, from it). */
  readOn(): Block[] {
    this.found = null;
    const blocks: Block[] = [];
    while (this.pos < this.segmentEnd && this.step(blocks));
    this.window.dropBefore(Math.min(this.pos, this.window.end));
    return blocks;
  }

  /**
   * Finds a Cluster's id among the bytes held, followed by a size and a Timestamp (after a CRC-32), as
   * Clusters begin (the four bytes alone could be a coincidence in a frame). Past the Segment's end, `found`
   * has time Infinity.
   */
  private scan(): void {
    const from = Math.max(this.scanAt, this.window.start);
    if (from >= this.window.end) return;
    const bytes = this.window.copy(from, this.window.end - from);
    for (let i = 0; i + 4 <= bytes.byteLength; i++) {
      if (bytes[i] !== 0x1f || bytes[i + 1] !== 0x43 || bytes[i + 2] !== 0xb6 || bytes[i + 3] !== 0x75) continue;
      const cluster = element(bytes, i);
      let first = cluster && element(bytes, cluster.start);
      // A CRC-32 (ffmpeg writes one first in every Cluster) may come before the Timestamp.
      if (first?.id === ID.crc32) first = element(bytes, first.end);
      if (!cluster || !first || first.end > bytes.byteLength) return this.scanFrom(from + i);
      if (first.id !== ID.timestamp || first.end - first.start > 8) continue;
      this.scanning = false;
      this.pos = from + i;
      this.found = { offset: from + i, time: uint(bytes, first) };
      return;
    }
    if (this.window.end >= this.segmentEnd) {
      this.scanning = false;
      this.found = { offset: this.segmentEnd, time: Infinity };
      return;
    }
    this.scanFrom(Math.max(from, this.window.end - 3));
  }

  /** The next look starts at `offset`: the bytes before it go. */
  private scanFrom(offset: number): void {
    if (offset - this.pos > MAX_SCAN_BYTES)
      throw damaged(`no Cluster within ${MAX_SCAN_BYTES / 2 ** 20} MB of byte ${this.pos}`);
    this.scanAt = offset;
    this.window.dropBefore(offset);
  }

  /** Reads one element at `pos`; false when its bytes are not all here yet. */
  private step(blocks: Block[]): boolean {
    if (this.clusterEnd >= 0 && this.pos >= this.clusterEnd) this.clusterEnd = -1;
    if (this.pos < this.window.start || this.pos >= this.window.end) return false;
    const head = this.window.copy(this.pos, Math.min(HEADER_BYTES, this.window.end - this.pos));
    const e = element(head, 0, this.pos);
    if (!e) {
      if (head.byteLength === HEADER_BYTES) throw damaged(`an element at byte ${this.pos} cannot be read`);
      return false;
    }
    if (this.clusterEnd === Infinity && SEGMENT_CHILDREN.has(e.id)) this.clusterEnd = -1;
    if (e.id === ID.cluster) {
      this.clusterEnd = e.end;
      this.clusterTime = 0;
      this.pos = e.start;
      return true;
    }
    if (!Number.isFinite(e.end)) throw damaged(`an element of unknown size at byte ${this.pos}`);
    if (this.clusterEnd >= 0 && (e.id === ID.timestamp || e.id === ID.simpleBlock || e.id === ID.blockGroup)) {
      if (e.end - e.start > MAX_BLOCK_BYTES) throw damaged(`a block at byte ${this.pos} is too large`);
      if (e.end > this.window.end) return false;
      this.inCluster(e, blocks);
    }
    this.pos = e.end;
    return true;
  }

  private inCluster(e: Element, blocks: Block[]): void {
    if (e.id === ID.timestamp) {
      this.clusterTime = uint(this.window.copy(e.start, e.end - e.start), {
        id: 0,
        at: 0,
        start: 0,
        end: e.end - e.start,
      });
      return;
    }
    const peek = this.window.copy(e.start, Math.min(16, e.end - e.start));
    // A BlockGroup's first child is most often its Block: its track is read without copying the rest.
    const first = e.id === ID.blockGroup ? element(peek, 0) : null;
    const track = vint(peek, first ? first.start : 0, false);
    if (track && !this.wanted(track.value)) return;
    const data = this.window.copy(e.start, e.end - e.start);
    const block = e.id === ID.simpleBlock ? readBlock(data, true, this.clusterTime) : readGroup(data, this.clusterTime);
    if (block && this.wanted(block.track)) blocks.push(block);
  }
}

function readGroup(b: Uint8Array, clusterTime: number): Block | null {
  let block: Block | null = null;
  let duration: number | null = null;
  let referenced = false;
  for (let pos = 0; pos < b.byteLength;) {
    const e = element(b, pos);
    if (!e || e.end > b.byteLength) break;
    if (e.id === ID.block) block = readBlock(b.subarray(e.start, e.end), false, clusterTime);
    if (e.id === ID.blockDuration) duration = uint(b, e);
    if (e.id === ID.referenceBlock) referenced = true;
    pos = e.end;
  }
  if (block) Object.assign(block, { duration, keyframe: !referenced });
  return block;
}

/** A Block's header (track, relative time, flags) and its frames, laced or not. */
function readBlock(b: Uint8Array, simple: boolean, clusterTime: number): Block | null {
  const track = vint(b, 0, false);
  if (!track || b.byteLength < track.length + 3) return null;
  const at = track.length;
  const relative = ((b[at]! << 24) >> 16) | b[at + 1]!;
  const flags = b[at + 2]!;
  const frames = unlace(b, at + 3, (flags >> 1) & 3);
  if (!frames) throw damaged('a laced block cannot be read');
  return {
    track: track.value,
    time: clusterTime + relative,
    duration: null,
    keyframe: simple && (flags & 0x80) !== 0,
    frames,
  };
}

/** The frames of a block's payload at `pos`: one, or those its lacing (1 Xiph, 2 fixed, 3 EBML) packs. */
function unlace(b: Uint8Array, pos: number, lacing: number): Uint8Array[] | null {
  if (lacing === 0) return [b.subarray(pos)];
  const count = (b[pos] ?? 0) + 1;
  pos++;
  const sizes: number[] = [];
  if (lacing === 1) {
    for (let k = 0; k < count - 1; k++) {
      let size = 0;
      for (let byte = 255; byte === 255 && pos < b.byteLength; pos++) size += byte = b[pos]!;
      sizes.push(size);
    }
  } else if (lacing === 3) {
    const first = vint(b, pos, false);
    if (!first) return null;
    sizes.push(first.value);
    pos += first.length;
    for (let k = 1; k < count - 1; k++) {
      const delta = vint(b, pos, false);
      if (!delta) return null;
      // A signed difference: the unsigned value less half its range.
      sizes.push(sizes[k - 1]! + delta.value - (2 ** (7 * delta.length - 1) - 1));
      pos += delta.length;
    }
  }
  const rest = b.byteLength - pos - sizes.reduce((s, n) => s + n, 0);
  if (lacing === 2) sizes.push(...Array<number>(count - 1).fill((b.byteLength - pos) / count));
  sizes.push(lacing === 2 ? (b.byteLength - pos) / count : rest);
  if (sizes.some((n) => !Number.isInteger(n) || n < 0)) return null;
  const frames: Uint8Array[] = [];
  for (const size of sizes) {
    frames.push(b.subarray(pos, pos + size));
    pos += size;
  }
  return pos === b.byteLength ? frames : null;
}
