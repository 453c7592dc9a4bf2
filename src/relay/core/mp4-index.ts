/**
 * Index streams (`open` with `index: 'mp4'`). The relay, at the origin's distance, walks the file's top-level
 * boxes by range, finds the moov, and sends the page its ftyp and the moov's head (its first seconds, a few
 * KB: moov-head.ts); then, once the page asks with credit after its first frame, the moov with the chunk
 * offsets delta-coded and deflated: about 8 % of the moov's bytes, which the page would otherwise fetch whole
 * across its own, slower link, after a round trip to learn where the moov is. A file that is no MP4 is
 * passed on from its first byte, as a plain open would.
 *
 * Building takes turns (index-turns.ts): the walk to the moov, the head, and the whole's coding each hold one
 * while they run, and a moov is held only within one, within 64 MB across the relay, so a hundred 8 GB films
 * starting together cost a bounded amount; a stream waiting for its reader's credit holds neither. The whole
 * is coded at once into its deflated bytes (about 8 % of the moov's) before any is sent. Deflate is
 * deterministic, so a stream that resumes at an offset of the index is answered by coding again and skipping
 * to it.
 */
import { joinBytes } from '../../protocol/bytes.js';
import { FerryError } from '../../protocol/codes.js';
import type { MoovIndex } from '../../protocol/frames.js';
import { indexLost, moovTooLarge, readBoxHeader, startsAnMp4, TOP_LEVEL, type BoxHeader } from '../../mp4/box.js';
import { encodeChunkOffsets } from '../../mp4/chunk-offsets.js';
import { INDEX_MAX_FTYP_BYTES, INDEX_MAX_MOOV_BYTES } from '../../protocol/limits.js';
import { BoxCursor } from './box-cursor.js';
import { moovHead } from '../../mp4/moov-head.js';
import { headFromParts } from '../../mp4/moov-head-parts.js';
import { Gate } from './gate.js';
import type { IndexTurns } from './index-turns.js';
import { asFerryError, type OpenUpstream, type UpstreamRequest, type UpstreamResponse } from './upstream.js';

/** Bytes of moovs held by the relay at once. */
const held = new Gate(INDEX_MAX_MOOV_BYTES);
/**
 * Parts of moovs read at once, across the relay and for one index: each is a range request on a connection of
 * its own. A moov of 204 traks, each walked at once, had one socket hold ~980 upstream connections (issue 23).
 */
const partReads = new Gate(16);
const PART_READS_PER_INDEX = 4;
/**
 * A moov up to this size is read whole for its head: one request. A bigger one costs more to read than its
 * head's parts, ten or so small range requests in four or five rounds (each trak's at once), from an origin
 * near the relay.
 */
const WHOLE_READ_BYTES = 4 * 1024 * 1024;
/**
 * An origin that answered the first request within this is near enough for those rounds: five of them cost
 * at most 250 ms, what 10.9 MB take to come at 350 Mbit/s.
 */
const NEAR_ORIGIN_MS = 50;

export async function openIndex(
  open: OpenUpstream,
  turns: IndexTurns,
  req: UpstreamRequest,
): Promise<UpstreamResponse> {
  const leave = await turns.enter(req.signal);
  try {
    return await buildIndex(open, req, work(turns, req.signal));
  } finally {
    leave();
  }
}

/** Runs a job that holds a moov of `bytes`, in a turn of its own and within the bytes held across the relay. */
type Work = <T>(bytes: number, job: () => Promise<T>) => Promise<T>;

function work(turns: IndexTurns, signal: AbortSignal): Work {
  return async (bytes, job) => {
    const exits = [await turns.enter(signal)];
    try {
      exits.push(await held.enter(signal, bytes));
      return await job();
    } finally {
      exits.forEach((exit) => exit());
    }
  };
}

