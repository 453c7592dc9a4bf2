/** Finds an MP4's moov, wherever it is, without reading the media. */
import { FerryError } from '../../protocol/codes.js';
import { ByteWindow } from '../byte-window.js';
import { indexLost, moovTooLarge, readBoxHeader, TOP_LEVEL, writeBoxHeader, type BoxHeader } from '../../protocol/mp4-box.js';

export type TopBox = BoxHeader;

/** Largest moov accepted: far above any real file's index, far below what would hurt the tab. */
const MAX_MOOV_BYTES = 128 * 1024 * 1024;

export type LocatorStep =
  | { kind: 'more' }
  /** Read on from `offset`; `skipped` is the box jumped over (its media may be wanted next). */
  | { kind: 'jump'; offset: number; skipped: TopBox }
  | { kind: 'found'; ftyp: Uint8Array; moov: Uint8Array; moovEnd: number };

/**
 * Finds the moov without reading the media: walks the top-level boxes and, past a box it does not need
 * (an mdat before the moov), asks to continue reading at that box's end.
 */
export class MoovLocator {
  private readonly window = new ByteWindow();
  private pos = 0;
  /** Files without an ftyp (old QuickTime) get a plain ISO one, which is all an init segment needs. */
  private ftyp: Uint8Array = plainFtyp();

  constructor(private readonly total: number | null) {}

  push(offset: number, data: Uint8Array): LocatorStep {
    this.window.append(offset, data);
    for (;;) {
      const head = this.window.has(this.pos, 16) ? this.window.copy(this.pos, 16) : this.window.has(this.pos, 8) ? this.window.copy(this.pos, 8) : null;
      const box = head && readBoxHeader(head, 0, this.pos, this.total);
      if (!box) return { kind: 'more' };
      if (!TOP_LEVEL.has(box.type) || box.size < box.headerSize) {
        throw new FerryError('no_index', `the file is damaged: no MP4 box at byte ${this.pos}`);
      }
      if (box.type === 'moov') {
        if (box.size > MAX_MOOV_BYTES) throw moovTooLarge(box.size);
        if (this.total !== null && box.offset + box.size > this.total) throw indexLost(this.total, box.offset + box.size);
        if (!this.window.has(box.offset, box.size)) return { kind: 'more' };
        const moov = this.window.copy(box.offset, box.size);
        // The chunks would otherwise stay referenced for the whole playback: megabytes for a long film.
        this.window.reset(box.offset + box.size);
        return { kind: 'found', ftyp: this.ftyp, moov, moovEnd: box.offset + box.size };
      }
      if (box.type === 'ftyp' && this.window.has(box.offset, box.size)) this.ftyp = this.window.copy(box.offset, box.size);
      const end = box.offset + box.size;
      if (!Number.isFinite(end) || (this.total !== null && end >= this.total)) {
        throw this.total !== null && end > this.total ? indexLost(this.total, end) : new FerryError('no_index');
      }
      this.pos = end;
      if (!this.window.has(end, 8)) {
        this.window.dropBefore(end);
        if (end > this.window.end) return { kind: 'jump', offset: end, skipped: box };
      }
    }
  }
}

/** For a file without one: major brand isom, version 512, compatible with isom. */
export function plainFtyp(): Uint8Array {
  const box = new Uint8Array(20);
  const view = new DataView(box.buffer);
  const at = writeBoxHeader(view, 0, 20, 'ftyp');
  box.set(new TextEncoder().encode('isom'), at);
  view.setUint32(at + 4, 512);
  box.set(new TextEncoder().encode('isom'), at + 8);
  return box;
}
