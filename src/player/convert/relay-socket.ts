/**
 * The WebSocket to the relay's decoder (relay-decoder.ts): opened once its address (a ticket's) is known,
 * what is sent before then held and sent in order, and the interleaved stereo frames that come back queued
 * until they are taken. Its end says why in words: '' when all was sent, or why it failed.
 */
const BYTES_PER_FRAME = 8;

export class RelaySocket {
  /** Why the socket ended ('' when the relay sent all), or null while it is open or opening. */
  ended: string | null = null;
  /** Whether the relay closed it for want of packets (a film paused): another may be opened. */
  idle = false;
  /** Stereo frames come back and not taken. */
  frames = 0;
  private socket: WebSocket | null = null;
  private held: (ArrayBuffer | Uint8Array<ArrayBuffer> | string)[] = [];
  private queue: Float32Array[] = [];
  private partial = new Uint8Array(0);
  private changed: (() => void) | null = null;

  constructor(address: Promise<string>) {
    address.then((at) => this.open(at), (err: unknown) => this.end((err as Error).message));
  }

  send(data: ArrayBuffer | Uint8Array<ArrayBuffer> | string): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(data);
    else if (this.ended === null) this.held.push(data);
  }

  /** Resolves when frames come or the socket ends, or after `ms`. */
  change(ms: number): Promise<void> {
    return new Promise((done) => {
      const timer = setTimeout(done, ms);
      this.changed = () => {
        clearTimeout(timer);
        this.changed = null;
        done();
      };
    });
  }

  /** Up to `most` queued frames, after `lead` frames of silence, as two planes. */
  takeFrames(most: number, lead: number): [Float32Array, Float32Array] {
    const count = Math.min(most, this.frames);
    const out: [Float32Array, Float32Array] = [new Float32Array(lead + count), new Float32Array(lead + count)];
    let at = lead;
    while (at < lead + count) {
      const chunk = this.queue[0]!;
      const use = Math.min(chunk.length / 2, lead + count - at);
      for (let i = 0; i < use; i++, at++) {
        out[0][at] = chunk[2 * i]!;
        out[1][at] = chunk[2 * i + 1]!;
      }
      if (use * 2 === chunk.length) this.queue.shift();
      else this.queue[0] = chunk.subarray(use * 2);
    }
    this.frames -= count;
    return out;
  }

  close(): void {
    this.end('');
    this.socket?.close();
  }

  private open(address: string): void {
    if (this.ended !== null) return;
    const socket = new WebSocket(address);
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    let open = false;
    socket.addEventListener('open', () => {
      open = true;
      for (const data of this.held) socket.send(data);
      this.held = [];
    });
    socket.addEventListener('message', (event: MessageEvent<ArrayBuffer>) => this.take(event.data));
    socket.addEventListener('close', (event) => {
      this.idle = event.code === 1001;
      // A refusal reaches a page as a close without a reason (its text stays in the HTTP answer).
      const refused = 'the relay refused to decode it (it decodes as many films at once as it has cores)';
      this.end(event.code === 1000 ? '' : event.reason || (open ? 'the relay stopped decoding' : refused));
    });
  }

  private end(why: string): void {
    this.ended ??= why;
    this.held = [];
    this.changed?.();
  }

  private take(data: ArrayBuffer): void {
    const bytes = new Uint8Array(this.partial.length + data.byteLength);
    bytes.set(this.partial);
    bytes.set(new Uint8Array(data), this.partial.length);
    const whole = bytes.length - (bytes.length % BYTES_PER_FRAME);
    this.partial = bytes.slice(whole);
    this.queue.push(new Float32Array(bytes.buffer, 0, whole / 4));
    this.frames += whole / BYTES_PER_FRAME;
    this.changed?.();
  }
}
