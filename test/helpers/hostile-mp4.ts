/** MP4s no muxer writes, made to cost a relay as much as they can: boxes nested without end, hundreds of traks. */
import { rangeOf, serveBytes, type Answer } from './hostile-origin.js';

/** A box of `type` around `payload`. */
function box(type: string, ...payload: Uint8Array[]): Buffer {
  const body = Buffer.concat(payload);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.byteLength);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

/** An MP4 whose moov is a chain of `depth` boxes of `inner` nested one in the next, each 8 bytes of header. */
export function nestedMoov(depth: number, inner: string): Buffer {
  const moov = Buffer.alloc(8 * depth);
  for (let level = 0; level < depth; level++) {
    moov.writeUInt32BE(8 * (depth - level), 8 * level);
    moov.write(level === 0 ? 'moov' : inner, 8 * level + 4, 'latin1');
  }
  return Buffer.concat([box('ftyp', Buffer.from('isom\0\0\0\0isom', 'latin1')), moov, box('mdat', Buffer.alloc(1024))]);
}

/** A moov of `traks` tracks, each with a sample size table of `samples` entries: one range request a trak. */
export function manyTraks(traks: number, samples: number): Buffer {
  const stsz = Buffer.alloc(12 + 4 * samples);
  stsz.writeUInt32BE(samples, 8);
  const trak = box('trak', box('mdia', box('minf', box('stbl', box('stsz', stsz)))));
  const moov = box('moov', ...Array.from({ length: traks }, () => trak));
  return Buffer.concat([box('ftyp', Buffer.from('isom\0\0\0\0isom', 'latin1')), box('mdat', Buffer.alloc(1024)), moov]);
}

/**
 * How a hostile origin serves a `manyTraks` file so that the relay's reads pile up: a part that starts at the
 * moov or at a trak comes at once, every other part (a trak's tables) 10 s later.
 */
export function slowTables(file: Buffer): Answer {
  const moovAt = file.indexOf('moov') - 4;
  const boxStarts = new Set([moovAt]);
  for (let at = moovAt + 8; at < file.byteLength; at += file.readUInt32BE(at)) boxStarts.add(at);
  return (head, socket) => {
    if (!/^range:.*-\d+\s*$/im.test(head) || boxStarts.has(rangeOf(head)[0])) serveBytes(file, socket, head);
    else setTimeout(() => !socket.destroyed && serveBytes(file, socket, head), 10_000);
  };
}
