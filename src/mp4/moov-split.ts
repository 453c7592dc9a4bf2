/**
 * Splits a moov in two: the sample tables of each trak, read straight into typed arrays, and a skeleton
 * moov with those tables emptied, small enough for mp4box.js to parse at once and exactly what an MSE init
 * segment needs. Parsing half a million table entries as JS objects was most of the start-up time.
 */

import { boxHeader } from './box.js';
import { rebuildMoov } from './moov-walk.js';

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
  const tables = new Map<number, TrakTables>();
  const skeleton = rebuildMoov(
    moov,
    ({ type, payload, trak }) => {
      if (TABLES.has(type) && trak) {
        const found = tables.get(trak.index) ?? {};
        tables.set(trak.index, found);
        found[type as TableType] = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
      }
      if (DROPPED.has(type)) return new Uint8Array(0);
      return TABLES.has(type) && trak ? emptyTable(type, payload.subarray(0, 4)) : null;
    },
    'drop',
  );
  // Every trak has its entry, tables or not, so the list lines up with the init segment's traks.
  const traks = Array.from({ length: skeleton.traks }, (_, k) => tables.get(k) ?? {});
  return { skeleton: skeleton.bytes, traks };
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
