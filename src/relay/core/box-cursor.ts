/**
 * Reads a file forward from an upstream body, holding only what is asked for: a few bytes to peek at a box
 * header, a small box, or a big one as it flows. A jump far ahead is a new range request rather than a read
 * through the media between.
 */
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
    while (this.held.byteLength < n) if (!(await this.pull())) break;
    return this.held.subarray(0, n);
  }

  /** Exactly `n` bytes at the position, taken; the file ending first is a truncation. */
  async read(n: number): Promise<Uint8Array> {
    const bytes = await this.peek(n);
    if (bytes.byteLength < n) throw new FerryError('truncated');
    this.advance(n);
    return bytes.slice();
  }

  /** Moves to `offset` (ahead): reads through a short gap, opens a new range past a long one. */
  async skipTo(offset: number): Promise<void> {
    while (offset - this.position > this.held.byteLength && offset - this.position - this.held.byteLength <= READ_THROUGH_BYTES) {
      const before = this.held.byteLength;
      if (!(await this.pull())) break;
      if (this.held.byteLength === before) break;
    }
    if (offset - this.position <= this.held.byteLength) return this.advance(offset - this.position);
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

  /** One more chunk from the upstream; false at its end. */
  private async pull(): Promise<boolean> {
    const next = await this.upstream.body.next();
    if (next.done) return false;
    // Most pulls find nothing held (a box's bytes flow straight through): no copy then.
    if (this.held.byteLength === 0) {
      this.held = next.value;
      return true;
    }
    const joined = new Uint8Array(this.held.byteLength + next.value.byteLength);
    joined.set(this.held);
    joined.set(next.value, this.held.byteLength);
    this.held = joined;
    return true;
  }
}
