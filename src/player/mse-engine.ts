/**
 * Plays a non-fragmented MP4 of any size through Media Source Extensions. A thin coordinator, in the manner
 * of hls.js's controllers: the loader reads the media and cuts fragments (media-loader.ts), the
 * buffers own the MediaSource, one queue per SourceBuffer and the eviction policy (media-buffers.ts), and the
 * stall watch steps over gaps (stall-watch.ts). This class wires them to the video element.
 */
import type { Transfer } from '../client/transfer.js';
import { FerryError } from '../protocol/codes.js';
import { BufferPool } from './buffer-pool.js';
import { codecRefusal } from './codecs.js';
import { rangesOf, type AudioTrackInfo, type Engine, type EngineStats } from './engine.js';
import { Fragmenter } from './fragmenter.js';
import { MediaBuffers, type BufferGoals } from './media-buffers.js';
import { sourceBufferTakes, type AttachedMediaSource } from './media-source.js';
import { MediaLoader, type RangeOpener } from './media-loader.js';
import { incompleteNotice, noMediaHeld } from './notices.js';
import type { Movie, MovieText, MovieTrack } from './movie.js';
import { Previews } from './previews.js';
import { SubtitleTracks } from './subtitle-tracks.js';
import { StallWatch } from './stall-watch.js';

export { DEFAULT_GOALS, type BufferGoals } from './media-buffers.js';
export type { RangeOpener } from './media-loader.js';

const TICK_MS = 250;

export interface MseSource {
  openAt: RangeOpener;
  /** The MediaSource on the video element, perhaps attached before the engine was chosen. */
  attached: AttachedMediaSource;
  movie: Movie;
  /** The media at the movie's start, already asked for (or null). */
  prefetch: Transfer | null;
  /**
   * When `movie` is a moov's head: the whole movie, read and parsed when `load`ed (rejects with a FerryError),
   * or `drop`ped.
   */
  whole: { load: () => Promise<Movie>; drop: () => void } | null;
  total: number | null;
  /** The credit window for the media, as the link allows; null until the link is measured. */
  mediaWindow: () => number | null;
}

