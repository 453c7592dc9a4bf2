/**
 * TrueHD decoded by the relay (its `--decode-audio`, relay/node/audio-decode.ts), for the conversion worker:
 * the packets of one run (from a place until a seek ends it) go on one WebSocket as one Matroska stream, and
 * their sound comes back as 32-bit float stereo at 48 kHz, in order. A TrueHD stream decodes only from a major
 * sync (every 16 to 128 access units: 13 to 107 ms): a run starts at its first one, with silence before it.
 * ffmpeg may hold the sound of the last packet sent until more come: a fragment's sound is taken once all but
 * `LAG_SECONDS` of it is in, the rest comes with the next fragment's (the run's last takes all).
 */
import { audioTrackEntry, webmCluster, webmInit } from '../matroska/webm-writer.js';
import { OUTPUT, type AudioConversion } from './conversion.js';
import { CODEC_IDS, type Packet, type Pcm } from './decode-frames.js';

const LAG_SECONDS = 0.02;
/** A relay that sends nothing for this long is given up on: the sound plays as silence. */
const WAIT_MS = 15_000;
const { sampleRate } = OUTPUT;

/** Whether a TrueHD packet holds a major sync: an access unit whose 4-byte header is followed by F8726FBA. */
export function hasMajorSync(data: Uint8Array): boolean {
  for (let at = 0; at + 8 <= data.length;) {
    if (data[at + 4] === 0xf8 && data[at + 5] === 0x72 && data[at + 6] === 0x6f && data[at + 7] === 0xba) return true;
    // The unit's length, in 16-bit words, in the low 12 bits of its first two bytes.
    const words = ((data[at]! & 0x0f) << 8) | data[at + 1]!;
    if (words === 0) return false;
    at += words * 2;
  }
  return false;
}

export class RelayDecoder {
  private readonly socket: WebSocket;
  private readonly opened: Promise<void>;
  /** Whether the run's first major sync, and the stream's head before it, have gone. */
  private started = false;
  /** Where the next packet goes on the stream's timeline (ms), and the seconds of sound sent. */
  private ms = 0;
  private sent = 0;
  /** Stereo frames come back and not yet handed out, interleaved, and the bytes of a frame cut in two. */
  private queue: Float32Array[] = [];
  private queued = 0;
  private handed = 0;
  private partial = new Uint8Array(0);
  /** Why the socket closed ('' when all was sent), or null while it is open. */
  private ended: string | null = null;
  private changed: (() => void) | null = null;

  constructor(address: string, private readonly conversion: AudioConversion) {
    this.socket = new WebSocket(address);
    this.socket.binaryType = 'arraybuffer';
    this.socket.addEventListener('message', (event: MessageEvent<ArrayBuffer>) => this.take(event.data));
    let open = false;
    // Settled by its opening, or by its close (a refusal) before it opened, once `ended` says why.
    this.opened = new Promise((done) => {
      this.socket.addEventListener('open', () => ((open = true), done()), { once: true });
      this.socket.addEventListener('close', (event) => {
        // A refusal reaches a page as a close without a reason (its text stays in the HTTP answer).
        const refused = 'the relay refused to decode it (it decodes as many films at once as it has cores)';
        this.ended ??= event.code === 1000 ? '' : event.reason || (open ? 'the relay stopped decoding' : refused);
        this.changed?.();
        done();
      });
    });
  }

  /** The packets' sound, from the first; the last packets of a run end its stream and take all that is left. */
  async decode(packets: Packet[], last: boolean): Promise<Pcm> {
    let lead = 0;
    if (!this.started) {
      const first = packets.findIndex((p) => hasMajorSync(p.data));
      lead = seconds(first < 0 ? packets : packets.slice(0, first));
      packets = first < 0 ? [] : packets.slice(first);
      if (packets.length) await this.start();
    }
    if (packets.length) this.send(packets);
    if (last && this.started) this.socket.send('end');
    if (this.started) await this.arrived(last);
    return this.handOut(Math.round(lead * sampleRate));
  }

  /** Ends the socket (a seek, or the end of playing): what waits for it is handed what came. */
  close(): void {
    this.ended ??= '';
    this.socket.close();
    this.changed?.();
  }

  private async start(): Promise<void> {
    this.started = true;
    await Promise.race([this.opened, new Promise((done) => setTimeout(done, WAIT_MS))]);
    if (this.ended) throw new Error(this.ended);
    if (this.socket.readyState !== WebSocket.OPEN) throw new Error('the relay did not answer');
    const { sampleRate: rate, channels } = this.conversion;
    this.socket.send(webmInit(audioTrackEntry(CODEC_IDS.truehd, rate, Math.max(1, channels)), 1_000_000, 'matroska'));
  }

  private send(packets: Packet[]): void {
    const frames = packets.map(({ data, seconds: s }) => {
      const frame = { data, time: Math.round(this.ms), duration: Math.max(1, Math.round(s * 1000)), keyframe: true };
      this.ms += s * 1000;
      return frame;
    });
    this.socket.send(webmCluster((size) => new Uint8Array(size), 1, frames));
    this.sent += seconds(packets);
  }

  /** Waits for the sound of what was sent (all of it for the last), or the socket's end; throws on a failure. */
  private async arrived(last: boolean): Promise<void> {
    const enough = (): boolean => this.ended !== null || (!last && this.handed + this.queued >= this.due());
    const deadline = Date.now() + WAIT_MS;
    while (!enough() && Date.now() < deadline) {
      await new Promise<void>((done) => {
        const timer = setTimeout(done, deadline - Date.now());
        this.changed = () => (clearTimeout(timer), done());
      });
      this.changed = null;
    }
    if (this.ended) throw new Error(this.ended);
    if (!enough()) throw new Error('the relay did not decode it in time');
  }

  /** Frames the relay owes by now, but for the last few it may hold back. */
  private due(): number {
    return Math.round((this.sent - LAG_SECONDS) * sampleRate);
  }

  private take(data: ArrayBuffer): void {
    const bytes = new Uint8Array(this.partial.length + data.byteLength);
    bytes.set(this.partial);
    bytes.set(new Uint8Array(data), this.partial.length);
    const whole = bytes.length - (bytes.length % 8);
    this.partial = bytes.slice(whole);
    this.queue.push(new Float32Array(bytes.buffer, 0, whole / 4));
    this.queued += whole / 8;
    this.changed?.();
  }

  /** Silence for `lead` frames, then every frame come back, as two planes. */
  private handOut(lead: number): Pcm {
    const frames = lead + this.queued;
    const channels = [new Float32Array(frames), new Float32Array(frames)];
    let at = lead;
    for (const chunk of this.queue) {
      for (let i = 0; i < chunk.length; i += 2, at++) {
        channels[0]![at] = chunk[i]!;
        channels[1]![at] = chunk[i + 1]!;
      }
    }
    this.handed += this.queued;
    this.queue = [];
    this.queued = 0;
    return { channels, sampleRate, frames };
  }
}

const seconds = (packets: Packet[]): number => packets.reduce((sum, p) => sum + p.seconds, 0);
