/**
 * What a file is, from its first bytes: the top-level MP4 boxes, or a sign that it is something else
 * (most often a web page served in place of a video). Offsets are plain numbers, never bitwise-combined,
 * so 64-bit box sizes beyond 4 GiB are exact.
 */

export interface TopBox {
  type: string;
  offset: number;
  /** Whole box size, header included; Infinity for size 0 ("to the end of the file") when the total is unknown. */
  size: number;
  headerSize: number;
}

const TOP_LEVEL = new Set(['ftyp', 'styp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pdin', 'uuid', 'meta', 'sidx', 'moof', 'mfra', 'prft', 'emsg', 'junk', 'pnot']);

/** Reads the box header at `pos` of `bytes` (which start at file offset `base`), or null if it is not all there. */
export function readBoxHeader(bytes: Uint8Array, pos: number, base: number, total: number | null): TopBox | null {
  if (pos + 8 > bytes.byteLength) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let size = view.getUint32(pos);
  const type = String.fromCharCode(bytes[pos + 4]!, bytes[pos + 5]!, bytes[pos + 6]!, bytes[pos + 7]!);
  let headerSize = 8;
  if (size === 1) {
    if (pos + 16 > bytes.byteLength) return null;
    size = view.getUint32(pos + 8) * 2 ** 32 + view.getUint32(pos + 12);
    headerSize = 16;
  } else if (size === 0) {
    size = total === null ? Infinity : total - (base + pos);
  }
  return { type, offset: base + pos, size, headerSize };
}

export type Sniffed =
  | { kind: 'mp4'; boxes: TopBox[] }
  | { kind: 'html' }
  | { kind: 'other' };

/** Looks at the head of a file. An MP4 starts with a known top-level box of a sane size. */
export function sniff(head: Uint8Array, total: number | null): Sniffed {
  // Markup of any kind (HTML, an XML error document) starts with '<' after optional white space.
  if (new TextDecoder().decode(head.subarray(0, 64)).trimStart().startsWith('<')) return { kind: 'html' };
  const boxes: TopBox[] = [];
  let pos = 0;
  for (;;) {
    const box = readBoxHeader(head, pos, 0, total);
    if (!box) break;
    if (!TOP_LEVEL.has(box.type) || box.size < box.headerSize) return boxes.length ? { kind: 'mp4', boxes } : { kind: 'other' };
    boxes.push(box);
    if (!Number.isFinite(box.size)) break;
    pos += box.size;
  }
  return boxes.length && (boxes[0]!.type === 'ftyp' || boxes[0]!.type === 'styp' || boxes[0]!.type === 'moov') ? { kind: 'mp4', boxes } : { kind: 'other' };
}

/** True when a declared box runs past the end of the file: the file was cut short. */
export function truncatedAt(boxes: TopBox[], total: number | null): number | null {
  if (total === null) return null;
  const end = Math.max(...boxes.map((b) => b.offset + b.size));
  return end > total ? total / end : null;
}
