/**
 * Plays a non-fragmented MP4 of any size through Media Source Extensions. A thin coordinator, in the manner
 * of hls.js's controllers: the loader reads the media and cuts fragments (media-loader.ts), the
 * buffers own the MediaSource, one queue per SourceBuffer and the eviction policy (media-buffers.ts), and the
 * stall watch steps over gaps (stall-watch.ts). This class wires them to the video element.
 */
import type { Chunk, Transfer } from '../client/transfer.js';
import { FerryError } from '../protocol/codes.js';
import type { BufferPool } from './buffer-pool.js';
import { codecRefusal } from './codecs.js';
import type { Presentation } from './container.js';
import { rangesOf, type AudioTrackInfo, type Engine, type EngineStats } from './engine.js';
import { MediaBuffers, type BufferGoals } from './media-buffers.js';
import { sourceBufferTakes, type AttachedMediaSource } from './media-source.js';
import { MediaLoader, type RangeOpener } from './media-loader.js';
import { SubtitleTracks } from './subtitle-tracks.js';
import { StallWatch } from './stall-watch.js';
import { AudioConversions } from './convert/audio-conversions.js';
import type { RelayDecoding } from './convert/support.js';

export { DEFAULT_GOALS, type BufferGoals } from './media-buffers.js';
export type { RangeOpener } from './media-loader.js';

const TICK_MS = 250;
/** Buffered seconds after a seek's target that make reading from it unnecessary. */
const SEEK_AHEAD_SECONDS = 2;

export interface MseSource {
  openAt: RangeOpener;
  /** The MediaSource on the video element, perhaps attached before the engine was chosen. */
  attached: AttachedMediaSource;
  /** The file, in its container's terms. */
  file: Presentation;
  /** Where its fragments are made: they go back to it once appended. */
  pool: BufferPool;
  /** The media at the movie's start, already asked for (or null). */
  prefetch: Transfer | null;
  /** The prefetch's bytes already read, from where the media starts (or null). */
  lead: Chunk | null;
  total: number | null;
  /** The credit window for the media, as the link allows; null until the link is measured. */
  mediaWindow: () => number | null;
  /** The relay's decoder of sound this page cannot decode, where it has one. */
  relayDecoding: RelayDecoding | null;
}

