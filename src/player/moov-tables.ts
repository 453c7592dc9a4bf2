/**
 * Splits a moov in two: the sample tables of each trak, read straight into typed arrays, and a skeleton
 * moov with those tables emptied, small enough for mp4box.js to parse at once and exactly what an MSE init
 * segment needs. Parsing half a million table entries as JS objects was most of the start-up time.
 */

/** Raw table payloads of one trak (after each box's header), by box type. */
export type TrakTables = Partial<Record<TableType, DataView>>;
type TableType = 'stts' | 'ctts' | 'stsc' | 'stsz' | 'stz2' | 'stco' | 'co64' | 'stss';

const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl']);
const TABLES = new Set<string>(['stts', 'ctts', 'stsc', 'stsz', 'stz2', 'stco', 'co64', 'stss']);
/** Tables an init segment does without. */
const DROPPED = new Set(['stss', 'sdtp']);

export interface SplitMoov {
  skeleton: Uint8Array;
  /** One entry per trak, in file order. */
  traks: TrakTables[];
}

export function splitMoov(moov: Uint8Array): SplitMoov {
  const traks: TrakTables[] = [];
  const view = new DataView(moov.buffer, moov.byteOffset, moov.byteLength);

  function walk(start: number, end: number, current: TrakTables | null): Uint8Array[] {
    const parts: Uint8Array[] = [];
    for (let pos = start; pos + 8 <= end; ) {
      let size = view.getUint32(pos);
      const type = String.fromCharCode(moov[pos + 4]!, moov[pos + 5]!, moov[pos + 6]!, moov[pos + 7]!);
      let header = 8;
      if (size === 1) {
        size = view.getUint32(pos + 8) * 2 ** 32 + view.getUint32(pos + 12);
        header = 16;
      } else if (size === 0) {
        size = end - pos;
      }
      if (size < header || pos + size > end) break;
      if (CONTAINERS.has(type)) {
        const trak = type === 'trak' ? {} : current;
        if (type === 'trak') traks.push(trak!);
        const children = walk(pos + header, pos + size, trak);
        parts.push(boxHeader(type, 8 + children.reduce((n, c) => n + c.byteLength, 0)), ...children);
      } else if (TABLES.has(type) && current) {
        current[type as TableType] = new DataView(moov.buffer, moov.byteOffset + pos + header, size - header);
        if (!DROPPED.has(type)) parts.push(emptyTable(type, moov.subarray(pos + header, pos + header + 4)));
      } else if (!DROPPED.has(type)) {
        parts.push(moov.subarray(pos, pos + size));
      }
      pos += size;
    }
    return parts;
  }

  const parts = walk(0, moov.byteLength, null);
  const skeleton = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    skeleton.set(p, at);
    at += p.byteLength;
  }
  return { skeleton, traks };
}

function boxHeader(type: string, size: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setUint32(0, size);
  for (let k = 0; k < 4; k++) out[4 + k] = type.charCodeAt(k);
  return out;
}

/** The same table with no entries, keeping its version and flags. */
function emptyTable(type: string, versionAndFlags: Uint8Array): Uint8Array {
  // stsz and stz2 carry one more field (a constant size, or the field size) before their count.
  const payload = type === 'stsz' || type === 'stz2' ? 12 : 8;
  const out = new Uint8Array(8 + payload);
  out.set(boxHeader(type, 8 + payload), 0);
  out.set(versionAndFlags, 8);
  return out;
}
