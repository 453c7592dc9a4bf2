/**
 * The buffers upstream connections read into, used again once every body byte read into one has been
 * written out. A fresh megabyte for each read costs more than the relaying itself: on a 2 GB pass-through,
 * 1.4–2.0 CPU-s/GB against 0.33–0.40 with the buffers reused (page faults, and collections that V8 starts for
 * external memory).
 *
 * Large reads are cheaper per byte, but each stream pins about three buffers (one being filled, one queued,
 * one being written): a buffer is 1 MiB while few connections are open, and smaller with many, so that the
 * buffers being filled come to about `READ_BUDGET_BYTES` across the relay (256 KiB each for 100 streams).
 *
 * A buffer whose bytes went out as body is lent: it comes back when the edges that write bodies (the socket
 * sender and the /save/ writer) have given back, once each, as many of its bytes as were lent. Bytes kept
 * elsewhere (an index the relay parses, a stream cancelled) are never given back, and their buffer is then
 * left to the garbage collector like any other memory: nothing is reused while a view of it may be read.
 */
const MAX_READ_BYTES = 1024 * 1024;
const MIN_READ_BYTES = 128 * 1024;
const READ_BUDGET_BYTES = 32 * 1024 * 1024;
/** Spare buffers kept for the whole relay, all sizes together. */
const MAX_SPARE_BYTES = 32 * 1024 * 1024;

interface Loan {
  lent: number;
  given: number;
  /** Until the read into it is over, more of its bytes may yet be lent. */
  open: boolean;
}

const loans = new WeakMap<ArrayBufferLike, Loan>();
/** Spare buffers by size (powers of two). */
const spare = new Map<number, ArrayBuffer[]>();
let spareBytes = 0;

/** The size of buffer to read into while `connections` are open: a power of two, 128 KiB to 1 MiB. */
export function readBytesFor(connections: number): number {
  const share = READ_BUDGET_BYTES / Math.max(1, connections);
  return Math.min(MAX_READ_BYTES, Math.max(MIN_READ_BYTES, 2 ** Math.floor(Math.log2(share))));
}

/** A buffer of `bytes` to read into: a spare one, or a new one. */
export function readBuffer(bytes: number): Buffer {
  const buffer = spare.get(bytes)?.pop();
  if (!buffer) return Buffer.allocUnsafe(bytes);
  spareBytes -= bytes;
  return Buffer.from(buffer);
}

/** Opens the loan of a buffer just read into, whose bytes will be lent out as body. */
export function openLoan(buffer: Buffer): void {
  loans.set(buffer.buffer, { lent: 0, given: 0, open: true });
}

/** Bytes of a read buffer handed on as body. */
export function lend(view: Uint8Array): void {
  const loan = loans.get(view.buffer);
  if (loan) loan.lent += view.byteLength;
}

/** The read into this buffer is over; it comes back now if nothing of it is still out. */
export function closeLoan(buffer: Buffer): void {
  const loan = loans.get(buffer.buffer);
  if (!loan) return;
  loan.open = false;
  settle(buffer.buffer, loan);
}

/** Bytes written out (or dropped by their one owner); anything not from a read buffer is ignored. */
export function giveBack(view: Uint8Array): void {
  const loan = loans.get(view.buffer);
  if (!loan) return;
  loan.given += view.byteLength;
  settle(view.buffer, loan);
}

function settle(buffer: ArrayBufferLike, loan: Loan): void {
  if (loan.open || loan.given !== loan.lent) return;
  loans.delete(buffer);
  if (spareBytes + buffer.byteLength > MAX_SPARE_BYTES || !(buffer instanceof ArrayBuffer)) return;
  spareBytes += buffer.byteLength;
  const sized = spare.get(buffer.byteLength) ?? [];
  sized.push(buffer);
  spare.set(buffer.byteLength, sized);
}