export class MseEngine implements Engine {
  private readonly pool = new BufferPool();
  private readonly buffers: MediaBuffers;
  private readonly loader: MediaLoader;
  private readonly stalls: StallWatch;
  private tracks: MovieTrack[] = [];
  private texts: MovieText[] = [];
  private readonly fragmenter: Fragmenter;
  private previews: Previews | null = null;
  private readonly subtitles: SubtitleTracks;
  private failure: FerryError | null = null;
  /** A seek went beyond the tables known so far: nothing is read until the whole movie is here. */
  private held = false;
  /** The whole movie after a head, until it is read. */
  private whole: MseSource['whole'];
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
    this.whole = source.whole;
    this.buffers = new MediaBuffers(video, source.attached, goals, this.pool, () => this.loader.wake(), (err) => this.fail(err));
    this.listeners = [
      ['seeking', () => this.onSeeking()],
      ['timeupdate', () => this.loader.wake()],
      // The first frame shows: the loader reads on, past the start's goal.
      [
        'loadeddata',
        () => {
          this.loadWhole();
          this.loader.wake();
        },
      ],
      ['error', () => this.fail(new FerryError('media_error', `the browser could not decode the video${video.error?.message ? `: ${video.error.message}` : ''}`))],
    ];
    for (const [name, fn] of this.listeners) video.addEventListener(name, fn);
    this.stalls = new StallWatch(video, this.buffers, () => this.loader.position(), (t) => this.seekTo(t), (err) => this.fail(err));
    this.timer = setInterval(() => this.tick(), TICK_MS);
    const fragmenter = (this.fragmenter = new Fragmenter(source.movie.tracks, this.pool, undefined, source.movie.texts));
    this.texts = source.movie.texts;
    this.subtitles = new SubtitleTracks(video, source.movie.texts);
    this.loader = new MediaLoader(source.openAt, fragmenter, source.total, source.mediaWindow, {
      fragment: (f) => this.buffers.add(f),
      cue: (cue) => this.subtitles.add(cue),
      full: () => this.buffers.full(),
      currentTime: () => this.video.currentTime,
      fail: (err) => this.fail(err),
    });
    if (this.startTracks(source.movie)) this.loader.start(source.prefetch);
    else source.prefetch?.cancel();
  }

  /**
   * The whole movie is read once the first frame is shown (its tens of milliseconds of parsing would delay
   * it), or at once for a seek beyond the head.
   */
  private loadWhole(): void {
    const whole = this.whole;
    this.whole = null;
    whole?.load().then((movie) => this.completeTables(movie), (err: FerryError) => this.fail(err));
  }

  stats(): Partial<EngineStats> {
    const around = this.buffers.around(this.video.currentTime);
    const held = this.buffers.stats();
    return {
      engine: 'mse',
      state: this.failure ? 'error' : this.buffers.ended ? 'ended' : this.tracks.length ? 'playing' : 'loading',
      bytesReceived: this.loader.received,
      totalBytes: this.source.total,
      queueDepth: held.queueDepth,
      bufferedAhead: around.ahead,
      bufferedBehind: around.behind,
      bytesHeld: held.bytesHeld + this.loader.held,
      speed: this.loader.meter.rate(),
      codecs: this.tracks.map((tr) => tr.codec),
      buffered: held.buffered ? rangesOf(held.buffered) : [],
      quotaHits: held.quotaHits,
    };
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    clearInterval(this.timer);
    this.loader.stop();
    this.whole?.drop();
    this.subtitles.close();
    for (const [name, fn] of this.listeners) this.video.removeEventListener(name, fn);
    this.buffers.close();
  }

  preview(time: number, width: number, signal: AbortSignal): Promise<ImageBitmap | null> {
    const video = this.tracks.find((t) => t.kind === 'video');
    if (!video || !Previews.supported()) return Promise.resolve(null);
    this.previews ??= new Previews(video, this.source.openAt, video.description);
    return this.previews.at(time, width, signal);
  }

  audioTracks(): AudioTrackInfo[] {
    const playing = this.tracks.find((t) => t.kind === 'audio')?.id;
    return this.source.movie.audioChoices.map(({ id, language, codec, mime }) => ({ id, language, codec, playable: sourceBufferTakes(mime), playing: id === playing }));
  }

  /**
   * Another audio track from where playback is: the SourceBuffer takes its init segment (and its codec),
   * and the media is read again from the keyframe before the playhead, the new sound replacing the old.
   */
  chooseAudio(id: number): void {
    const old = this.tracks.find((t) => t.kind === 'audio');
    const choice = this.source.movie.audioChoices.find((c) => c.id === id);
    if (!old || !choice || old.id === id || this.failure || !sourceBufferTakes(choice.mime)) return;
    const track = choice.make();
    if (!track) return;
    this.tracks = this.tracks.map((t) => (t === old ? track : t));
    this.fragmenter.replaceTrack(old, track);
    // The seek first: it drops what was queued for the old track, and the new init segment must stay.
    this.seekTo(this.video.currentTime);
    this.buffers.replaceTrack(old, track);
  }

  /** Checks the codecs and opens the SourceBuffers; false when the file cannot play here (and it failed). */
  private startTracks(movie: Movie): boolean {
    if (movie.tracks.length === 0) {
      this.fail(new FerryError('unsupported_codec', movie.fragmented ? 'this fragmented file cannot stream here' : 'this file has no audio or video track'));
      return false;
    }
    const refused = codecRefusal(movie.tracks, sourceBufferTakes);
    if (refused) {
      this.fail(refused);
      return false;
    }
    this.tracks = movie.tracks;
    let duration = movie.start + movie.duration;
    // Known from the sample tables before any media is read: what exists plays, then the stream ends.
    const notice = this.incompleteFile();
    if (this.failure) return false;
    if (notice) duration = Math.min(duration, notice.playable);
    void this.buffers.open(movie.tracks, duration);
    // After a skipped lead-in, or sound that starts after the picture: playback starts where both are.
    if (movie.start > 0.05 && this.video.currentTime < movie.start) this.video.currentTime = movie.start;
    return true;
  }

  /**
   * The whole movie, after playback started from its head: each track's tables become the whole's (the same
   * first samples, so nothing moves), and a seek beyond the head goes on.
   */
  private completeTables(whole: Movie): void {
    if (this.failure || this.destroyed) return;
    for (const track of [...this.tracks, ...this.texts]) {
      // An audio track chosen from the menu is not among the whole's played tracks.
      const table = [...whole.tracks, ...whole.texts].find((t) => t.id === track.id)?.table ?? whole.audioChoices.find((c) => c.id === track.id)?.make()?.table;
      if (!table) return this.fail(new FerryError('no_index', 'the relay sent a damaged index of this file'));
      track.table = table;
    }
    const notice = this.incompleteFile();
    if (this.failure) return;
    if (notice) this.buffers.shorten(notice.playable);
    this.buffers.endTracks(this.fragmenter.finishedTracks());
    if (this.held) this.seekTo(this.video.currentTime);
    else this.loader.wake();
  }

  /**
   * For a file shorter than its tables say: the notice, given to the page; a failure when the file holds
   * none of the media its tables describe (a stripped file, an audiobook's index alone).
   */
  private incompleteFile(): { playable: number } | null {
    const { total } = this.source;
    if (!this.tracks.every((t) => t.table.complete)) {
      // A head past the file's end (cut within its first seconds): reading stops there and waits for the whole.
      for (const t of this.tracks) if (total !== null) t.table.keepWithin(total);
      if (total !== null && this.tracks.every((t) => t.table.count === 0)) this.fail(noMediaHeld(total));
      return null;
    }
    const notice = incompleteNotice(this.tracks, total);
    if (notice && notice.playable <= 0 && total !== null) {
      this.fail(noMediaHeld(total));
      return null;
    }
    if (notice) this.onNotice(notice.text);
    return notice;
  }

  private onSeeking(): void {
    if (!this.tracks.length || this.failure) return;
    const t = this.video.currentTime;
    if (this.buffers.around(t).contains) return; // within the buffer: nothing to fetch
    this.seekTo(t);
  }

  /** Fetches from the keyframe before `time`, dropping what was queued for elsewhere. */
  private seekTo(time: number): void {
    this.buffers.reset(time);
    // Beyond a moov's head: reading waits for the whole (completeTables).
    this.held = this.tracks.some((t) => !t.table.complete && time >= t.table.time(t.table.count - 1));
    if (this.held) {
      this.loader.hold();
      this.loadWhole();
    } else {
      this.loader.seek(time);
    }
  }

  private tick(): void {
    if (this.failure || this.destroyed) return;
    const t = this.video.currentTime;
    this.buffers.evict(t);
    if (this.tracks.length) this.stalls.check(t);
    this.loader.wake();
  }

  private fail(err: FerryError): void {
    if (this.failure || this.destroyed) return;
    this.failure = err;
    this.loader.stop();
    this.onError(err);
  }
}