/** The index stream's answer: its meta once the moov is found, its body built in turns of `inTurn`. */
async function buildIndex(open: OpenUpstream, req: UpstreamRequest, inTurn: Work): Promise<UpstreamResponse> {
  const asked = Date.now();
  const first = await open({ ...req, offset: 0, end: undefined });
  const near = Date.now() - asked < NEAR_ORIGIN_MS;
  const { meta } = first;
  // Every later range is of the version the first answer was, whatever the request pinned.
  const at = (offset: number): Promise<UpstreamResponse> => open({ ...req, offset, end: undefined, validator: meta.validator ?? undefined });
  const cursor = new BoxCursor(first, at);
  try {
    let ftyp: Uint8Array = new Uint8Array(0);
    let mediaOffset: number | null = null;
    for (;;) {
      const box = await nextBox(cursor, meta.total);
      if (!box) return await passThrough(cursor, req, at);
      if (box.type === 'moov') {
        if (box.size > INDEX_MAX_MOOV_BYTES) throw moovTooLarge(box.size);
        if (meta.total !== null && box.offset + box.size > meta.total) throw indexLost(meta.total, box.offset + box.size);
        // The meta leaves now, so the media (opened by the relay, or asked for by the page) comes while the
        // moov is read.
        const index: MoovIndex = { encoding: 'head-delta-deflate', ftypSize: ftyp.byteLength, moovOffset: box.offset, moovSize: box.size, mediaOffset };
        let headEnd: number | null = null;
        const reads = moovReads(open, { ...req, validator: meta.validator ?? undefined }, box, near);
        const body = indexBody(cursor, reads, { ftyp, skip: req.offset, inTurn }, (end) => (headEnd = end));
        const destroy = (): void => (cursor.destroy(), void body.return(undefined));
        return { meta: { ...meta, status: 200, offset: req.offset, length: null, ranges: true, index }, body, destroy, creditEnd: () => headEnd };
      }
      // An empty mdat (a file stripped of its media) has no media to open.
      if (box.type === 'mdat' && box.size > box.headerSize) mediaOffset ??= box.offset + box.headerSize;
      if (box.type === 'ftyp' && box.size <= INDEX_MAX_FTYP_BYTES) ftyp = await cursor.read(box.size);
      else if (Number.isFinite(box.size) && (meta.total === null || box.offset + box.size < meta.total)) await cursor.skipTo(box.offset + box.size);
      else throw meta.total !== null && box.offset + box.size > meta.total ? indexLost(meta.total, box.offset + box.size) : new FerryError('no_index');
    }
  } catch (err) {
    cursor.destroy();
    throw asFerryError(err);
  }
}

/** The box at the cursor: null at the start of a file that is no MP4; an error where an MP4 breaks off. */
async function nextBox(cursor: BoxCursor, total: number | null): Promise<BoxHeader | null> {
  const head = await cursor.peek(16);
  const box = readBoxHeader(head, 0, cursor.position, total);
  const valid = box !== null && TOP_LEVEL.has(box.type) && box.size >= box.headerSize;
  if (valid && (cursor.position > 0 || startsAnMp4(box.type))) return box;
  if (cursor.position === 0) return null;
  throw new FerryError('no_index', `the file is damaged: no MP4 box at byte ${cursor.position}`);
}

/** Not an MP4: the file's own bytes, from where the request asked, with no index. */
async function passThrough(cursor: BoxCursor, req: UpstreamRequest, at: (offset: number) => Promise<UpstreamResponse>): Promise<UpstreamResponse> {
  const upstream = req.offset === 0 ? cursor.rest() : (cursor.destroy(), await at(req.offset));
  return { ...upstream, meta: { ...upstream.meta, index: null } };
}

/**
 * The index stream's body from byte `skip` on: the ftyp and the moov's head as they are, then the whole moov,
 * its chunk offsets delta-coded, deflated. `headAt` learns where the head ends, when `skip` is before it: the
 * stream stops there until the page asks for the whole, and gives this body up. A start of a film whose moov
 * is big reads only the parts of the moov the head is made of (moov-head-parts.ts). Throws only FerryErrors.
 */
async function* indexBody(
  cursor: BoxCursor,
  reads: MoovReads,
  at: BodyStart,
  headAt: (end: number) => void,
): AsyncGenerator<Uint8Array, void, undefined> {
  let left = at.skip;
  const from = function* (parts: Uint8Array[]): Generator<Uint8Array> {
    for (const part of parts) {
      if (left >= part.byteLength) left -= part.byteLength;
      else if (part.byteLength > 0) {
        yield left > 0 ? part.subarray(left) : part;
        left = 0;
      }
    }
  };
  try {
    const { head, whole } = await at.inTurn(reads.size, () => headAndWhole(cursor, reads, at));
    cursor.destroy();
    const headEnd = at.ftyp.byteLength + head.byteLength;
    if (at.skip < headEnd) headAt(headEnd);
    yield* from([at.ftyp, head]);
    yield* from(whole ?? (await at.inTurn(reads.size, async () => codedWhole(await reads.whole()))));
  } catch (err) {
    throw asFerryError(err);
  } finally {
    cursor.destroy();
  }
}

