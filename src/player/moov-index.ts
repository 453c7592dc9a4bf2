/**
 * The relay's index of an MP4 (an index stream, docs/protocol.md): the ftyp and moov, chunk offsets
 * delta-coded, deflated. Inflated here
 * as the chunks arrive, into one buffer of the size the relay announced, and checked before it is believed.
 */
import type { Transfer } from '../client/transfer.js';
import { FerryError } from '../protocol/codes.js';
import type { MoovIndex } from '../protocol/frames.js';
import { readBoxHeader } from '../protocol/mp4-box.js';
import { decodeChunkOffsets } from '../protocol/moov-delta.js';
import { INDEX_MAX_FTYP_BYTES, INDEX_MAX_MOOV_BYTES } from '../protocol/limits.js';
import { plainFtyp } from './mp4/moov-locator.js';

const MAX_INDEX_BYTES = INDEX_MAX_FTYP_BYTES + INDEX_MAX_MOOV_BYTES;

export async function readIndex(transfer: Transfer, index: MoovIndex): Promise<{ ftyp: Uint8Array; moov: Uint8Array }> {
  const size = index.ftypSize + index.moovSize;
  if (index.encoding !== 'delta-deflate' || !(size > 0 && size <= MAX_INDEX_BYTES)) throw damaged();
  const out = new Uint8Array(size);
  const inflater = new DecompressionStream('deflate');
  const writer = inflater.writable.getWriter();
  const feeding = (async () => {
    for (let c = await transfer.read(); c; c = await transfer.read()) await writer.write(c.data as Uint8Array<ArrayBuffer>);
    await writer.close();
  })();
  feeding.catch((err: unknown) => writer.abort(err).catch(() => {}));
  let at = 0;
  try {
    for await (const part of inflater.readable as unknown as AsyncIterable<Uint8Array>) {
      if (at + part.byteLength > size) throw damaged();
      out.set(part, at);
      at += part.byteLength;
    }
    await feeding;
  } catch (err) {
    transfer.cancel();
    // The transfer's own failure (the relay, the origin) says more than the inflater's.
    throw err instanceof FerryError ? err : (transfer.error ?? damaged());
  }
  const moov = out.subarray(index.ftypSize);
  const box = readBoxHeader(moov, 0, 0, moov.byteLength);
  if (at !== size || box?.type !== 'moov' || box.size !== moov.byteLength) throw damaged();
  decodeChunkOffsets(moov);
  return { ftyp: index.ftypSize ? out.subarray(0, index.ftypSize) : plainFtyp(), moov };
}

const damaged = (): FerryError => new FerryError('no_index', 'the relay sent a damaged index of this file');
