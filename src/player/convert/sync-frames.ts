/**
 * An AC-3 or E-AC-3 sample split into what the decoder takes one at a time. An MP4 sample may hold several
 * syncframes (Bento4 writes six E-AC-3 frames of 256 samples in one), and libavcodec, without its parser,
 * decodes only the first frame of a packet: the rest of the sound was lost (0.06 s of every 0.256 s). A
 * dependent substream's frame (E-AC-3 7.1's extra channels) stays with the independent frame before it,
 * which is how the decoder takes them together.
 */

/** AC-3 frame sizes in 16-bit words at 48 kHz, by frmsizecod / 2 (ATSC A/52, table 5.18). */
const AC3_WORDS_48K = [64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024, 1152, 1280];
/** The same at 44.1 kHz (odd codes one word longer) and 32 kHz. */
const AC3_WORDS_44K = [69, 87, 104, 121, 139, 174, 208, 243, 278, 348, 417, 487, 557, 696, 835, 975, 1114, 1253, 1393];
const AC3_WORDS_32K = [
  96, 120, 144, 168, 192, 240, 288, 336, 384, 480, 576, 672, 768, 960, 1152, 1344, 1536, 1728, 1920,
];

/** The frame at `at`: its size in bytes and whether it is a dependent substream; null if no frame starts there. */
function frameAt(b: Uint8Array, at: number): { size: number; dependent: boolean } | null {
  if (at + 6 > b.byteLength || b[at] !== 0x0b || b[at + 1] !== 0x77) return null;
  const bsid = b[at + 5]! >> 3;
  if (bsid > 10) {
    const size = ((((b[at + 2]! & 7) << 8) | b[at + 3]!) + 1) * 2;
    return { size, dependent: b[at + 2]! >> 6 === 1 };
  }
  const fscod = b[at + 4]! >> 6;
  const code = b[at + 4]! & 0x3f;
  const table = [AC3_WORDS_48K, AC3_WORDS_44K, AC3_WORDS_32K][fscod];
  const words = table?.[code >> 1];
  if (!words) return null;
  return { size: (words + (fscod === 1 ? code & 1 : 0)) * 2, dependent: false };
}

/** The packet's frames, each with its dependent ones; the packet whole when it does not parse as frames. */
export function syncFrames(packet: Uint8Array): Uint8Array[] {
  const starts: number[] = [];
  let at = 0;
  while (at < packet.byteLength) {
    const frame = frameAt(packet, at);
    if (!frame || frame.size < 6 || at + frame.size > packet.byteLength) return [packet];
    if (!frame.dependent || starts.length === 0) starts.push(at);
    at += frame.size;
  }
  if (starts.length <= 1) return [packet];
  return starts.map((start, k) => packet.subarray(start, starts[k + 1] ?? packet.byteLength));
}
