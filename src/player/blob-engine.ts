/** Small files play from a Blob: read whole through the relay, then handed to the video element. */
import { RateMeter } from '../ui/rate.js';
import type { Chunk, Transfer } from '../client/transfer.js';
import type { FerryError } from '../protocol/codes.js';
import { rangesOf, type Engine, type EngineStats } from './engine.js';

export class BlobEngine implements Engine {
  private readonly parts: Uint8Array[] = [];
  private received = 0;
  private url: string | null = null;
  private failed = false;
  private destroyed = false;
  private readonly meter = new RateMeter();

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly transfer: Transfer,
    first: Chunk,
    private readonly type: string,
    private readonly total: number | null,
    private readonly onError: (err: FerryError) => void,
  ) {
    this.take(first.data);
    void this.read();
  }

  private take(data: Uint8Array): void {
    this.parts.push(data);
    this.received += data.byteLength;
    this.meter.add(this.received);
  }

  private async read(): Promise<void> {
    try {
      for (let c = await this.transfer.read(); c; c = await this.transfer.read()) this.take(c.data);
    } catch (err) {
      // A destroyed engine's cancelled read is no error of the next playback's.
      if (this.destroyed) return;
      this.failed = true;
      this.onError(err as FerryError);
      return;
    }
    if (this.destroyed) return;
    this.url = URL.createObjectURL(new Blob(this.parts as BlobPart[], { type: this.type }));
    this.parts.length = 0;
    this.video.src = this.url;
  }

  stats(): Partial<EngineStats> {
    const b = this.video.buffered;
    const t = this.video.currentTime;
    return {
      engine: 'blob',
      state: this.failed ? 'error' : this.url ? 'playing' : 'loading',
      bytesReceived: this.received,
      totalBytes: this.total,
      queueDepth: 0,
      bufferedAhead: b.length ? Math.max(0, b.end(b.length - 1) - t) : 0,
      bufferedBehind: b.length ? Math.max(0, t - b.start(0)) : 0,
      bytesHeld: this.url ? 0 : this.received,
      speed: this.meter.rate(),
      buffered: rangesOf(b),
    };
  }

  destroy(): void {
    this.destroyed = true;
    this.transfer.cancel();
    if (this.url) URL.revokeObjectURL(this.url);
    this.video.removeAttribute('src');
    this.video.load();
  }
}
