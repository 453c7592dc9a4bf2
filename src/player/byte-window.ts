import { lastAtOrBelow } from './search.js';

/** Contiguous bytes of a file held as the chunks they arrived in, from `start` to `end`. */
export class ByteWindow {
  private chunks: Uint8Array[] = [];
  private chunkStarts: number[] = [];
  start = 0;
  end = 0;

  get size(): number {
    return this.end - this.start;
  }

  /** Adds bytes at `offset`; bytes that do not follow on start a new window. */
  append(offset: number, data: Uint8Array): void {
    if (offset !== this.end || this.chunks.length === 0) this.reset(offset);
    this.chunks.push(data);
    this.chunkStarts.push(offset);
    this.end = offset + data.byteLength;
  }

  reset(offset: number): void {
    this.chunks = [];
    this.chunkStarts = [];
    this.start = offset;
    this.end = offset;
  }

  has(offset: number, length: number): boolean {
    return offset >= this.start && offset + length <= this.end;
  }

  /** Copies `length` bytes from file offset `offset` into `dest` at `at` (a new array if none). */
  copy(offset: number, length: number, dest = new Uint8Array(length), at = 0): Uint8Array {
    let i = this.chunkIndex(offset);
    let pos = offset;
    let written = 0;
    while (written < length) {
      const chunk = this.chunks[i]!;
      const from = pos - this.chunkStarts[i]!;
      const n = Math.min(chunk.byteLength - from, length - written);
      dest.set(chunk.subarray(from, from + n), at + written);
      written += n;
      pos += n;
      i++;
    }
    return dest;
  }

  /** Forgets whole chunks that end at or before `offset`. */
  dropBefore(offset: number): void {
    let k = 0;
    while (k < this.chunks.length && this.chunkStarts[k]! + this.chunks[k]!.byteLength <= offset) k++;
    if (k === 0) return;
    this.chunks.splice(0, k);
    this.chunkStarts.splice(0, k);
    this.start = this.chunkStarts[0] ?? this.end;
  }

  private chunkIndex(offset: number): number {
    return lastAtOrBelow(this.chunkStarts, offset);
  }
}
