/**
 * Decodes a run of AC-3, E-AC-3 or DTS packets into PCM, in the worker. The decoders are libavcodec in
 * WebAssembly (npm `@mediabunny/ac3`, `@mediabunny/dts`), which mediabunny runs only for a track of a file
 * it reads: each run is written as a one-track Matroska file in memory and read back (a few milliseconds a
 * second of sound; frames of these codecs decode on their own, so runs need nothing of the one before).
 * A codec's decoder is loaded the first time it is needed: neither is in the page's start.
 */
import { AudioSampleSink, BufferSource, Input, MATROSKA, type AudioSample } from 'mediabunny';
import { audioTrackEntry, webmCluster, webmInit } from '../matroska/webm-writer.js';
import { joinBytes } from '../../protocol/bytes.js';
import type { AudioConversion, DecodedCodec } from './conversion.js';

/** Decoded sound: planar float channels, at its rate. */
export interface Pcm {
  channels: Float32Array[];
  sampleRate: number;
  frames: number;
}

/** A packet of the source, with how long it sounds. */
export interface Packet {
  data: Uint8Array;
  seconds: number;
}

/** How long packets sound, together. */
export function packetSeconds(packets: readonly Packet[]): number {
  return packets.reduce((sum, p) => sum + p.seconds, 0);
}

/** Each converted codec's Matroska name, for the one-track files its packets are written as. */
export const CODEC_IDS: Record<DecodedCodec, string> = {
  ac3: 'A_AC3',
  eac3: 'A_EAC3',
  dts: 'A_DTS',
  truehd: 'A_TRUEHD',
};
const registered = new Map<DecodedCodec, Promise<void>>();

/** Loads (once) the package that decodes `codec`, and registers its decoder with mediabunny. */
export function loadDecoder(codec: DecodedCodec): Promise<void> {
  let loading = registered.get(codec);
  if (!loading) {
    const load = codec === 'truehd'
      ? Promise.reject(new Error('TrueHD is decoded by the relay, not in the page'))
      : codec === 'dts'
        ? import('@mediabunny/dts').then((m) => m.registerDtsDecoder())
        : import('@mediabunny/ac3').then((m) => m.registerAc3Decoder());
    loading = load;
    registered.set(codec, loading);
  }
  return loading;
}

/**
 * A decoder kept open per codec, never read past its first sample: the packages start their WebAssembly in
 * a worker of their own for the first decoder open and, in a browser worker, end it when the last one closes,
 * so without this each run would load it again (3 to 4 runs a second were all this worker managed). It reads
 * a file of one packet many times over, so that mediabunny, which decodes only a few ahead of what is taken,
 * never reaches its end and closes it.
 */
const KEEPER_PACKETS = 64;
const keepers = new Map<DecodedCodec, AsyncGenerator<unknown>>();

/** The packets' sound, in order, as one run of planar channels (null when nothing decodes). */
export async function decodeFrames(conversion: AudioConversion, packets: Packet[]): Promise<Pcm | null> {
  await loadDecoder(conversion.codec);
  if (!keepers.has(conversion.codec) && packets.length) {
    const keeper = samplesOf(conversion, new Array<Packet>(KEEPER_PACKETS).fill(packets[0]!));
    keepers.set(conversion.codec, keeper);
    await keeper.next();
  }
  const runs: Run[] = [];
  let rate = conversion.sampleRate;
  for await (const sample of samplesOf(conversion, packets)) {
    rate = sample.sampleRate;
    const planes: Float32Array[] = [];
    for (let c = 0; c < sample.numberOfChannels; c++) {
      const plane = new Float32Array(sample.numberOfFrames);
      sample.copyTo(plane, { planeIndex: c, format: 'f32-planar' });
      planes.push(plane);
    }
    runs.push({ planes, at: sample.timestamp });
    sample.close();
  }
  const seconds = packetSeconds(packets);
  return layRuns(runs, rate, Math.round(seconds * rate));
}

/** The packets written as a one-track Matroska file in memory, and its decoded samples read back. */
async function* samplesOf(conversion: AudioConversion, packets: Packet[]): AsyncGenerator<AudioSample> {
  const entry = audioTrackEntry(CODEC_IDS[conversion.codec], conversion.sampleRate, Math.max(1, conversion.channels));
  // Millisecond ticks, from 0: the decoded sound is placed by the caller, from the first packet's time.
  let ms = 0;
  const frames = packets.map(({ data, seconds }) => {
    const frame = { data, time: Math.round(ms), duration: Math.max(1, Math.round(seconds * 1000)), keyframe: true };
    ms += seconds * 1000;
    return frame;
  });
  const take = (size: number): Uint8Array<ArrayBuffer> => new Uint8Array(size);
  const file = joinBytes([new Uint8Array(webmInit(entry, 1_000_000, 'matroska')), webmCluster(take, 1, frames)]);
  const input = new Input({ source: new BufferSource(file), formats: [MATROSKA] });
  try {
    const track = await input.getPrimaryAudioTrack();
    if (track) yield* new AudioSampleSink(track).samples();
  } finally {
    input.dispose();
  }
}

/** Decoded sound and the second, from the first packet, of the packet it came from. */
interface Run {
  planes: Float32Array[];
  at: number;
}

/** A packet's sound this much later than where the one before ends is placed at its time, after silence. */
const LATE_SECONDS = 0.005;

/**
 * The runs laid on the packets' timeline, `frames` long at least: one after another, except that a run whose
 * packet starts later than the sound before ends is placed at its time, with silence between (a file whose
 * frames hold less sound than their times say: Bento4's E-AC-3 test file, 256 samples every 1536); a run
 * with fewer channels than the first (a stream that changes) repeats its last.
 */
function layRuns(runs: Run[], sampleRate: number, frames: number): Pcm | null {
  const first = runs[0];
  if (!first) return null;
  let cursor = 0;
  const placed = runs.map((run) => {
    const at = Math.round(run.at * sampleRate);
    const start = at - cursor > LATE_SECONDS * sampleRate ? at : cursor;
    cursor = start + run.planes[0]!.length;
    return { run, start };
  });
  const channels = first.planes.map(() => new Float32Array(Math.max(frames, cursor)));
  for (const { run, start } of placed) {
    for (const [c, plane] of channels.entries()) plane.set(run.planes[Math.min(c, run.planes.length - 1)]!, start);
  }
  return { channels, sampleRate, frames: channels[0]!.length };
}
