/**
 * The relay's index of an MP4 (an index stream, docs/protocol.md): the ftyp and the moov's head as they are,
 * then the whole moov, chunk offsets delta-coded, deflated. The head is handed over as soon as it is here, so
 * playback starts from it; the relay sends the whole only when asked (with credit), and it is inflated into
 * one buffer of the size the relay announced, and checked before it is believed.
 */
import type { Transfer } from '../client/transfer.js';
import { FerryError } from '../protocol/codes.js';
import type { MoovIndex } from '../protocol/frames.js';
import { readBoxHeader, writeBoxHeader } from '../mp4/box.js';
import { decodeChunkOffsets } from '../mp4/chunk-offsets.js';
import { ForwardReader } from '../mp4/forward-reader.js';
import { INDEX_MAX_FTYP_BYTES, INDEX_MAX_MOOV_BYTES } from '../protocol/limits.js';

export interface IndexParts {
  ftyp: Uint8Array;
  /** The moov with its tables cut to the first seconds. */
  head: Uint8Array;
  /**
   * The whole moov, asked of the relay and inflated when first called for (neither its bytes on the link nor
   * the coding and parsing compete with the first frame); rejects with a FerryError.
   */
  whole: () => Promise<Uint8Array>;
  /** The whole is not wanted: its transfer is cancelled, unless it is being read. */
  dropWhole: () => void;
}

export async function readIndex(transfer: Transfer, index: MoovIndex): Promise<IndexParts> {
  const { ftypSize, moovSize } = index;
  if (index.encoding !== 'head-delta-deflate' || !(ftypSize <= INDEX_MAX_FTYP_BYTES && moovSize > 0 && moovSize <= INDEX_MAX_MOOV_BYTES)) throw damaged();
  const bytes = new ByteReader(transfer);
  const ftyp = ftypSize ? (await bytes.take(ftypSize)).slice() : plainFtyp();
  const header = readBoxHeader(await bytes.peek(8), 0, 0, moovSize);
  if (header?.type !== 'moov' || header.size > moovSize || header.size < 8) throw damaged();
  const head = (await bytes.take(header.size)).slice();
  let whole: Promise<Uint8Array> | null = null;
  return {
    ftyp,
    head,
    whole: () => (whole ??= (transfer.renewCredit(), inflateMoov(bytes, transfer, moovSize))),
    dropWhole: () => void (whole ?? transfer.cancel()),
  };
}

async function inflateMoov(bytes: ByteReader, transfer: Transfer, size: number): Promise<Uint8Array> {
  const moov = new Uint8Array(size);
  const inflater = new DecompressionStream('deflate');
  const writer = inflater.writable.getWriter();
  const feeding = (async () => {
    for (let c = await bytes.next(); c; c = await bytes.next()) await writer.write(c as Uint8Array<ArrayBuffer>);
    await writer.close();
  })();
  feeding.catch((err: unknown) => writer.abort(err).catch(() => {}));
  let at = 0;
  // Read with a reader: Safari's engine has no async iteration of a ReadableStream (webkit.org/b/194379).
  const parts = inflater.readable.getReader();
  try {
    for (let part = await parts.read(); !part.done; part = await parts.read()) {
      if (at + part.value.byteLength > size) throw damaged();
      moov.set(part.value, at);
      at += part.value.byteLength;
    }
    await feeding;
  } catch (err) {
    transfer.cancel();
    // The transfer's own failure (the relay, the origin) says more than the inflater's.
    throw err instanceof FerryError ? err : (transfer.error ?? damaged());
  }
  const box = readBoxHeader(moov, 0, 0, size);
  if (at !== size || box?.type !== 'moov' || box.size !== size) throw damaged();
  decodeChunkOffsets(moov);
  return moov;
}

/** A transfer's chunks as bytes taken in any sizes; the file ending first is a damaged index. */
class ByteReader {
  private readonly reader: ForwardReader;

  constructor(private readonly transfer: Transfer) {
    this.reader = new ForwardReader(async () => (await transfer.read())?.data ?? null);
  }

  async peek(n: number): Promise<Uint8Array> {
    const bytes = await this.reader.peek(n);
    if (bytes.byteLength < n) throw this.transfer.error ?? damaged();
    return bytes;
  }

  async take(n: number): Promise<Uint8Array> {
    await this.peek(n);
    return this.reader.take(n);
  }

  /** What is held, then the transfer's next chunks; null at its end. */
  next(): Promise<Uint8Array | null> {
    return this.reader.next();
  }
}

/** For a file without an ftyp (old QuickTime): a plain ISO one (isom, version 512), all an init segment needs. */
function plainFtyp(): Uint8Array {
  const box = new Uint8Array(20);
  const view = new DataView(box.buffer);
  const at = writeBoxHeader(view, 0, 20, 'ftyp');
  box.set(new TextEncoder().encode('isom'), at);
  view.setUint32(at + 4, 512);
  box.set(new TextEncoder().encode('isom'), at + 8);
  return box;
}

const damaged = (): FerryError => new FerryError('no_index', 'the relay sent a damaged index of this file');
