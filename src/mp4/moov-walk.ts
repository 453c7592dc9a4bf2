/**
 * The one walk into a moov, for every reader and writer of one: the relay's head and index coding, the page's
 * tables and init segment. It descends only along the path to the sample tables, so a moov of boxes nested a
 * million deep is walked five levels deep, its deeper boxes taken as opaque (issue 23: such a chain
 * overflowed the stack, or held ~600 B per level in an async walk).
 */
import { joinBytes } from '../protocol/bytes.js';
import { boxHeader, readBoxHeader } from './box.js';

/** The boxes that lead from a moov to its sample tables, each inside the one before. */
const MOOV_PATH = ['moov', 'trak', 'mdia', 'minf', 'stbl'];

/** Whether a box of `type`, `depth` boxes deep in a walk that starts at the moov itself (0), is one to walk into. */
export function leadsToTables(type: string, depth: number): boolean {
  return MOOV_PATH[depth] === type;
}

/** A box the walk does not enter (a sample table, a tkhd, an mdhd, an stsd...), and where it sits. */
export interface MoovLeaf {
  type: string;
  /** The whole box, header included. */
  box: Uint8Array;
  payload: Uint8Array;
  /** The trak it is in, by its place among the moov's traks (from 0), with the trak's payload; null outside one. */
  trak: { index: number; payload: Uint8Array } | null;
}

export interface MoovVisitor {
  /** A box walked into, before its children. */
  enter?(type: string): void;
  /** The end of the box last entered. */
  leave?(type: string): void;
  leaf(leaf: MoovLeaf): void;
  /** The bytes from a damaged box (one claiming more than its parent holds) to the end of its parent. */
  damaged?(bytes: Uint8Array): void;
}

/**
 * Walks the moov (the bytes of the moov box, header included), telling `visit` what it meets in file order;
 * returns how many traks it met.
 */
export function walkMoov(moov: Uint8Array, visit: MoovVisitor): number {
  const seen = { traks: 0 };
  walk(moov, 0, moov.byteLength, 0, null, visit, seen);
  return seen.traks;
}

function walk(
  moov: Uint8Array,
  start: number,
  end: number,
  depth: number,
  trak: MoovLeaf['trak'],
  visit: MoovVisitor,
  seen: { traks: number },
): void {
  for (let pos = start; pos + 8 <= end; ) {
    const box = readBoxHeader(moov, pos, 0, end);
    if (!box || box.size < box.headerSize || pos + box.size > end) return visit.damaged?.(moov.subarray(pos, end));
    const payload = moov.subarray(pos + box.headerSize, pos + box.size);
    if (leadsToTables(box.type, depth)) {
      visit.enter?.(box.type);
      const inner = box.type === 'trak' ? { index: seen.traks++, payload } : trak;
      walk(moov, pos + box.headerSize, pos + box.size, depth + 1, inner, visit, seen);
      visit.leave?.(box.type);
    } else {
      visit.leaf({ type: box.type, box: moov.subarray(pos, pos + box.size), payload, trak });
    }
    pos += box.size;
  }
}

/**
 * The moov built again with each box the walk does not enter as `replace` gives it (null: kept as it is; an
 * empty array: dropped), and the boxes it enters sized to their new children. A damaged box and what follows
 * it in its parent are kept as they are, or dropped. Also says how many traks the moov has.
 */
export function rebuildMoov(
  moov: Uint8Array,
  replace: (leaf: MoovLeaf) => Uint8Array | null,
  damaged: 'keep' | 'drop',
): { bytes: Uint8Array; traks: number } {
  const levels: Uint8Array[][] = [[]];
  const here = (): Uint8Array[] => levels[levels.length - 1]!;
  const traks = walkMoov(moov, {
    enter: () => void levels.push([]),
    leave: (type) => {
      const children = levels.pop()!;
      here().push(boxHeader(type, 8 + children.reduce((n, c) => n + c.byteLength, 0)), ...children);
    },
    leaf: (leaf) => void here().push(replace(leaf) ?? leaf.box),
    damaged: (bytes) => void (damaged === 'keep' && here().push(bytes)),
  });
  return { bytes: joinBytes(levels[0]!), traks };
}
