/**
 * Index streams: the relay finds an MP4's moov at the origin's distance and sends the page the ftyp, the
 * moov's head and the whole moov, deflated, on the stream the page opened; anything else comes through as its
 * own bytes. Without a browser.
 */
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from '../src/client/connection.js';
import type { Transfer } from '../src/client/transfer.js';
import type { FerryError } from '../src/protocol/codes.js';
import type { Relay } from '../src/relay/node/server.js';
import { damagedMedia, testMedia, type TestMedia } from './helpers/media.js';
import { Origin, sha256, testBytes } from './helpers/origin.js';
import { connect, startRelay } from './helpers/relay.js';
import { Gate } from '../src/relay/core/gate.js';
import { decodeChunkOffsets, encodeChunkOffsets } from '../src/mp4/chunk-offsets.js';
import { HEAD_SECONDS, moovHead } from '../src/mp4/moov-head.js';
import { headFromParts } from '../src/mp4/moov-head-parts.js';
import { splitMoov } from '../src/mp4/moov-split.js';
import { SampleTable } from '../src/player/sample-table.js';

let media: TestMedia;
let origin: Origin;
let relay: Relay;
let client: Connection;

beforeAll(async () => {
  media = testMedia();
  origin = await new Origin().start();
  origin.set('/last.mp4', { body: media.moovLast, type: 'video/mp4' });
  origin.set('/first.mp4', { body: media.moovFirst, type: 'video/mp4' });
  origin.set('/cut.mp4', { body: damagedMedia().cutBeforeMoov, type: 'video/mp4' });
  origin.set('/noise.bin', { body: testBytes(3 * 1024 * 1024, 4) });
  relay = await startRelay({ allow: [origin.hostPort] });
  client = connect(relay.url);
});

afterAll(async () => {
  client.close();
  await relay.close();
  await origin.close();
});

async function readAll(transfer: Transfer): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of transfer) parts.push(c.data);
  return Buffer.concat(parts);
}

/**
 * An index stream read as the page reads it: the ftyp and the head, then the whole, asked for with credit once
 * the head is in (`headEnd` for a stream resumed within the head, where the head's size is not in its body).
 */
async function readIndexStream(transfer: Transfer, headEnd?: number): Promise<Buffer> {
  const { ftypSize } = (await transfer.meta).index!;
  const from = transfer.nextOffset;
  const parts: Uint8Array[] = [];
  let received = 0;
  let asked = false;
  for await (const c of transfer) {
    parts.push(c.data);
    received += c.data.byteLength;
    if (asked) continue;
    const body = Buffer.concat(parts);
    const end = headEnd ?? (body.byteLength >= ftypSize + 8 ? ftypSize + body.readUInt32BE(ftypSize) : Infinity);
    if (from + received >= end) {
      asked = true;
      transfer.renewCredit();
    }
  }
  return Buffer.concat(parts);
}

/** Where the ftyp and moov sit in a file, read the plain way. */
function boxes(file: Buffer): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (let pos = 0; pos + 8 <= file.byteLength; ) {
    const size = file.readUInt32BE(pos);
    out[file.toString('latin1', pos + 4, pos + 8)] = [pos, size];
    pos += size;
  }
  return out;
}

