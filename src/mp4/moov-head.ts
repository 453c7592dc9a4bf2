/**
 * The head of a moov: the same moov with each track's sample tables cut to its first seconds. It is a valid
 * moov, a few KB where the whole is megabytes, and the relay sends it before the whole (docs/protocol.md,
 * "Index streams"): the page starts playback from it at once, while the whole is still coded, sent and
 * parsed. Its samples are the first samples of the whole, the same in every field, so the page swaps one
 * set of tables for the other without moving.
 */
import { joinBytes } from '../protocol/bytes.js';
import { boxHeader, findBox } from './box.js';
import { rebuildMoov, type MoovLeaf } from './moov-walk.js';
import { sampleToChunk, timeToSample } from './sample-tables.js';

/** Seconds of every track the head describes: far more than the whole takes to arrive after it. */
export const HEAD_SECONDS = 10;

/** The sample tables the head cuts; every other box it keeps whole. */
export const SAMPLE_TABLES = new Set(['stts', 'ctts', 'stss', 'stsz', 'stsc', 'stco', 'co64', 'sdtp']);

/** The moov with its tables cut to HEAD_SECONDS; the moov unchanged where it cannot be read. */
export function moovHead(moov: Uint8Array): Uint8Array {
  const plans = new Map<number, Plan>();
  const cut = ({ type, payload, trak }: MoovLeaf): Uint8Array | null => {
    if (!trak) return null;
    const plan = plans.get(trak.index) ?? planTrak(trak.payload);
    plans.set(trak.index, plan);
    return cutTable(type, payload, plan);
  };
  return rebuildMoov(moov, cut, 'keep').bytes;
}

/** What the head keeps of a trak: its first `keep` samples, in its first `chunks` chunks (null: all). */
interface Plan { keep: number | null; chunks: number | null }

/** How many samples and chunks of a trak the head keeps, from its mdhd, stts and stsc, wherever they sit. */
function planTrak(trak: Uint8Array): Plan {
  const mdhd = findBox(trak, ['mdia', 'mdhd']);
  const stts = findBox(trak, ['mdia', 'minf', 'stbl', 'stts']);
  const stsc = findBox(trak, ['mdia', 'minf', 'stbl', 'stsc']);
  if (!mdhd || !stts || mdhd.byteLength < 24) return { keep: null, chunks: null };
  const timescale = view(mdhd).getUint32(mdhd[0] === 1 ? 20 : 12);
  const keep = timescale > 0 ? samplesWithin(stts, HEAD_SECONDS * timescale) : null;
  return { keep, chunks: keep !== null && stsc ? chunksFor(stsc, keep) : null };
}

/**
 * Samples of an stts whose decode times are below `limit` (at least 1); null when it cannot be read. Only the
 * entries kept are read, and one more (moov-head-parts.ts reads no more of a table than that).
 */
function samplesWithin(stts: Uint8Array, limit: number): number | null {
  const table = readable(() => timeToSample(view(stts)));
  if (!table) return null;
  let samples = 0;
  let time = 0;
  for (let e = 0; e < table.runs && time < limit; e++) {
    const n = table.count(e);
    const delta = table.delta(e);
    const take = delta > 0 ? Math.min(n, Math.ceil((limit - time) / delta)) : n;
    samples += take;
    time += take * delta;
  }
  return Math.max(1, samples);
}

/** Chunks, counted from the first, that hold the first `keep` samples; null when the stsc cannot say. */
function chunksFor(stsc: Uint8Array, keep: number): number | null {
  const table = readable(() => sampleToChunk(view(stsc)));
  if (!table) return null;
  let samples = 0;
  for (let e = 0; e < table.runs; e++) {
    const first = table.firstChunk(e);
    const perChunk = table.perChunk(e);
    const next = e + 1 < table.runs ? table.firstChunk(e + 1) : Infinity;
    if (perChunk === 0 || next <= first) continue;
    if (samples + (next - first) * perChunk >= keep) return first - 1 + Math.ceil((keep - samples) / perChunk);
    samples += (next - first) * perChunk;
  }
  return null;
}

/** A table's reader, or null for a damaged table: the head then keeps the trak's tables whole. */
function readable<T>(read: () => T): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}

/** The table cut to the head's samples, as a whole box; null to keep the box as it is. */
function cutTable(type: string, body: Uint8Array, { keep, chunks }: Plan): Uint8Array | null {
  if (keep === null) return null;
  const v = view(body);
  const count = body.byteLength >= 8 ? v.getUint32(4) : 0;
  switch (type) {
    case 'stts':
    case 'ctts':
      return body.byteLength >= 8 + 8 * count ? runs(type, body, keep) : null;
    case 'stss':
      return entries(type, body, 8, 4, countBelow(v, count, keep));
    case 'stsz':
      if (body.byteLength < 12) return null;
      if (v.getUint32(4) !== 0) return patched(type, body.subarray(0, 12), 8, Math.min(keep, v.getUint32(8)));
      return entries(type, body, 12, 4, Math.min(keep, v.getUint32(8)), 8);
    case 'stsc':
      return chunks === null ? null : entries(type, body, 8, 12, stscRuns(v, count, chunks));
    case 'stco':
    case 'co64':
      return chunks === null ? null : entries(type, body, 8, type === 'co64' ? 8 : 4, Math.min(chunks, count));
    case 'sdtp':
      return box(type, body.subarray(0, Math.min(body.byteLength, 4 + keep)));
    default:
      return null;
  }
}

/** stsc runs that begin within the first `chunks` chunks. */
function stscRuns(v: DataView, count: number, chunks: number): number {
  let n = 0;
  while (n < count && v.getUint32(8 + 12 * n) <= chunks) n++;
  return n;
}

/** A run-length table (stts, ctts) cut to `keep` samples: whole runs, and the last one shortened. */
function runs(type: string, body: Uint8Array, keep: number): Uint8Array {
  const v = view(body);
  const count = v.getUint32(4);
  const out = new Uint8Array(body.subarray(0, 8 + 8 * count));
  const w = new DataView(out.buffer);
  let left = keep;
  let e = 0;
  for (; e < count && left > 0; e++) {
    const n = Math.min(v.getUint32(8 + 8 * e), left);
    w.setUint32(8 + 8 * e, n);
    left -= n;
  }
  w.setUint32(4, e);
  return box(type, out.subarray(0, 8 + 8 * e));
}

/** How many of a sorted list of sample numbers (counted from 1) are at most `keep`. */
function countBelow(v: DataView, count: number, keep: number): number {
  let n = 0;
  while (n < count && 8 + 4 * n + 4 <= v.byteLength && v.getUint32(8 + 4 * n) <= keep) n++;
  return n;
}

/** A table of fixed-size entries after `at` bytes, keeping the first `n` (its count at `countAt`). */
function entries(type: string, body: Uint8Array, at: number, size: number, n: number, countAt = 4): Uint8Array | null {
  if (body.byteLength < at + size * n) return null;
  return patched(type, body.subarray(0, at + size * n), countAt, n);
}

/** The payload copied, with the count at `countAt` set to `n`, as a box. */
function patched(type: string, payload: Uint8Array, countAt: number, n: number): Uint8Array {
  const out = new Uint8Array(payload);
  new DataView(out.buffer).setUint32(countAt, n);
  return box(type, out);
}

function box(type: string, payload: Uint8Array): Uint8Array {
  return joinBytes([boxHeader(type, 8 + payload.byteLength), payload]);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
