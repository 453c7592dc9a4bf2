/**
 * The ISO-BMFF code shared by the relay and the page (src/mp4/): the one walk into a moov and the forward
 * reader, on hand-built boxes whose every byte is known.
 */
import { describe, expect, it } from 'vitest';
import { boxHeader } from '../src/mp4/box.js';
import { ForwardReader } from '../src/mp4/forward-reader.js';
import { rebuildMoov, walkMoov } from '../src/mp4/moov-walk.js';
import { joinBytes } from '../src/protocol/bytes.js';

const box = (type: string, ...children: Uint8Array[]): Uint8Array => {
  const payload = joinBytes(children);
  return joinBytes([boxHeader(type, 8 + payload.byteLength), payload]);
};
const raw = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);

describe('the moov walk', () => {
  const stbl = (marker: number): Uint8Array => box('stbl', box('stts', raw(0, 0, 0, 0, 0, 0, 0, marker)), box('stss', raw(marker)));
  const trak = (marker: number): Uint8Array => box('trak', box('tkhd', raw(marker)), box('mdia', box('minf', stbl(marker))));
  const moov = box('moov', box('mvhd', raw(9)), trak(1), box('trak'), trak(3));

  it('meets every box it does not enter in file order, with its trak, and counts empty traks', () => {
    const met: string[] = [];
    const traks = walkMoov(moov, { leaf: ({ type, trak }) => void met.push(`${trak?.index ?? '-'}:${type}`) });
    expect(traks).toBe(3);
    expect(met).toEqual(['-:mvhd', '0:tkhd', '0:stts', '0:stss', '2:tkhd', '2:stts', '2:stss']);
  });

  it('rebuilds a moov byte for byte when nothing is replaced, and resizes its containers when a box is dropped', () => {
    expect(rebuildMoov(moov, () => null, 'keep').bytes).toEqual(moov);
    const dropped = rebuildMoov(moov, ({ type }) => (type === 'stss' ? new Uint8Array(0) : null), 'drop').bytes;
    const sttsOnly = (marker: number): Uint8Array =>
      box('trak', box('tkhd', raw(marker)), box('mdia', box('minf', box('stbl', box('stts', raw(0, 0, 0, 0, 0, 0, 0, marker))))));
    const expected = box('moov', box('mvhd', raw(9)), sttsOnly(1), box('trak'), sttsOnly(3));
    expect(dropped).toEqual(expected);
  });

  it('keeps or drops what follows a box claiming more than its parent holds', () => {
    const liar = raw(0, 0, 1, 0, 0x66, 0x72, 0x65, 0x65, 1, 2, 3);
    const damaged = box('moov', box('mvhd', raw(9)), liar);
    expect(rebuildMoov(damaged, () => null, 'keep').bytes).toEqual(damaged);
    expect(rebuildMoov(damaged, () => null, 'drop').bytes).toEqual(box('moov', box('mvhd', raw(9))));
  });
});

describe('the forward reader', () => {
  const bytes = Uint8Array.from({ length: 1000 }, (_, k) => (k * 7) % 251);
  const oneByteAtATime = (): ForwardReader => {
    let at = 0;
    return new ForwardReader(async () => (at < bytes.byteLength ? bytes.subarray(at, ++at) : null));
  };

  it('peeks without taking, takes in any sizes, and hands on the rest chunk by chunk', async () => {
    const reader = oneByteAtATime();
    expect(await reader.peek(16)).toEqual(bytes.subarray(0, 16));
    expect(await reader.take(100)).toEqual(bytes.subarray(0, 100));
    expect(reader.heldBytes).toBe(0);
    expect(await reader.take(1)).toEqual(bytes.subarray(100, 101));
    const rest: Uint8Array[] = [];
    for (let chunk = await reader.next(); chunk; chunk = await reader.next()) rest.push(chunk);
    expect(joinBytes(rest)).toEqual(bytes.subarray(101));
  });

  it('gives fewer bytes only at the end of its source', async () => {
    const reader = oneByteAtATime();
    await reader.take(990);
    expect(await reader.peek(64)).toEqual(bytes.subarray(990));
    expect(await reader.take(64)).toHaveLength(10);
    expect(await reader.next()).toBeNull();
  });
});
