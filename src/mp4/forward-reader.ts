/**
 * Bytes read forward from a source of chunks, held only as far as asked for: a few bytes to peek at a box
 * header, a small box, or a big one as it flows. The relay reads an origin's file this way to find its moov,
 * and the page the relay's index stream.
 */
import { joinBytes } from '../protocol/bytes.js';

/** The source's next chunk, or null at its end. */
export type NextChunk = () => Promise<Uint8Array | null>;

export class ForwardReader {
  /** Bytes read from the source but not yet taken. */
  private held: Uint8Array = new Uint8Array(0);

  constructor(private readonly source: NextChunk) {}

  /** Bytes read but not yet taken. */
  get heldBytes(): number {
    return this.held.byteLength;
  }

  /** Up to `n` bytes, without taking them (fewer only at the end of the source). */
  async peek(n: number): Promise<Uint8Array> {
    if (this.held.byteLength >= n) return this.held.subarray(0, n);
    // Chunks are gathered and joined once: joining at every chunk would copy a 10 MB moov ~150 times.
    const parts = [this.held];
    let have = this.held.byteLength;
    while (have < n) {
      const chunk = await this.source();
      if (!chunk) break;
      parts.push(chunk);
      have += chunk.byteLength;
    }
    const filled = parts.filter((p) => p.byteLength > 0);
    // One part is taken as it is: most reads of a big box find nothing held, and no copy is made then.
    this.held = filled.length === 1 ? filled[0]! : joinBytes(filled);
    return this.held.subarray(0, n);
  }

  /** Up to `n` bytes, taken (fewer only at the end of the source). They are no longer held here. */
  async take(n: number): Promise<Uint8Array> {
    const bytes = await this.peek(n);
    this.held = this.held.subarray(bytes.byteLength);
    return bytes;
  }

  /** What is held, else the source's next chunk; null at its end. */
  async next(): Promise<Uint8Array | null> {
    if (this.held.byteLength) return this.take(this.held.byteLength);
    return this.source();
  }
}