interface HeadAndWhole {
  head: Uint8Array;
  /** The whole, coded: only for a stream resumed past the head. */
  whole: Uint8Array[] | null;
}

/** Where an index stream's body starts, what comes before the moov, and how its work takes turns. */
interface BodyStart {
  ftyp: Uint8Array;
  skip: number;
  inTurn: Work;
}

/**
 * The moov's head, and the whole coded only for a stream resumed past the head (from the same moov, in the
 * same turn): a stream that sends the head is given up there, and its whole is coded by another, later.
 */
async function headAndWhole(cursor: BoxCursor, reads: MoovReads, at: BodyStart): Promise<HeadAndWhole> {
  const inParts = at.skip === 0 && reads.inParts;
  if (inParts) {
    cursor.destroy();
    const head = await reads.head();
    if (head) return { head, whole: null };
  }
  // After parts that were not enough, the cursor is gone: the moov is read again, whole.
  const moov = !inParts && cursor.position === reads.offset ? await cursor.read(reads.size) : await reads.whole();
  cursor.destroy();
  const head = moovHead(moov);
  return { head, whole: at.skip >= at.ftyp.byteLength + head.byteLength ? await codedWhole(moov) : null };
}

/** Ways to read the moov at `offset` of `size` bytes, pinned to the first answer's version. */
interface MoovReads {
  offset: number;
  size: number;
  /** Whether the head is best read in parts: a big moov, an origin near. */
  inParts: boolean;
  whole: () => Promise<Uint8Array>;
  /** The head from parts of the moov; null when the parts are not enough (moov-head-parts.ts). */
  head: () => Promise<Uint8Array | null>;
}

function moovReads(open: OpenUpstream, req: UpstreamRequest, moov: BoxHeader, near: boolean): MoovReads {
  const reading = new Gate(PART_READS_PER_INDEX);
  // A part of the moov, all of it: an answer that ends short is a file cut inside its index.
  const bytes = async (offset: number, length: number): Promise<Uint8Array> => {
    const exits = [await reading.enter(req.signal)];
    try {
      exits.push(await partReads.enter(req.signal));
      return await rangeBytes(open, req, offset, length);
    } finally {
      exits.forEach((exit) => exit());
    }
  };
  return {
    offset: moov.offset,
    size: moov.size,
    inParts: near && moov.size > WHOLE_READ_BYTES,
    whole: () => bytes(moov.offset, moov.size),
    head: () => headFromParts(bytes, moov.offset, moov.size),
  };
}

/** `length` bytes of the file from `offset`, all of them: an answer that ends short is a file cut inside its index. */
async function rangeBytes(
  open: OpenUpstream,
  req: UpstreamRequest,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  const answer = await open({ ...req, offset, end: offset + length - 1 });
  const parts: Uint8Array[] = [];
  try {
    for (let next = await answer.body.next(); !next.done; next = await answer.body.next()) parts.push(next.value);
  } finally {
    answer.destroy();
  }
  const joined = joinBytes(parts);
  if (joined.byteLength !== length) throw new FerryError('truncated', 'the file ends inside its index (moov box)');
  return joined;
}

/**
 * The whole moov, its chunk offsets delta-coded (in place), deflated: 4–11 ms of coding for a 2 GB film's moov,
 * 10–21 ms for an 8 GB one's, then deflate's. A stream that sent the head stops before it (its upstream given
 * back), so this runs once the page asks for the whole, after its first frame, from the moov read again.
 */
async function codedWhole(moov: Uint8Array): Promise<Uint8Array[]> {
  encodeChunkOffsets(moov);
  const parts: Uint8Array[] = [];
  for await (const part of deflated(moov)) parts.push(part);
  return parts;
}

/** The moov as one deflate stream. */
async function* deflated(moov: Uint8Array): AsyncGenerator<Uint8Array, void, undefined> {
  const compressor = new CompressionStream('deflate');
  const writer = compressor.writable.getWriter();
  // Chunks of a body are never shared memory; the stream's type only says it cannot know that.
  const feeding = writer.write(moov as Uint8Array<ArrayBuffer>).then(() => writer.close());
  feeding.catch((err: unknown) => writer.abort(err).catch(() => {}));
  const reader = compressor.readable.getReader();
  try {
    for (let next = await reader.read(); !next.done; next = await reader.read()) yield next.value;
    await feeding;
  } finally {
    void reader.cancel().catch(() => {});
  }
}
