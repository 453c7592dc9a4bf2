/**
 * Reads a file forward from an upstream body, holding only what is asked for: a few bytes to peek at a box
 * header, a small box, or a big one as it flows. A jump far ahead is a new range request rather than a read
 * through the media between.
 */
import { joinBytes } from '../../protocol/bytes.js';
import { FerryError } from '../../protocol/codes.js';
import type { UpstreamResponse } from './upstream.js';

/** A gap this small is read through rather than skipped with a new request (one round trip to the origin). */
const READ_THROUGH_BYTES = 256 * 1024;

export class BoxCursor {
  /** Bytes at the position, read but not yet taken. */
  private held: Uint8Array = new Uint8Array(0);
  /** File offset of the first held byte. */
  position = 0;

  constructor(
    private upstream: UpstreamResponse,
    private readonly openAt: (offset: number) => Promise<UpstreamResponse>,
  ) {}

  /** Up to `n` bytes at the position, without taking them (fewer only at the end of the file). */
  async peek(n: number): Promise<Uint8Array> {
    if (this.held.byteLength >= n) return this.held.subarray(0, n);
    // Chunks are gathered and joined once: joining at every chunk would copy a 10 MB moov ~150 times.
    const parts = [this.held];
    let have = this.held.byteLength;
    for (let next = have < n ? await this.upstream.body.next() : null; next && !next.done; next = have < n ? await this.upstream.body.next() : null) {
      parts.push(next.value);
      have += next.value.byteLength;
    }
    const filled = parts.filter((p) => p.byteLength > 0);
    // One part is taken as it is: most reads of a big box find nothing held, and no copy is made then.
    this.held = filled.length === 1 ? filled[0]! : joinBytes(filled);
    return this.held.subarray(0, n);
  }

  /** Exactly `n` bytes at the position, taken; the file ending first is a truncation. */
  async read(n: number): Promise<Uint8Array> {
    const bytes = await this.peek(n);
    if (bytes.byteLength < n) throw new FerryError('truncated');
    this.advance(n);
    // The bytes are no longer held here, so the caller may change them in place.
    return bytes;
  }

  /** Moves to `offset` (ahead): reads through a short gap, opens a new range past a long one. */
  async skipTo(offset: number): Promise<void> {
    const gap = offset - this.position;
    if (gap > this.held.byteLength && gap <= this.held.byteLength + READ_THROUGH_BYTES) await this.peek(gap);
    if (gap <= this.held.byteLength) return this.advance(gap);
    this.upstream.destroy();
    this.upstream = await this.openAt(offset);
    this.position = offset;
    this.held = new Uint8Array(0);
  }

  /** The upstream from the position on, held bytes first: a file that turned out to be no MP4. */
  rest(): UpstreamResponse {
    const { upstream } = this;
    const held = this.held;
    const body = (async function* () {
      if (held.byteLength) yield held;
      for (let next = await upstream.body.next(); !next.done; next = await upstream.body.next()) yield next.value;
    })();
    return { meta: upstream.meta, body, destroy: () => upstream.destroy() };
  }

  destroy(): void {
    this.upstream.destroy();
  }

  private advance(n: number): void {
    this.held = this.held.subarray(n);
    this.position += n;
  }
}
