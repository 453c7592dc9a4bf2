/**
 * A film's channels mixed to stereo, for the Opus encoder (Chromium's encodes one or two channels only).
 * Channels come in libavcodec's order for their count (5.1: FL FR FC LFE SL SR; 7.1: FL FR FC LFE BL BR SL
 * SR); the centre and surrounds go in at -3 dB (ITU-R BS.775) and the LFE is left out, as Chromium mixes a
 * 5.1 AAC track for stereo itself: not scaled down to make room (ffmpeg's way), which leaves dialogue, in the
 * centre, 11 dB quieter than the browser plays the same film in AAC. A film's headroom keeps the sum in range.
 */
const HALF = Math.SQRT1_2;

/** Per input channel, its weight in the left and right outputs, by channel count. */
const WEIGHTS: Record<number, [number, number][]> = {
  1: [[1, 1]],
  3: [[1, 0], [0, 1], [HALF, HALF]],
  4: [[1, 0], [0, 1], [HALF, 0], [0, HALF]],
  5: [[1, 0], [0, 1], [HALF, HALF], [HALF, 0], [0, HALF]],
  6: [[1, 0], [0, 1], [HALF, HALF], [0, 0], [HALF, 0], [0, HALF]],
  7: [[1, 0], [0, 1], [HALF, HALF], [0, 0], [HALF / 2, HALF / 2], [HALF, 0], [0, HALF]],
  8: [[1, 0], [0, 1], [HALF, HALF], [0, 0], [HALF, 0], [0, HALF], [HALF, 0], [0, HALF]],
};

/** Two planes from any number: stereo as it is, others by the weights above (unknown counts: the first two). */
export function toStereo(channels: Float32Array[]): [Float32Array, Float32Array] {
  if (channels.length === 2) return [channels[0]!, channels[1]!];
  const firstTwo = (_: unknown, c: number): [number, number] => [c === 0 ? 1 : 0, c === 1 ? 1 : 0];
  const weights = WEIGHTS[channels.length] ?? channels.map(firstTwo);
  const frames = channels[0]?.length ?? 0;
  const out: [Float32Array, Float32Array] = [new Float32Array(frames), new Float32Array(frames)];
  for (const [side, plane] of out.entries()) {
    for (const [c, input] of channels.entries()) {
      const weight = weights[c]![side]!;
      if (weight === 0) continue;
      for (let i = 0; i < frames; i++) plane[i] = plane[i]! + weight * input[i]!;
    }
  }
  return out;
}