export class MseEngine implements Engine {
  private readonly buffers: MediaBuffers;
  /** Sound converted in the page on its way from the loader to the buffers. */
  private readonly conversions: AudioConversions;
  private readonly loader: MediaLoader;
  private readonly stalls: StallWatch;
  private readonly file: Presentation;
  private readonly subtitles: SubtitleTracks;
  private playing = false;
  private failure: FerryError | null = null;
  /** A seek went beyond the index known so far: nothing is read until the rest of it is here. */
  private held = false;
  /** The playhead was set where it was, to flush decoded sound: its seek reads nothing. */
  private nudged = false;
  private destroyed = false;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly listeners: [string, () => void][];

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly source: MseSource,
    goals: BufferGoals,
    private readonly onError: (err: FerryError) => void,
    /** A sentence for the page that is no error: playback goes on (e.g. the file is incomplete). */
    private readonly onNotice: (notice: string) => void,
  ) {
    const wake = (): void => this.loader.wake();
    this.buffers = new MediaBuffers(video, source.attached, goals, source.pool, wake, (err) => this.fail(err));
    const buffers = this.buffers;
    const notice = (text: string): void => this.onNotice(text);
    const convert = { relay: source.relayDecoding, fail: (err: FerryError) => this.fail(err), notice };
    this.conversions = new AudioConversions(source.pool, (f) => buffers.add(f), wake, convert);
    this.listeners = [
      ['seeking', () => this.onSeeking()],
      ['timeupdate', () => this.loader.wake()],
      // The first frame shows: the loader reads on, past the start's goal.
      [
        'loadeddata',
        () => {
          this.completeIndex();
          this.loader.wake();
        },
      ],
      ['error', () => this.fail(new FerryError('media_error', `the browser could not decode the video${video.error?.message ? `: ${video.error.message}` : ''}`))],
    ];
    for (const [name, fn] of this.listeners) video.addEventListener(name, fn);
    this.stalls = new StallWatch(video, this.buffers, () => this.loader.position(), (t) => this.seekTo(t), (err) => this.fail(err));
    this.timer = setInterval(() => this.tick(), TICK_MS);
    const file = (this.file = source.file);
    this.subtitles = new SubtitleTracks(video, file.texts);
    this.loader = new MediaLoader(source.openAt, file.demuxer, source.total, source.mediaWindow, {
      fragment: (f) => this.conversions.take(f) || this.buffers.add(f),
      cue: (cue) => this.subtitles.add(cue),
      full: () => this.buffers.full() || this.conversions.behind(),
      currentTime: () => this.video.currentTime,
      fail: (err) => this.fail(err),
    });
    if (this.startTracks()) this.loader.start(source.prefetch, source.lead);
    else source.prefetch?.cancel();
  }

  /**
   * The rest of the index is read once the first frame is shown (its tens of milliseconds of parsing would
   * delay it), or at once for a seek beyond what is known; then a held seek goes on.
   */
  private completeIndex(): void {
    this.file.complete((text) => this.onNotice(text))?.then((playable) => {
      if (this.failure || this.destroyed) return;
      if (Number.isFinite(playable)) this.buffers.shorten(playable);
      // A converted track ends with its last converted fragment, which may still be on its way.
      this.buffers.endTracks(this.file.demuxer.finishedTracks().filter((id) => !this.conversions.converts(id)));
      if (this.held) this.seekTo(this.video.currentTime);
      else this.loader.wake();
    }, (err: FerryError) => this.fail(err));
  }

  stats(): Partial<EngineStats> {
    const around = this.buffers.around(this.video.currentTime);
    const held = this.buffers.stats();
    return {
      engine: 'mse',
      state: this.failure ? 'error' : this.buffers.ended ? 'ended' : this.playing ? 'playing' : 'loading',
      bytesReceived: this.loader.received,
      totalBytes: this.source.total,
      queueDepth: held.queueDepth,
      bufferedAhead: around.ahead,
      bufferedBehind: around.behind,
      bytesHeld: held.bytesHeld + this.loader.held + this.conversions.held,
      speed: this.loader.meter.rate(),
      codecs: this.playing ? this.file.tracks.map((tr) => tr.codec) : [],
      buffered: held.buffered ? rangesOf(held.buffered) : [],
      quotaHits: held.quotaHits,
    };
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    clearInterval(this.timer);
    this.loader.stop();
    this.file.close();
    this.subtitles.close();
    this.conversions.close();
    for (const [name, fn] of this.listeners) this.video.removeEventListener(name, fn);
    this.buffers.close();
  }

  preview(time: number, width: number, signal: AbortSignal): Promise<ImageBitmap | null> {
    return this.file.preview?.(time, width, signal) ?? Promise.resolve(null);
  }

  audioTracks(): AudioTrackInfo[] {
    const playing = this.file.tracks.find((t) => t.kind === 'audio')?.id;
    return this.file.audioChoices().map(({ id, language, name, codec, mime, channels, converted }) => ({
      id, language, ...(name && { name }), codec, playable: sourceBufferTakes(mime), playing: id === playing,
      ...(channels && { channels }), ...(converted && { converted }),
    }));
  }

  /**
   * Another audio track from where playback is: the SourceBuffer takes its init segment (and its codec),
   * and the media is read again from the keyframe before the playhead, the new sound replacing the old.
   */
  chooseAudio(id: number): void {
    const choice = this.file.audioChoices().find((c) => c.id === id);
    if (!choice || this.failure || !sourceBufferTakes(choice.mime)) return;
    const swapped = this.file.swapAudio(id);
    if (!swapped) return;
    // The seek first: it drops what was queued for the old track, and the new init segment must stay.
    this.seekTo(this.video.currentTime);
    this.buffers.replaceTrack(swapped.old, swapped.track);
    this.conversions.replace(swapped.old, swapped.track, this.video.currentTime);
    // A seek to where it is flushes the sound the browser has decoded ahead (as hls.js nudges it): the new
    // track is heard within half a second, not after the seconds already decoded (0.5 to 2.6 s measured).
    // Its `seeking` must not seek again: that would drop the new track's init segment, still queued.
    this.nudged = true;
    const here = this.video.currentTime;
    this.video.currentTime = here;
  }

  /** Checks the codecs and opens the SourceBuffers; false when the file cannot play here (and it failed). */
  private startTracks(): boolean {
    const { tracks } = this.file;
    if (tracks.length === 0) {
      this.fail(new FerryError('unsupported_codec', 'this file has no audio or video track'));
      return false;
    }
    const refused = codecRefusal(tracks, sourceBufferTakes);
    if (refused) {
      this.fail(refused);
      return false;
    }
    // Known from the index before any media is read: what exists plays, then the stream ends.
    const playable = this.file.check((text) => this.onNotice(text));
    if (playable instanceof FerryError) {
      this.fail(playable);
      return false;
    }
    this.playing = true;
    this.conversions.open(tracks, this.video.currentTime);
    void this.buffers.open(tracks, Math.min(this.file.duration, playable));
    // After a skipped lead-in, or sound that starts after the picture: playback starts where both are.
    if (this.file.start > 0.05 && this.video.currentTime < this.file.start) this.video.currentTime = this.file.start;
    return true;
  }

  private onSeeking(): void {
    if (!this.playing || this.failure) return;
    if (this.nudged) return void (this.nudged = false);
    const t = this.video.currentTime;
    // Within the buffer, with seconds after it there or on their way: nothing to fetch. A playhead at the end
    // of a range the reading has left (behind a later seek's) would wait there for ever.
    const around = this.buffers.around(t);
    const reading = this.loader.position();
    const filling = reading >= t && reading <= t + around.ahead + 1;
    if (around.contains && (around.ahead >= SEEK_AHEAD_SECONDS || filling)) return;
    this.seekTo(t);
  }

  /** Fetches from the keyframe before `time`, dropping what was queued for elsewhere. */
  private seekTo(time: number): void {
    this.buffers.reset(time);
    this.conversions.reset(time);
    // Beyond the index known so far: reading waits for the rest of it (completeIndex).
    this.held = this.file.waitsFor(time);
    if (this.held) {
      this.loader.hold();
      this.completeIndex();
    } else {
      this.loader.seek(time);
    }
  }

  private tick(): void {
    if (this.failure || this.destroyed) return;
    const t = this.video.currentTime;
    this.buffers.evict(t);
    if (this.playing) this.stalls.check(t);
    this.loader.wake();
  }

  private fail(err: FerryError): void {
    if (this.failure || this.destroyed) return;
    this.failure = err;
    this.loader.stop();
    this.onError(err);
  }
}
