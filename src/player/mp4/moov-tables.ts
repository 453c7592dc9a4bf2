/**
 * Splits a moov in two: the sample tables of each trak, read straight into typed arrays, and a skeleton
 * moov with those tables emptied, small enough for mp4box.js to parse at once and exactly what an MSE init
 * segment needs. Parsing half a million table entries as JS objects was most of the start-up time.
 */

import { joinBytes } from '../../protocol/bytes.js';
import { boxesIn, boxHeader, leadsToTables } from '../../protocol/mp4-box.js';

/** Raw table payloads of one trak (after each box's header), by box type. */
export type TrakTables = Partial<Record<TableType, DataView>>;
type TableType = 'stts' | 'ctts' | 'stsc' | 'stsz' | 'stz2' | 'stco' | 'co64' | 'stss';

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

  function walk(start: number, end: number, depth: number, current: TrakTables | null): Uint8Array[] {
    const parts: Uint8Array[] = [];
    for (const { type, offset, size, headerSize, payload } of boxesIn(moov, start, end)) {
      if (leadsToTables(type, depth)) {
        const trak = type === 'trak' ? {} : current;
        if (type === 'trak') traks.push(trak!);
        const children = walk(offset + headerSize, offset + size, depth + 1, trak);
        parts.push(boxHeader(type, 8 + children.reduce((n, c) => n + c.byteLength, 0)), ...children);
      } else if (TABLES.has(type) && current) {
        current[type as TableType] = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
        if (!DROPPED.has(type)) parts.push(emptyTable(type, payload.subarray(0, 4)));
      } else if (!DROPPED.has(type)) {
        parts.push(moov.subarray(offset, offset + size));
      }
    }
    return parts;
  }

  return { skeleton: joinBytes(walk(0, moov.byteLength, 0, null)), traks };
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
