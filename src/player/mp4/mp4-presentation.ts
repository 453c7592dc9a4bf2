/**
 * An MP4 as the MSE engine plays it: its movie (the moov's tracks, perhaps from its head only until the whole
 * is read), the fragmenter that cuts its media into fragments, the notices for a file shorter than its
 * tables, and pictures for the timeline from its keyframes.
 */
import type { BufferPool } from '../buffer-pool.js';
import { FerryError } from '../../protocol/codes.js';
import type { AudioChoiceInfo, Presentation } from '../container.js';
import { Fragmenter } from '../fragmenter.js';
import type { RangeOpener } from '../media-loader.js';
import type { Movie, MovieText, MovieTrack } from '../movie.js';
import { incompleteNotice, noMediaHeld } from '../notices.js';
import { Previews } from '../previews.js';
import { CONVERTED_MIME } from '../convert/conversion.js';
import { convertTrack, type Converts } from '../convert/support.js';

/** When the movie is a moov's head: the whole, read and parsed when `load`ed, or `drop`ped. */
export interface WholeMovie {
  load: () => Promise<Movie>;
  drop: () => void;
}

export class Mp4Presentation implements Presentation {
  readonly demuxer: Fragmenter;
  tracks: MovieTrack[];
  readonly texts: MovieText[];
  private previews: Previews | null = null;

  constructor(
    /** The movie as known: from the moov's head until the whole is read, then the whole. */
    private movie: Movie,
    private whole: WholeMovie | null,
    private readonly total: number | null,
    private readonly openAt: RangeOpener,
    pool: BufferPool,
    /** Which audio tracks are converted in the page (their codec is one MSE here does not play). */
    private readonly converts: Converts = () => false,
  ) {
    this.tracks = movie.tracks.map((t) => this.converted(t));
    this.texts = movie.texts;
    this.demuxer = new Fragmenter(movie.tracks, pool, undefined, movie.texts);
  }

  get duration(): number {
    return this.movie.start + this.movie.duration;
  }

  get start(): number {
    return this.movie.start;
  }

  audioChoices(): AudioChoiceInfo[] {
    return this.movie.audioChoices.map(({ id, language, codec, mime, sound }) => {
      const channels = sound?.channels;
      if (!this.converts({ codec, mime })) return { id, language, codec, mime, channels };
      return { id, language, codec, mime: CONVERTED_MIME, channels, converted: true };
    });
  }

  /** The track, converted in the page if its codec is one to convert. */
  private converted(track: MovieTrack): MovieTrack {
    if (track.kind !== 'audio' || !track.sound || !this.converts(track)) return track;
    return convertTrack(track, track.sound, track.table.timescale);
  }

  swapAudio(id: number): { old: MovieTrack; track: MovieTrack } | null {
    const old = this.tracks.find((t) => t.kind === 'audio');
    const made = old && old.id !== id ? this.movie.audioChoices.find((c) => c.id === id)?.make() : null;
    if (!old || !made) return null;
    const track = this.converted(made);
    this.tracks = this.tracks.map((t) => (t === old ? track : t));
    this.demuxer.replaceTrack(old, track);
    return { old, track };
  }

  /**
   * For a file shorter than its tables say: the notice, and the seconds that play; a failure when the file
   * holds none of the media its tables describe (a stripped file, an audiobook's index alone).
   */
  check(notice: (text: string) => void): FerryError | number {
    const { total } = this;
    if (!this.tracks.every((t) => t.table.complete)) {
      // A head past the file's end (cut within its first seconds): reading stops there and waits for the whole.
      for (const t of this.tracks) if (total !== null) t.table.keepWithin(total);
      if (total !== null && this.tracks.every((t) => t.table.count === 0)) return noMediaHeld(total);
      return Infinity;
    }
    const incomplete = incompleteNotice(this.tracks, total);
    if (!incomplete) return Infinity;
    if (incomplete.playable <= 0 && total !== null) return noMediaHeld(total);
    notice(incomplete.text);
    return incomplete.playable;
  }

  /** Beyond a moov's head: reading waits for the whole. */
  waitsFor(time: number): boolean {
    return this.tracks.some((t) => !t.table.complete && time >= t.table.time(t.table.count - 1));
  }

  /**
   * The whole movie, after playback started from its head: each track's tables become the whole's (the same
   * first samples, so nothing moves).
   */
  complete(notice: (text: string) => void): Promise<number> | null {
    const whole = this.whole;
    this.whole = null;
    if (!whole) return null;
    return whole.load().then((movie) => {
      for (const track of [...this.tracks, ...this.texts]) {
        // An audio track chosen from the menu is not among the whole's played tracks.
        const table =
          [...movie.tracks, ...movie.texts].find((t) => t.id === track.id)?.table ??
          movie.audioChoices.find((c) => c.id === track.id)?.make()?.table;
        if (!table) throw new FerryError('no_index', 'the relay sent a damaged index of this file');
        track.table = table;
      }
      // A track chosen from the menu from now on is made from the whole's tables: made from the head's, it
      // played to the head's end and waited there for ever.
      this.movie = movie;
      const playable = this.check(notice);
      if (playable instanceof FerryError) throw playable;
      return playable;
    });
  }

  preview(time: number, width: number, signal: AbortSignal): Promise<ImageBitmap | null> {
    const video = this.tracks.find((t) => t.kind === 'video');
    if (!video || !Previews.supported()) return Promise.resolve(null);
    this.previews ??= new Previews(video, this.openAt, video.description);
    return this.previews.at(time, width, signal);
  }

  close(): void {
    this.whole?.drop();
    this.whole = null;
  }
}
