/**
 * Chooses how to play a URL from its first answer: big MP4s through MSE, small or other playable files from a
 * Blob, anything else refused with a clear message and the offer to download.
 */
import type { Connection } from '../client/connection.js';
import type { Transfer } from '../client/transfer.js';
import { FerryError } from '../protocol/codes.js';
import { BlobEngine } from './blob-engine.js';
import type { Engine, EngineStats } from './engine.js';
import { describeError } from '../ui/messages.js';
import { DEFAULT_GOALS, MseEngine, type BufferGoals } from './mse-engine.js';
import { sniff } from './probe.js';

export interface PlayerOptions {
  /** Files this size or larger (and every file of unknown size) go through MSE. */
  mseThreshold: number;
  goals: BufferGoals;
  /** Credit window of the media transfer. */
  window: number;
  /**
   * Credit window of the first request and of the prefetch of the media start: small, because when the moov
   * turns out to be elsewhere, whatever was granted still crosses the socket ahead of the moov.
   */
  probeWindow: number;
}

export const DEFAULT_PLAYER_OPTIONS: PlayerOptions = { mseThreshold: 50 * 1024 * 1024, goals: DEFAULT_GOALS, window: 2 * 1024 * 1024, probeWindow: 512 * 1024 };

const MP4_TYPES = /^(video|audio)\/(mp4|x-m4v|quicktime|3gpp)|^application\/mp4/;

export class Player {
  private engine: Engine | null = null;
  /** Which playback is current: each play() and stop() starts a new one, and an older one's work is dropped. */
  private playback = 0;
  /** The first request of the playback being chosen; cancelled if another starts first. */
  private opening: Transfer | null = null;
  private error: FerryError | null = null;
  private state: EngineStats['state'] = 'idle';
  private bytes = 0;
  private total: number | null = null;
  /** Called with a sentence for the banner, or null when it clears. */
  onError: ((message: string | null, err: FerryError | null) => void) | null = null;

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly connection: Connection,
    private readonly options: PlayerOptions = DEFAULT_PLAYER_OPTIONS,
  ) {}

  async play(url: string): Promise<void> {
    this.stop();
    const playback = this.playback;
    const current = (): boolean => playback === this.playback;
    this.state = 'loading';
    const first = this.connection.open({ url, window: this.options.probeWindow });
    this.opening = first;
    try {
      const meta = await first.meta;
      const head = await first.read();
      // play() called again, or stop(), while this one waited: it leaves nothing behind.
      if (!current()) return first.cancel();
      this.total = meta.total;
      if (!head) throw new FerryError('not_media', 'the server sent an empty file');
      this.bytes = head.data.byteLength;
      const kind = sniff(head.data, meta.total);
      if (kind.kind === 'html') {
        throw new FerryError('not_media', `the server sent a web page${meta.type ? ` (${meta.type.split(';')[0]})` : ''}, not a video`);
      }
      const big = meta.total === null || meta.total >= this.options.mseThreshold;
      const mp4 = kind.kind === 'mp4' || MP4_TYPES.test(meta.type ?? '');
      // An engine reports only into its own playback.
      const fail = (err: FerryError): void => void (current() && this.fail(err));
      if (mp4 && big) {
        if (!('MediaSource' in globalThis)) throw new FerryError('unsupported_codec', 'this browser has no Media Source Extensions, so large files cannot stream here; download it instead');
        const validator = meta.validator ?? undefined;
        const openAt = (offset: number, window = this.options.window) =>
          this.connection.open({ url: meta.url, offset, window, ...(validator && { validator }) });
        const windows = { probe: this.options.probeWindow, media: this.options.window };
        this.engine = new MseEngine(this.video, { openAt, first, firstChunk: head, total: meta.total, windows }, { ...this.options.goals }, fail);
      } else if (!big && (mp4 || this.video.canPlayType(meta.type ?? '') !== '')) {
        this.engine = new BlobEngine(this.video, first, head, meta.type ?? 'video/mp4', meta.total, fail);
      } else {
        throw new FerryError('unsupported_codec', `this browser cannot stream ${meta.type ?? 'this kind of file'}${big ? ' of this size' : ''}; download it instead`);
      }
      this.opening = null;
      this.state = 'playing';
    } catch (err) {
      first.cancel();
      if (current()) this.fail(err instanceof FerryError ? err : new FerryError('media_error', String(err)));
    }
  }

  stop(): void {
    this.playback++;
    this.opening?.cancel();
    this.opening = null;
    this.engine?.destroy();
    this.engine = null;
    this.error = null;
    this.state = 'idle';
    this.bytes = 0;
    this.total = null;
    this.onError?.(null, null);
  }

  stats(): EngineStats {
    const e = this.engine?.stats() ?? {};
    return {
      engine: e.engine ?? null,
      state: this.error ? 'error' : (e.state ?? this.state),
      bytesReceived: e.bytesReceived ?? this.bytes,
      totalBytes: e.totalBytes ?? this.total,
      queueDepth: e.queueDepth ?? 0,
      bufferedAhead: e.bufferedAhead ?? 0,
      bufferedBehind: e.bufferedBehind ?? 0,
      bytesHeld: e.bytesHeld ?? 0,
      speed: e.speed ?? 0,
      codecs: e.codecs ?? [],
      buffered: e.buffered ?? [],
      reconnects: this.connection.reconnects,
      quotaHits: e.quotaHits ?? 0,
      error: this.error ? { code: this.error.code, message: describeError(this.error) } : null,
    };
  }

  private fail(err: FerryError): void {
    if (this.error) return;
    this.error = err;
    this.state = 'error';
    this.onError?.(describeError(err), err);
  }
}
