/**
 * Reads a file forward from an upstream body, holding only what is asked for: a few bytes to peek at a box
 * header, a small box, or a big one as it flows. A jump far ahead is a new range request rather than a read
 * through the media between.
 */
import { FerryError } from '../../protocol/codes.js';
import { ForwardReader } from '../../mp4/forward-reader.js';
import type { UpstreamResponse } from './upstream.js';

/** A gap this small is read through rather than skipped with a new request (one round trip to the origin). */
const READ_THROUGH_BYTES = 256 * 1024;

export class BoxCursor {
  private reader: ForwardReader;
  /** File offset of the reader's next byte. */
  position = 0;

  constructor(
    private upstream: UpstreamResponse,
    private readonly openAt: (offset: number) => Promise<UpstreamResponse>,
  ) {
    this.reader = readerOf(upstream);
  }

  /** Up to `n` bytes at the position, without taking them (fewer only at the end of the file). */
  peek(n: number): Promise<Uint8Array> {
    return this.reader.peek(n);
  }

  /** Exactly `n` bytes at the position, taken; the file ending first is a truncation. */
  async read(n: number): Promise<Uint8Array> {
    const bytes = await this.reader.take(n);
    this.position += bytes.byteLength;
    if (bytes.byteLength < n) throw new FerryError('truncated');
    // The bytes are no longer held here, so the caller may change them in place.
    return bytes;
  }

  /** Moves to `offset` (ahead): reads through a short gap, opens a new range past a long one. */
  async skipTo(offset: number): Promise<void> {
    const gap = offset - this.position;
    if (gap <= this.reader.heldBytes + READ_THROUGH_BYTES && (await this.reader.peek(gap)).byteLength === gap) {
      await this.reader.take(gap);
      this.position = offset;
      return;
    }
    this.upstream.destroy();
    this.upstream = await this.openAt(offset);
    this.reader = readerOf(this.upstream);
    this.position = offset;
  }

  /** The upstream from the position on, held bytes first: a file that turned out to be no MP4. */
  rest(): UpstreamResponse {
    const { upstream, reader } = this;
    const body = (async function* () {
      for (let chunk = await reader.next(); chunk; chunk = await reader.next()) yield chunk;
    })();
    return { meta: upstream.meta, body, destroy: () => upstream.destroy() };
  }

  destroy(): void {
    this.upstream.destroy();
  }
}

function readerOf(upstream: UpstreamResponse): ForwardReader {
  return new ForwardReader(async () => {
    const next = await upstream.body.next();
    return next.done ? null : next.value;
  });
}
