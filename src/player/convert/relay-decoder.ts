/**
 * TrueHD decoded by the relay (its `--decode-audio`, relay/node/audio-decode.ts), for the conversion worker:
 * the packets of one run (from a place until a seek ends it) go on one WebSocket as one Matroska stream, and
 * their sound comes back as 32-bit float stereo at 48 kHz, in order. Packets are sent as soon as they come,
 * and their sound is taken in order as the worker gets to them, so the relay decodes the next while the
 * worker encodes the last (at 16x, waiting for each in turn played under half as far). A TrueHD stream
 * decodes only from a major sync (every 16 to 128 access units: 13 to 107 ms): a run starts at its first one,
 * with silence before it. The relay sends sound 20 ms at a time, and ffmpeg may hold the last packet's until
 * more come: a batch's sound is taken once all but `LAG_SECONDS` of it is in, the rest comes with the next
 * (the run's last takes all).
 */
import { audioTrackEntry, webmCluster, webmInit } from '../matroska/webm-writer.js';
import { OUTPUT, type AudioConversion } from './conversion.js';
import { CODEC_IDS, packetSeconds, type Packet, type Pcm } from './decode-frames.js';
import { RelaySocket } from './relay-socket.js';

const LAG_SECONDS = 0.03;
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
  private socket: RelaySocket;
  /** Whether the run's first major sync, and the stream's head before it, have gone. */
  private started = false;
  /** Where the next packet goes on the stream's timeline (ms), and the frames of sound sent so far. */
  private ms = 0;
  private sentFrames = 0;
  /** Frames handed out so far; batches are handed out in order, each after the one before. */
  private handed = 0;
  private order: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly address: Promise<string>,
    private readonly conversion: AudioConversion,
  ) {
    this.socket = new RelaySocket(address);
  }

  /**
   * Sends the packets now; resolves with their sound, from the first (silence for those before the run's
   * first major sync), once it is back. The last packets of a run end its stream and take all that is left.
   */
  decode(packets: Packet[], last: boolean): Promise<Pcm> {
    if (this.socket.idle) this.reopen();
    let lead = 0;
    if (!this.started) {
      const first = packets.findIndex((p) => hasMajorSync(p.data));
      lead = Math.round(packetSeconds(first < 0 ? packets : packets.slice(0, first)) * sampleRate);
      packets = first < 0 ? [] : packets.slice(first);
      if (packets.length) this.start();
    }
    if (packets.length) this.send(packets);
    if (last && this.started) this.socket.send('end');
    const upTo = this.sentFrames;
    const sound = this.order.then(async () => {
      if (this.started) await this.arrived(last ? Infinity : upTo);
      return this.handOut(lead, last ? Infinity : upTo);
    });
    this.order = sound.catch(() => {});
    return sound;
  }

  /** Ends the socket (a seek, or the end of playing): what waits for it is handed what came. */
  close(): void {
    this.socket.close();
  }

  /**
   * A new socket, after the relay closed an idle one (a film paused over a minute): the stream starts again
   * at the next major sync. Nothing was owed on the old one but the few milliseconds ffmpeg held.
   */
  private reopen(): void {
    this.socket = new RelaySocket(this.address);
    this.started = false;
    this.ms = 0;
    this.sentFrames = 0;
    this.handed = 0;
  }

  private start(): void {
    this.started = true;
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
    this.sentFrames += Math.round(packetSeconds(packets) * sampleRate);
  }

  /** Waits for the sound up to frame `upTo` (all of it: Infinity), but for the last few, or the socket's end. */
  private async arrived(upTo: number): Promise<void> {
    const due = upTo - LAG_SECONDS * sampleRate;
    const enough = (): boolean => this.socket.ended !== null || this.handed + this.socket.frames >= due;
    const deadline = Date.now() + WAIT_MS;
    while (!enough() && Date.now() < deadline) await this.socket.change(deadline - Date.now());
    if (this.socket.ended) throw new Error(this.socket.ended);
    if (!enough()) throw new Error('the relay did not decode it in time');
  }

  /** Silence for `lead` frames, then the frames come back up to `upTo`, as two planes. */
  private handOut(lead: number, upTo: number): Pcm {
    const channels = this.socket.takeFrames(Math.max(0, upTo - this.handed), lead);
    this.handed += channels[0].length - lead;
    return { channels, sampleRate, frames: channels[0].length };
  }
}
