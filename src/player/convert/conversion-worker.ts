/**
 * The worker that converts one audio track: fragments of its packets in (as the demuxers write them, moof +
 * mdat), Opus fragments out at the same times. Work is done in order, one fragment after another; a seek
 * (a new generation) drops what was under way. A run of sound is encoded by one encoder while the fragments
 * follow one another without a gap; the end of the track flushes it.
 */
import { readFragment } from '../../mp4/fragment-read.js';
import { OUTPUT, type AudioConversion, type FromWorker, type ToWorker } from './conversion.js';
import { decodeFrames, loadDecoder, packetSeconds, type Packet, type Pcm } from './decode-frames.js';
import { toStereo } from './downmix.js';
import { OpusFragments } from './opus-fragments.js';
import { RelayDecoder } from './relay-decoder.js';
import { syncFrames } from './sync-frames.js';

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;

/** Fragments further apart than this start a run of their own (a gap in the file's sound). */
const GAP_SECONDS = 0.05;

let conversion: AudioConversion | null = null;
let trackId = 0;
let generation = 0;
/** Where playback goes on: packets that end before it are not converted (a seek reads from a keyframe before). */
let from = 0;
/** The run being encoded, and the second at which its sound so far ends. */
let run: { encoder: OpusFragments; end: number } | null = null;
/** Whether the page was told that some sound could not be decoded (it is told once). */
let told = false;
let work: Promise<void> = Promise.resolve();
/** Where the relay decodes this track (TrueHD), once the page knows; and the current run's socket to it. */
const relayAddress: { promise: Promise<string>; settle(address: string | null, why: string): void } = later();
let relay: RelayDecoder | null = null;

function later(): typeof relayAddress {
  let settle: (address: string | null, why: string) => void = () => {};
  const promise = new Promise<string>((resolve, reject) => {
    settle = (address, why) => (address ? resolve(address) : reject(new Error(why)));
  });
  promise.catch(() => {});
  return { promise, settle };
}

scope.onmessage = ({ data: message }) => {
  if (message.type === 'start') {
    conversion = message.conversion;
    trackId = message.trackId;
    restart(message.generation, message.from);
    // The decoder's code is fetched while the first media is read, not after.
    if (message.conversion.codec !== 'truehd') void loadDecoder(message.conversion.codec).catch(() => {});
  } else if (message.type === 'reset') {
    restart(message.generation, message.from);
  } else if (message.type === 'relay') {
    relayAddress.settle(message.address, message.why);
  } else {
    take(message);
  }
};

function restart(next: number, at: number): void {
  generation = next;
  from = at;
  // The new place's work does not wait behind the old one's: a decode under way (30 to 160 ms for a second
  // of sound) finishes beside it, and its sound is dropped.
  work = Promise.resolve();
  run?.encoder.close();
  run = null;
  relay?.close();
  // The relay's socket for the new place opens while its media is read, not once it comes.
  relay = conversion?.codec === 'truehd' ? new RelayDecoder(relayAddress.promise, conversion) : null;
}

function failed(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  scope.postMessage({ type: 'failed', message });
}

type FragmentIn = Extract<ToWorker, { type: 'fragment' }>;

/** A fragment's packets, and the second they start at; TrueHD's are sent to the relay as they come. */
interface Batch {
  generation: number;
  /** Null without packets (the sound the relay still owes then follows the run's). */
  at: number | null;
  packets: Packet[];
  last: boolean;
  /** Their sound, from the relay. */
  relayed: Promise<Pcm> | null;
}

/** A fragment in: read now, converted after those before it. */
function take(message: FragmentIn): void {
  const bytes = message.data.byteLength;
  const done = (): void => scope.postMessage({ type: 'taken', generation: message.generation, bytes });
  if (message.generation !== generation || !conversion) return done();
  const c = conversion;
  let batch: Batch;
  try {
    batch = batchOf(c, message);
  } catch (err) {
    failed(err);
    return done();
  }
  work = work
    .then(() => encodeBatch(c, batch))
    .catch((err: unknown) => failed(err))
    .finally(done);
}

function batchOf(c: AudioConversion, message: FragmentIn): Batch {
  const time = (dts: number): number => dts / c.timescale + message.timestampOffset;
  // A packet of margin before the place asked for: a decoder's first frame may want the one before it.
  const read = readFragment(new Uint8Array(message.data));
  const kept = read.findIndex((s) => time(s.dts + s.duration) > from);
  const samples = kept < 0 ? [] : read.slice(Math.max(0, kept - 1));
  const packets = samples.flatMap((s) => {
    const frames = c.codec === 'ac3' || c.codec === 'eac3' ? syncFrames(s.data) : [s.data];
    return frames.map((data) => ({ data, seconds: s.duration / c.timescale / frames.length }));
  });
  const { generation: of, last } = message;
  // A track the relay decodes has its socket from the start of each run (restart).
  const relayed = relay && (packets.length || last) ? relay.decode(packets, last) : null;
  relayed?.catch(() => {});
  return { generation: of, at: samples.length ? time(samples[0]!.dts) : null, packets, last, relayed };
}

/**
 * The packets' sound; where they do not decode (a damaged stretch, or a decoder that cannot load in this
 * page: its worker or WebAssembly refused), silence as long as they are, so that the picture plays on, and
 * the page is told once.
 */
async function decodeOrSilence(c: AudioConversion, { packets, relayed }: Batch): Promise<Pcm | null> {
  try {
    if (relayed) return await relayed;
    return packets.length ? await decodeFrames(c, packets) : null;
  } catch (err) {
    if (!told) failed(err);
    told = true;
    const frames = Math.round(packetSeconds(packets) * OUTPUT.sampleRate);
    return { channels: [new Float32Array(frames), new Float32Array(frames)], sampleRate: OUTPUT.sampleRate, frames };
  }
}

async function encodeBatch(c: AudioConversion, batch: Batch): Promise<void> {
  const pcm = await decodeOrSilence(c, batch);
  if (batch.generation !== generation) return;
  const at = batch.at ?? run?.end ?? 0;
  const { last } = batch;
  if (pcm && pcm.frames > 0) {
    if (!run || Math.abs(run.end - at) > GAP_SECONDS) await startRun(at, batch.generation);
    const [left, right] = toStereo(pcm.channels);
    run!.encoder.encode(left, right, pcm.sampleRate, run!.end);
    run!.end += pcm.frames / pcm.sampleRate;
  }
  if (!last) return;
  if (run) await run.encoder.finish(true);
  else scope.postMessage({ type: 'fragment', generation, data: new ArrayBuffer(0), endTime: at, last: true });
}

/** A new run from `at`: the one before (if any) is flushed first, so that its sound is all out. */
async function startRun(at: number, of: number): Promise<void> {
  const before = run;
  run = null;
  if (before) {
    await before.encoder.finish(false);
    before.encoder.close();
  }
  const emit = (data: Uint8Array<ArrayBuffer>, endTime: number, last: boolean): void => {
    if (of !== generation) return;
    scope.postMessage({ type: 'fragment', generation: of, data: data.buffer, endTime, last }, [data.buffer]);
  };
  run = { encoder: new OpusFragments(trackId, at, emit), end: at };
}