describe('index streams', () => {
  it.each([['/last.mp4', 'moovLast'], ['/first.mp4', 'moovFirst']] as const)('%s: the ftyp, the head, the whole moov coded and deflated, and where the moov is', async (path, key) => {
    const file = media[key];
    const { ftyp, moov } = boxes(file);
    const transfer = client.open({ url: origin.url(path), index: 'mp4', window: 1024 * 1024 });
    const meta = await transfer.meta;
    const { mdat } = boxes(file);
    const mediaOffset = mdat![0] < moov![0] ? mdat![0] + 8 : null;
    expect(meta.index).toEqual({ encoding: 'head-delta-deflate', ftypSize: ftyp![1], moovOffset: moov![0], moovSize: moov![1], mediaOffset });
    expect(meta.total).toBe(file.byteLength);
    const body = await readIndexStream(transfer);
    expect(sha256(body.subarray(0, ftyp![1]))).toBe(sha256(file.subarray(ftyp![0], ftyp![0] + ftyp![1])));
    const head = body.subarray(ftyp![1], ftyp![1] + body.readUInt32BE(ftyp![1]));
    expect(head.toString('latin1', 4, 8)).toBe('moov');
    const whole = inflateSync(body.subarray(ftyp![1] + head.byteLength));
    decodeChunkOffsets(whole);
    const original = file.subarray(moov![0], moov![0] + moov![1]);
    expect(sha256(whole)).toBe(sha256(original));
    // Far smaller than the moov alone: the point of it.
    expect(body.byteLength).toBeLessThan(moov![1] * 0.3);
    expectHeadOf(head, original);
  });

  it('builds a few at once and the rest in turn: forty started together all complete, identical', async () => {
    const bodies = await Promise.all(Array.from({ length: 40 }, (_, i) => readIndexStream(client.open({ url: `${origin.url('/last.mp4')}?copy=${i}`, index: 'mp4' }))));
    expect(new Set(bodies.map((b) => sha256(b))).size).toBe(1);
  });

  it('a gate lets so many in, hands each place on in order, and lets a waiter give up', async () => {
    const gate = new Gate(2);
    const order: number[] = [];
    const never = new AbortController().signal;
    const [a, b] = [await gate.enter(never), await gate.enter(never)];
    const quit = new AbortController();
    const third = gate.enter(never).then((leave) => (order.push(3), leave));
    const gaveUp = gate.enter(quit.signal).catch(() => order.push(-1));
    const fifth = gate.enter(never).then((leave) => (order.push(5), leave));
    quit.abort();
    await gaveUp;
    a();
    a();
    (await third)();
    b();
    (await fifth)();
    expect(order).toEqual([-1, 3, 5]);
  });

  it('resumes at an offset of the index with the same bytes, within the head and past it', async () => {
    const whole = await readIndexStream(client.open({ url: origin.url('/last.mp4'), index: 'mp4' }));
    const meta = await client.open({ url: origin.url('/last.mp4'), index: 'mp4' }).meta;
    const headEnd = meta.index!.ftypSize + whole.readUInt32BE(meta.index!.ftypSize);
    for (const offset of [5000, headEnd + 1000]) {
      const rest = await readIndexStream(client.open({ url: origin.url('/last.mp4'), index: 'mp4', offset, ...(meta.validator && { validator: meta.validator }) }), headEnd);
      expect(sha256(rest)).toBe(sha256(whole.subarray(offset)));
    }
  });

  it('sends nothing of the whole until the page asks for it, then reads the moov again for it, pinned to its version', async () => {
    origin.set('/asked.mp4', { body: media.moovLast, type: 'video/mp4' });
    const transfer = client.open({ url: origin.url('/asked.mp4'), index: 'mp4', window: 1024 * 1024 });
    const { ftypSize, moovOffset, moovSize } = (await transfer.meta).index!;
    const first = await transfer.read();
    const parts = [first!.data];
    let have = first!.data.byteLength;
    while (have < ftypSize + 8 || have < ftypSize + Buffer.concat(parts).readUInt32BE(ftypSize)) {
      const c = await transfer.read();
      parts.push(c!.data);
      have += c!.data.byteLength;
    }
    const headEnd = ftypSize + Buffer.concat(parts).readUInt32BE(ftypSize);
    await new Promise((r) => setTimeout(r, 300));
    // A megabyte of credit is left of the open, yet not one byte past the head came.
    expect(transfer.nextOffset).toBe(headEnd);
    const reads = origin.seen.filter((s) => s.path === '/asked.mp4').length;
    transfer.renewCredit();
    for await (const c of transfer) parts.push(c.data);
    const whole = inflateSync(Buffer.concat(parts).subarray(headEnd));
    decodeChunkOffsets(whole);
    expect(sha256(whole)).toBe(sha256(media.moovLast.subarray(moovOffset, moovOffset + moovSize)));
    const again = origin.seen.filter((s) => s.path === '/asked.mp4').slice(reads);
    // The moov by range again, pinned to the version the head came from.
    expect(again.filter((s) => s.range === `bytes=${moovOffset}-` && s.ifRange !== undefined)).toHaveLength(1);
  });

  it('opens the media at the first mdat itself when asked, its bytes after the head; none when the moov comes first', async () => {
    const file = media.moovLast;
    // An origin slow enough that the media's first bytes are in long before the moov is read.
    origin.set('/slow.mp4', { body: file, type: 'video/mp4', bytesPerSecond: 256 * 1024, stepBytes: 16 * 1024 });
    const index = client.open({ url: origin.url('/slow.mp4'), index: 'mp4', mediaWindow: 256 * 1024 });
    const { ftypSize, mediaOffset } = (await index.meta).index!;
    const mediaStream = index.media!;
    expect(mediaStream.placed).toBe(true);
    expect(mediaStream.request.offset).toBe(mediaOffset);
    const first = await mediaStream.read();
    // Frames are handled in the order they came: what the index had then is what the relay sent before.
    const indexHad = index.nextOffset;
    let head = Buffer.alloc(0);
    while (head.byteLength < ftypSize + 8) head = Buffer.concat([head, (await index.read())!.data]);
    // The head was all sent before the media's first byte (the page needs it first), though both were asked at once.
    expect(indexHad).toBeGreaterThanOrEqual(ftypSize + head.readUInt32BE(ftypSize));
    expect(first!.offset).toBe(mediaOffset);
    expect(sha256(first!.data)).toBe(sha256(file.subarray(mediaOffset!, mediaOffset! + first!.data.byteLength)));
    index.cancel();
    mediaStream.cancel();

    const faststart = client.open({ url: origin.url('/first.mp4'), index: 'mp4', mediaWindow: 256 * 1024 });
    expect((await faststart.meta).index!.mediaOffset).toBeNull();
    expect(faststart.media!.placed).toBe(false);
    expect(await faststart.media!.meta.then(() => null, (e: FerryError) => e.code)).toBe('cancelled');
    faststart.cancel();
  });

  it('passes a file that is no MP4 through as its own bytes, with no index', async () => {
    const transfer = client.open({ url: origin.url('/noise.bin'), index: 'mp4' });
    expect((await transfer.meta).index).toBeNull();
    expect(sha256(await readAll(transfer))).toBe(sha256(testBytes(3 * 1024 * 1024, 4)));
  });

  it('says the index is lost when the file ends before its moov', async () => {
    const err = await readAll(client.open({ url: origin.url('/cut.mp4'), index: 'mp4' })).then(
      () => null,
      (e: FerryError) => e,
    );
    expect(err?.message).toMatch(/ends early at \d+%, and its index \(moov box\) is lost/);
  });
});

