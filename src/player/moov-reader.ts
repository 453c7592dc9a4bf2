/** Reads an MP4's moov, wherever it sits, through the relay: the first bytes, then ranges past the media. */
import type { Chunk, Transfer } from '../client/transfer.js';
import { FerryError } from '../protocol/codes.js';
import type { RangeOpener } from './media-loader.js';
import { MoovLocator } from './mp4/moov-locator.js';

export async function readMoov(first: Transfer, head: Chunk, openAt: RangeOpener, total: number | null): Promise<{ ftyp: Uint8Array; moov: Uint8Array }> {
  const locator = new MoovLocator(total);
  let transfer = first;
  let chunk: Chunk | null = head;
  try {
    for (;;) {
      if (!chunk) throw new FerryError('no_index');
      const step = locator.push(chunk.offset, chunk.data);
      if (step.kind === 'found') return step;
      if (step.kind === 'jump') {
        transfer.cancel();
        transfer = openAt(step.offset);
      }
      chunk = await transfer.read();
    }
  } finally {
    transfer.cancel();
  }
}
