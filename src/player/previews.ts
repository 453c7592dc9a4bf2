/**
 * Pictures of any moment of the film, for the timeline: the keyframe at or before it, fetched by range
 * through the relay (its bytes alone, on a small window, cancelled if no longer wanted) and decoded with
 * WebCodecs. A few are kept. Where WebCodecs is missing, or does not take the codec, there are none.
 */
import type { MovieTrack } from './movie.js';
import type { RangeOpener } from './media-loader.js';

const KEPT = 24;
/** A keyframe's bytes are read on this window: enough for one, never competing with playback's 2 MB. */
const WINDOW = 256 * 1024;

export class Previews {
  private readonly kept = new Map<number, ImageBitmap>();

  constructor(
    private readonly track: MovieTrack,
    private readonly openAt: RangeOpener,
    /** The decoder configuration's description: the avcC (or hvcC) box's payload. */
    private readonly description: Uint8Array | null,
  ) {}

  static supported(): boolean {
    return typeof VideoDecoder !== 'undefined' && typeof EncodedVideoChunk !== 'undefined';
  }

  /** A picture of the keyframe at or before `time`, `width` wide; null when it cannot be made. */
  async at(time: number, width: number, signal: AbortSignal): Promise<ImageBitmap | null> {
    const t = this.track.table;
    const key = t.syncBefore(t.sampleAt(time));
    const kept = this.kept.get(key);
    if (kept) return kept;
    const data = await this.read(t.offsets[key]!, t.sizes[key]!, signal);
    if (!data || signal.aborted) return null;
    const frame = await this.decode(data);
    if (!frame) return null;
    const height = Math.round((width * frame.displayHeight) / frame.displayWidth);
    const picture = await createImageBitmap(frame, { resizeWidth: width, resizeHeight: height });
    frame.close();
    this.kept.set(key, picture);
    if (this.kept.size > KEPT) this.kept.delete(this.kept.keys().next().value!);
    return picture;
  }

  private async read(offset: number, size: number, signal: AbortSignal): Promise<Uint8Array | null> {
    const transfer = this.openAt(offset, Math.min(WINDOW, Math.max(size, 64 * 1024)));
    signal.addEventListener('abort', () => transfer.cancel(), { once: true });
    const out = new Uint8Array(size);
    let at = 0;
    try {
      while (at < size) {
        const chunk = await transfer.read();
        if (!chunk) return null;
        const take = Math.min(chunk.data.byteLength, size - at);
        out.set(chunk.data.subarray(0, take), at);
        at += take;
      }
      return out;
    } catch {
      return null;
    } finally {
      transfer.cancel();
    }
  }

  private async decode(data: Uint8Array): Promise<VideoFrame | null> {
    let frame: VideoFrame | null = null;
    const decoder = new VideoDecoder({ output: (f) => (frame ? f.close() : (frame = f)), error: () => {} });
    try {
      decoder.configure({ codec: this.track.codec, ...(this.description && { description: this.description }) });
      decoder.decode(new EncodedVideoChunk({ type: 'key', timestamp: 0, data }));
      await decoder.flush();
    } catch {
      return null;
    } finally {
      if (decoder.state !== 'closed') decoder.close();
    }
    return frame;
  }
}