/**
 * The head is the moov with tables cut to the first HEAD_SECONDS (the 120 s film has far more): the same
 * init data, and sample for sample the first samples of the whole, in offset, size, times and keyframes.
 */
function expectHeadOf(head: Uint8Array, moov: Uint8Array): void {
  const [cut, full] = [splitMoov(head), splitMoov(moov)];
  expect(sha256(Buffer.from(cut.skeleton))).toBe(sha256(Buffer.from(full.skeleton)));
  expect(cut.traks.length).toBe(full.traks.length);
  // Each trak's mdhd timescale (version 0 here), in trak order.
  const text = Buffer.from(moov).toString('latin1');
  const timescales = [...text.matchAll(/mdhd/g)].map((m) => Buffer.from(moov).readUInt32BE(m.index + 16));
  for (const [i, trak] of full.traks.entries()) {
    const [a, b] = [new SampleTable(cut.traks[i]!, timescales[i]!), new SampleTable(trak, timescales[i]!)];
    expect(b.count).toBeGreaterThan(a.count);
    expect(a.time(a.count - 1)).toBeGreaterThanOrEqual(HEAD_SECONDS - 0.1);
    expect(a.time(a.count - 1)).toBeLessThan(HEAD_SECONDS + 0.1);
    for (let k = 0; k < a.count; k++) {
      expect([a.offsets[k], a.sizes[k], a.dts(k), a.ctsOffset(k), a.sync[k]]).toEqual([b.offsets[k], b.sizes[k], b.dts(k), b.ctsOffset(k), b.sync[k]]);
    }
  }
  expect(head.byteLength).toBeLessThan(moov.byteLength / 5);
}

