/**
 * Stereo PCM encoded as Opus by the browser's WebCodecs encoder, cut into MP4 fragments (moof + mdat) at
 * the source's times: the first fragment's decode time is where the sound it encodes starts, and each packet
 * follows the one before by its duration, so the sound stays where the file put it (the encoder's few
 * milliseconds of look-ahead aside: 6.5 ms, well inside the 40 ms a viewer could notice). One encoder per
 * run of sound without a gap: a seek, or a gap in the file, starts another.
 */
import { writeHeldFragment, type HeldSample } from '../mp4/moof.js';
import { OUTPUT } from './conversion.js';

/**
 * Small fragments for the first seconds of a run, so that a start or a seek plays at once, then a second;
 * the very first as soon as three packets are out (a seek's frame waits for sound at its time).
 */
const EARLY = { seconds: 2, fragmentSeconds: 0.25, firstSeconds: 0.06 };
const LATER_FRAGMENT_SECONDS = 1;
const TICKS = OUTPUT.sampleRate;

export type EmitFragment = (data: Uint8Array<ArrayBuffer>, endTime: number, last: boolean) => void;

export class OpusFragments {
  private encoder: AudioEncoder | null = null;
  private gathered: HeldSample[] = [];
  /** Decode time of the next packet, in 48 kHz ticks. */
  private next: number;
  private readonly first: number;
  private sequence = 1;
  private failure: Error | null = null;

  constructor(
    private readonly trackId: number,
    /** Seconds at which the run's sound starts. */
    start: number,
    private readonly emit: EmitFragment,
  ) {
    this.next = this.first = Math.max(0, Math.round(start * TICKS));
  }

  /** Encodes the next stretch of the run: two planes at `sampleRate`, following what came before. */
  encode(left: Float32Array, right: Float32Array, sampleRate: number, at: number): void {
    if (this.failure) throw this.failure;
    this.encoder ??= this.open(sampleRate);
    const planes = new Float32Array(left.length * 2);
    planes.set(left, 0);
    planes.set(right, left.length);
    const init = { format: 'f32-planar' as const, sampleRate, numberOfChannels: 2, numberOfFrames: left.length };
    const data = new AudioData({ ...init, timestamp: Math.round(at * 1e6), data: planes });
    this.encoder.encode(data);
    data.close();
  }

  /** The end of the run: what the encoder holds comes out, and the last fragment with it. */
  async finish(last: boolean): Promise<void> {
    if (this.encoder && this.encoder.state === 'configured') await this.encoder.flush();
    if (this.failure) throw this.failure;
    if (this.gathered.length) this.cut(last);
  }

  close(): void {
    if (this.encoder && this.encoder.state !== 'closed') this.encoder.close();
  }

  private open(sampleRate: number): AudioEncoder {
    const encoder = new AudioEncoder({
      output: (chunk) => this.take(chunk),
      error: (err) => (this.failure = err),
    });
    const { channels, bitrate } = OUTPUT;
    encoder.configure({ codec: 'opus', sampleRate, numberOfChannels: channels, bitrate });
    return encoder;
  }

  private take(chunk: EncodedAudioChunk): void {
    const data = new Uint8Array(chunk.byteLength);
    chunk.copyTo(data);
    const duration = Math.round(((chunk.duration ?? 20_000) * TICKS) / 1e6);
    this.gathered.push({ data, dts: this.next, duration, cto: 0, sync: true });
    this.next += duration;
    const early = this.next - this.first < EARLY.seconds * TICKS;
    const seconds = this.sequence === 1 ? EARLY.firstSeconds : early ? EARLY.fragmentSeconds : LATER_FRAGMENT_SECONDS;
    if (this.next - this.gathered[0]!.dts >= seconds * TICKS) this.cut(false);
  }

  private cut(last: boolean): void {
    const take = (size: number): Uint8Array<ArrayBuffer> => new Uint8Array(size);
    const data = writeHeldFragment(take, this.sequence++, this.trackId, this.gathered);
    this.gathered = [];
    this.emit(data, this.next / TICKS, last);
  }
}
