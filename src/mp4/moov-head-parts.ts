/**
 * The moov's head from the few parts of the moov it is made of, for a moov too big to read whole before the
 * first frame (a 9 MB moov took ~50 ms here): every box whole but the sample tables, and of each table its
 * first TABLE_PREFIX bytes. Each part not yet read is one bounded range request (of PIECE bytes at least, so
 * the small boxes that follow come with it), on a kept connection; each trak's are asked for at once. The
 * head made from those parts is the same, byte for byte, as the one made from the whole moov: it is built by
 * the same code (moov-head.ts), and that code reads of a table only the entries it keeps (and one more). A
 * head whose every table stays well within the prefix read nothing else; one that does not is refused
 * (null), and the caller reads the whole.
 */
import { readBoxHeader } from './box.js';
import { leadsToTables, walkMoov } from './moov-walk.js';
import { moovHead, SAMPLE_TABLES } from './moov-head.js';

/** The file's `length` bytes from `offset`, all of them (a part of the moov); rejects with a FerryError. */
export type ReadRange = (offset: number, length: number) => Promise<Uint8Array>;

/** Bytes read of each sample table: ten seconds of tables are a few KB (a 60 fps video's ctts: 4.8 KB). */
const TABLE_PREFIX = 32 * 1024;
/** The least one request asks for. */
const PIECE = 32 * 1024;
/** A table of the head must end this far before the prefix does: its code reads one entry past what it keeps. */
const MARGIN = 64;

/** The head of the moov at `moovOffset`, from parts of it; null if it needs more than them. */
export async function headFromParts(
  read: ReadRange,
  moovOffset: number,
  moovSize: number,
  prefix = TABLE_PREFIX,
): Promise<Uint8Array | null> {
  // What was not read stays zero; the check below makes sure the head took nothing from there.
  const parts = new MoovParts(read, moovOffset, new Uint8Array(moovSize));
  if (!(await walk(parts, prefix, 0, moovSize, 0))) return null;
  const head = moovHead(parts.moov);
  return tablesWithin(head, prefix) ? head : null;
}

/**
 * The moov as far as one walk has read it. A walk reads forward, so one run of bytes (its last read) is all
 * there is to look in; each trak is walked by a walk of its own, at the same time as the others.
 */
class MoovParts {
  private from = 0;
  private to = 0;

  constructor(
    private readonly read: ReadRange,
    private readonly offset: number,
    readonly moov: Uint8Array,
  ) {}

  /** Another walk over the same moov, starting from what this one has read. */
  fork(): MoovParts {
    const parts = new MoovParts(this.read, this.offset, this.moov);
    [parts.from, parts.to] = [this.from, this.to];
    return parts;
  }

  /** Makes sure the moov's bytes from `start` to `end` are read: only those not read yet are asked for. */
  async need(start: number, end: number): Promise<void> {
    if (start >= this.from && end <= this.to) return;
    const joins = start >= this.from && start <= this.to;
    const at = joins ? this.to : start;
    const length = Math.min(Math.max(end - at, PIECE), this.moov.byteLength - at);
    this.moov.set(await this.read(this.offset + at, length), at);
    [this.from, this.to] = [joins ? this.from : at, at + length];
  }
}

/**
 * Reads the boxes between `start` and `end` of the moov, `depth` boxes deep; false for a damaged one. Each
 * trak is read by a walk of its own, so the round trips of one trak's tables do not wait for another's.
 */
async function walk(parts: MoovParts, prefix: number, start: number, end: number, depth: number): Promise<boolean> {
  const traks: Promise<boolean>[] = [];
  for (let pos = start; pos + 8 <= end; ) {
    await parts.need(pos, Math.min(pos + 16, end));
    const box = readBoxHeader(parts.moov, pos, 0, end);
    if (!box || box.size < box.headerSize || pos + box.size > end) return false;
    const into = leadsToTables(box.type, depth);
    if (into && box.type === 'trak') {
      const trak = walk(parts.fork(), prefix, pos + box.headerSize, pos + box.size, depth + 1);
      // Its failure is thrown below, or is moot if this walk returns first: never an unhandled rejection.
      trak.catch(() => {});
      traks.push(trak);
    } else if (into) {
      if (!(await walk(parts, prefix, pos + box.headerSize, pos + box.size, depth + 1))) return false;
    } else {
      await parts.need(pos, pos + (SAMPLE_TABLES.has(box.type) ? Math.min(box.size, prefix) : box.size));
    }
    pos += box.size;
  }
  return (await Promise.all(traks)).every(Boolean);
}

/**
 * Whether every sample table in the head ends within the prefix read of its table. The head's containers are
 * whole: moov-head.ts walks into the same boxes as `walk`, which refused any damaged one.
 */
function tablesWithin(head: Uint8Array, prefix: number): boolean {
  let within = true;
  walkMoov(head, {
    leaf: ({ type, box }) => void (within &&= !(SAMPLE_TABLES.has(type) && box.byteLength > prefix - MARGIN)),
  });
  return within;
}