describe('the head from parts of a big moov', () => {
  /** Overwrites every sample table of the moov between `start` and `end` past its first `prefix` bytes; how many it garbled. */
  function garbleTables(file: Buffer, start: number, end: number, prefix: number): number {
    let garbled = 0;
    for (let pos = start; pos + 8 <= end; ) {
      const size = file.readUInt32BE(pos);
      const type = file.toString('latin1', pos + 4, pos + 8);
      if (['moov', 'trak', 'mdia', 'minf', 'stbl'].includes(type)) garbled += garbleTables(file, pos + 8, pos + size, prefix);
      else if (['stts', 'ctts', 'stss', 'stsz', 'stsc', 'stco', 'co64', 'sdtp'].includes(type) && size > prefix) {
        file.fill(0xab, pos + prefix, pos + size);
        garbled++;
      }
      pos += size;
    }
    return garbled;
  }

  it('through the relay: a moov over 4 MB gives the same head and whole, its head read by bounded ranges from an origin near', async () => {
    // The test film's moov with 5 MB of free space inside: big enough to be read in parts.
    const file = media.moovLast;
    const { moov } = boxes(file);
    const pad = Buffer.alloc(5 * 1024 * 1024);
    pad.writeUInt32BE(pad.byteLength, 0);
    pad.write('free', 4, 'latin1');
    const bigMoov = Buffer.concat([file.subarray(moov![0], moov![0] + moov![1]), pad]);
    bigMoov.writeUInt32BE(bigMoov.byteLength, 0);
    origin.set('/big-moov.mp4', { body: Buffer.concat([file.subarray(0, moov![0]), bigMoov]), type: 'video/mp4' });
    const transfer = client.open({ url: origin.url('/big-moov.mp4'), index: 'mp4' });
    const { ftypSize, moovSize } = (await transfer.meta).index!;
    expect(moovSize).toBe(bigMoov.byteLength);
    const body = await readIndexStream(transfer);
    const head = body.subarray(ftypSize, ftypSize + body.readUInt32BE(ftypSize));
    expect(sha256(head)).toBe(sha256(moovHead(bigMoov)));
    const whole = inflateSync(body.subarray(ftypSize + head.byteLength));
    decodeChunkOffsets(whole);
    expect(sha256(whole)).toBe(sha256(bigMoov));
    // The head's parts came by bounded ranges within the moov; the whole, once asked for, by one more.
    const ranges = origin.seen.filter((r) => r.path === '/big-moov.mp4' && r.range).map((r) => r.range!);
    expect(ranges.filter((r) => /^bytes=\d+-\d+$/.test(r)).length).toBeGreaterThan(1);

    // From an origin far away (80 ms to answer), rounds of requests cost more than the moov: it is read
    // whole, and gives the same head.
    origin.set('/big-moov-far.mp4', { body: Buffer.concat([file.subarray(0, moov![0]), bigMoov]), type: 'video/mp4', delayMs: 80 });
    const far = await readIndexStream(client.open({ url: origin.url('/big-moov-far.mp4'), index: 'mp4' }));
    expect(sha256(far)).toBe(sha256(body));
    expect(origin.seen.filter((r) => r.path === '/big-moov-far.mp4' && /^bytes=\d+-\d+$/.test(r.range ?? ''))).toHaveLength(0);
  });

  it('is the same, byte for byte, as the head of the whole moov, from a fraction of it; and refused when the prefixes fall short', async () => {
    const file = media.moovLast;
    const { moov } = boxes(file);
    const whole = moovHead(file.subarray(moov![0], moov![0] + moov![1]));
    const copy = Buffer.from(file);
    const read = (offset: number, length: number): Promise<Uint8Array> => Promise.resolve(copy.subarray(offset, offset + length));
    const headOf = (prefix: number): Promise<Uint8Array | null> => headFromParts(read, moov![0], moov![1], prefix);
    // Whatever lies in the tables past their first 4 KB must not matter: it is garbled here.
    const garbled = garbleTables(copy, moov![0], moov![0] + moov![1], 4096);
    expect(garbled).toBeGreaterThan(0);
    expect(sha256((await headOf(4096))!)).toBe(sha256(whole));
    // 10 s of the video's sample sizes alone are 1.2 KB: not within 1 KB, so the parts are not enough.
    expect(await headOf(1024)).toBeNull();
  });
});

describe('chunk offsets as differences', () => {
  it('come back exactly, for stco and for co64 offsets past 4 GiB, rising or not', () => {
    const box = (type: string, payload: Buffer): Buffer => Buffer.concat([Buffer.alloc(4), Buffer.from(type, 'latin1'), payload]);
    const sized = (b: Buffer): Buffer => (b.writeUInt32BE(b.byteLength, 0), b);
    const stco = sized(box('stco', Buffer.concat([Buffer.alloc(4), Buffer.from([0, 0, 0, 4]), ...[100, 4_000_000_000, 5, 4_294_967_295].map((x) => { const b = Buffer.alloc(4); b.writeUInt32BE(x); return b; })])));
    const big = [2 ** 33 + 7, 12, 2 ** 52 + 1, 2 ** 40];
    const co64 = sized(box('co64', Buffer.concat([Buffer.alloc(4), Buffer.from([0, 0, 0, 4]), ...big.map((x) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(x)); return b; })])));
    const moov = sized(box('moov', sized(box('trak', sized(box('mdia', sized(box('minf', sized(box('stbl', Buffer.concat([stco, co64])))))))))));
    const original = Buffer.from(moov);
    encodeChunkOffsets(moov);
    expect(moov.equals(original)).toBe(false);
    decodeChunkOffsets(moov);
    expect(moov.equals(original)).toBe(true);
  });
});
