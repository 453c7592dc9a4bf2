/**
 * Reuses fragment buffers. appendBuffer copies what it is given, so once an append has ended the buffer can
 * carry the next fragment: at 16x playback that is tens of MB a second the garbage collector need not chase.
 */
const GRAIN = 256 * 1024;

export class BufferPool {
  private readonly free: ArrayBuffer[] = [];

  constructor(private readonly maxFree = 16) {}

  /** A view of exactly `size` bytes over a pooled (or new) buffer. */
  take(size: number): Uint8Array<ArrayBuffer> {
    const i = this.free.findIndex((b) => b.byteLength >= size);
    const buffer = i >= 0 ? this.free.splice(i, 1)[0]! : new ArrayBuffer(Math.ceil(size / GRAIN) * GRAIN);
    return new Uint8Array(buffer, 0, size);
  }

  /** Gives a buffer back; its views must not be used again. */
  release(view: Uint8Array<ArrayBuffer>): void {
    if (this.free.length < this.maxFree && !this.free.includes(view.buffer)) this.free.push(view.buffer);
  }
}
