/**
 * Plays a URL: reads its first answer, lets engine-choice.ts pick the engine, and keeps one playback current
 * (an older one's work is dropped). Errors and notices reach the page in words.
 */
import type { Connection } from '../client/connection.js';
import { START_CREDIT } from '../client/early-start.js';
import type { Transfer, TransferMeta } from '../client/transfer.js';
import { FerryError } from '../protocol/codes.js';
import { chooseEngine, isLarge, rangeOpener, type ChoiceContext } from './engine-choice.js';
import { readIndex } from './moov-index.js';
import type { AudioTrackInfo, Engine, EngineStats } from './engine.js';
import { describeError } from '../ui/messages.js';
import { AttachedMediaSource, hasMediaSource } from './media-source.js';
import { markStart } from '../client/start-marks.js';
import { DEFAULT_GOALS, type BufferGoals } from './mse-engine.js';

export interface PlayerOptions {
  /** Files this size or larger (and every file of unknown size) go through MSE. */
  mseThreshold: number;
  goals: BufferGoals;
  /** Credit window of a media transfer, at most: below it, the link as measured sets it (client/link-estimate.ts). */
  window: number;
  /**
   * Credit window of the prefetch of the media start, which the relay opens with the index: small, because
   * it is what a seek right after the start waits behind.
   */
  probeWindow: number;
  /** The relay's HTTP origin, where the browser's own player fetches `/media/` tickets. */
  mediaBase: string;
}

export const DEFAULT_PLAYER_OPTIONS: PlayerOptions = {
  mseThreshold: 50 * 1024 * 1024,
  goals: DEFAULT_GOALS,
  // The inline start (index.html) grants the same, so its requests are the player's own.
  window: START_CREDIT.index,
  probeWindow: START_CREDIT.prefetch,
  mediaBase: globalThis.location?.origin ?? 'http://127.0.0.1',
};

export class Player {
  private engine: Engine | null = null;
  /** Which playback is current: each play() and stop() starts a new one, and an older one's work is dropped. */
  private playback = 0;
  /** The requests of the playback being chosen; cancelled if another starts first. */
  private opening: Transfer[] = [];
  /** The MediaSource attached for the playback being chosen, until an engine takes it. */
  private attached: AttachedMediaSource | null = null;
  private error: FerryError | null = null;
  private state: EngineStats['state'] = 'idle';
  private bytes = 0;
  private total: number | null = null;
  private validator: TransferMeta['validator'] = null;
  /** Called with a sentence for the banner, or null when it clears. */
  onError: ((message: string | null, err: FerryError | null) => void) | null = null;
  /** Called with a sentence about a file that plays but not as a whole, or null when it clears. */
  onNotice: ((message: string | null) => void) | null = null;

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
    // One request starts it: for an MP4, the relay finds the moov and sends its head first, and opens the media
    // at the first mdat itself; else the file's first bytes.
    const first = this.connection.open({ url, window: this.options.window, index: 'mp4', mediaWindow: this.options.probeWindow });
    this.opening = [first];
    // The MediaSource opens while the relay answers (its sourceopen takes the browser 20–45 ms, which on a
    // real link would otherwise follow the index's arrival); let go if the file turns out not to need it.
    if (hasMediaSource()) this.attached = new AttachedMediaSource(this.video);
    try {
      const meta = await first.meta;
      // A small file's engine is chosen from its whole index or head; a large one (an MP4's moov, a Matroska
      // file's head) most likely plays through MSE, which takes the MediaSource, or the choice closes it.
      if (current() && !isLarge(meta.total, this.options.mseThreshold)) this.closeAttached();
      const start = await this.firstAnswer(first, meta);
      markStart('first-answer');
      // play() called again, or stop(), while this one waited: it leaves nothing behind.
      if (!current()) return cancelStart(first, start);
      this.total = meta.total;
      this.validator = meta.validator;
      // An engine reports only into its own playback.
      const fail = (err: FerryError): void => void (current() && this.fail(err));
      const notice = (text: string): void => void (current() && this.onNotice?.(text));
      const { attached } = this;
      const engine = await chooseEngine({ video: this.video, connection: this.connection, url, meta, first, start, attached, options: this.options, fail, notice });
      markStart('engine');
      // The engine took the MediaSource, or closed it.
      if (this.attached === attached) this.attached = null;
      if (!current()) return engine.destroy();
      this.engine = engine;
      this.opening = [];
      this.state = 'playing';
    } catch (err) {
      first.cancel();
      if (current()) this.closeAttached();
      if (err instanceof FerryError) return void (current() && this.fail(err));
      // A fault of the player's own: the person reads a sentence; the details go to the console.
      console.error(err);
      if (current()) this.fail(new FerryError('media_error', 'the player failed to read this file'));
    }
  }

  /** The index the relay sent (its head here, the whole on its way); or the file's first bytes when it is no MP4. */
  private async firstAnswer(first: Transfer, meta: TransferMeta): Promise<ChoiceContext['start']> {
    if (meta.index) {
      // The media from the start, opened by the relay with the index (its bytes follow the head), or, when the
      // moov comes first, asked for now: playback from 0 then need not wait for it after the index.
      const { moovOffset, moovSize } = meta.index;
      const prefetch = first.media?.placed ? first.media : rangeOpener(this.connection, meta, this.options.probeWindow)(moovOffset + moovSize + 8);
      this.opening.push(prefetch);
      try {
        return { kind: 'index', ...(await readIndex(first, meta.index)), prefetch };
      } catch (err) {
        prefetch.cancel();
        throw err;
      }
    }
    const chunk = await first.read();
    if (!chunk) throw new FerryError('not_media', 'the server sent an empty file');
    this.bytes = chunk.data.byteLength;
    return { kind: 'bytes', chunk };
  }

  stop(): void {
    this.playback++;
    for (const t of this.opening) t.cancel();
    this.opening = [];
    this.closeAttached();
    this.engine?.destroy();
    this.engine = null;
    this.error = null;
    this.state = 'idle';
    this.bytes = 0;
    this.total = null;
    this.validator = null;
    this.onError?.(null, null);
    this.onNotice?.(null);
  }

  /** The audio tracks of the file playing, where its engine can switch among them. */
  audioTracks(): AudioTrackInfo[] {
    return this.engine?.audioTracks?.() ?? [];
  }

  chooseAudio(id: number): void {
    this.engine?.chooseAudio?.(id);
  }

  /** A picture of the film near `time` for the timeline, or null (no engine that makes them, no WebCodecs). */
  preview(time: number, width: number, signal: AbortSignal): Promise<ImageBitmap | null> {
    return this.engine?.preview?.(time, width, signal) ?? Promise.resolve(null);
  }

  /** The version of the file playing, as its origin gave it (ETag, else Last-Modified) with its size; null before its first answer. */
  version(): string | null {
    if (this.total === null && !this.validator) return null;
    return `${this.validator?.etag ?? this.validator?.lastModified ?? ''}/${this.total ?? ''}`;
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

  private closeAttached(): void {
    this.attached?.close();
    this.attached = null;
  }

  private fail(err: FerryError): void {
    if (this.error) return;
    this.error = err;
    this.state = 'error';
    this.onError?.(describeError(err), err);
  }
}

/** A superseded playback's own requests (never those of the playback that superseded it). */
function cancelStart(first: Transfer, start: ChoiceContext['start']): void {
  first.cancel();
  if (start.kind === 'index') start.prefetch.cancel();
}
