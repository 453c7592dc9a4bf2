/**
 * Plays a file with the browser's own demuxers, through the relay: the page asks over its socket for a play
 * ticket, and the media element reads `/media/TICKET/NAME` from the relay with ranges, seeking natively.
 * WebM, Matroska, MP3, WAV, Ogg, FLAC, AAC, fragmented MP4 and small MP4s play this way; nothing of the file
 * passes through a script. Progress comes from the relay (bytes sent for the ticket), errors from both.
 */
import type { Connection } from '../client/connection.js';
import type { Download } from '../client/download.js';
import { FerryError } from '../protocol/codes.js';
import { RateMeter } from '../ui/rate.js';
import { aroundPlayhead, rangesOf, type Engine, type EngineStats } from './engine.js';
import { mediaErrorOf, relayRefusal } from './media-errors.js';

/** Network errors (a dropped connection, an expired ticket) recovered from by a new ticket, at the same time. */
const MAX_RECOVERIES = 3;

export interface NativeSource {
  connection: Connection;
  url: string;
  /** The media type found by sniffing, served by the relay in place of the origin's. */
  type: string | null;
  total: number | null;
  /** The relay's HTTP origin, where ticket paths are fetched. */
  base: string;
  /** Whether the file has a picture the browser must show (null when not known). */
  hasVideo: boolean | null;
}

export class NativeEngine implements Engine {
  private ticket: Download | null = null;
  /** Bytes the relay sent for this playback's tickets, and for those before the current one. */
  private sent = 0;
  private sentBefore = 0;
  private readonly meter = new RateMeter();
  private failure: FerryError | null = null;
  private recoveries = 0;
  /** Where to resume after a recovery: the time, and whether it was playing. */
  private resumeAt: { time: number; playing: boolean } | null = null;
  private destroyed = false;
  private readonly listeners: [string, () => void][];

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly source: NativeSource,
    private readonly onError: (err: FerryError) => void,
  ) {
    this.listeners = [
      ['error', () => void this.onMediaError()],
      ['loadedmetadata', () => this.onMetadata()],
    ];
    for (const [name, fn] of this.listeners) video.addEventListener(name, fn);
    this.request();
  }

  stats(): Partial<EngineStats> {
    const b = this.video.buffered;
    const t = this.video.currentTime;
    const state = this.failure ? 'error' : this.video.ended ? 'ended' : this.video.readyState > 0 ? 'playing' : 'loading';
    const { ahead, behind } = aroundPlayhead(b, t, 0.1);
    return { engine: 'native', state, bytesReceived: this.sent, totalBytes: this.source.total, bufferedAhead: ahead, bufferedBehind: behind, bytesHeld: 0, speed: this.meter.rate(), buffered: rangesOf(b) };
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const [name, fn] of this.listeners) this.video.removeEventListener(name, fn);
    // The relay drops the upstream at once and refuses the element's further requests.
    this.ticket?.cancel();
    this.video.removeAttribute('src');
    this.video.load();
  }

  /** Asks for a play ticket and points the media element at it. */
  private request(): void {
    const ticket = this.source.connection.download(this.source.url, { type: this.source.type });
    this.ticket = ticket;
    const mine = (): boolean => this.ticket === ticket && !this.destroyed;
    ticket.events = {
      ticket: (m) => {
        if (!mine()) return;
        // A new source pauses the element: a play() asked for before the ticket came still counts.
        const playing = !this.video.paused;
        this.video.src = new URL(m.path, this.source.base).href;
        if (playing) void this.video.play().catch(() => {});
      },
      progress: (_bytes, _total, _done, _stopped, sent) => {
        if (!mine()) return;
        this.sent = this.sentBefore + sent;
        this.meter.add(this.sent);
      },
      error: (err) => void (mine() && err.code !== 'cancelled' && this.fail(err)),
    };
  }

  private onMetadata(): void {
    if (this.resumeAt) {
      this.video.currentTime = this.resumeAt.time;
      if (this.resumeAt.playing) void this.video.play().catch(() => {});
      this.resumeAt = null;
    }
    // Chromium plays a file whose video it cannot decode as sound alone: say so instead.
    if (this.source.hasVideo && this.video.videoWidth === 0) {
      this.fail(new FerryError('unsupported_codec', 'this browser cannot decode the video of this file (it would play the sound alone)'));
    }
  }

  private async onMediaError(): Promise<void> {
    const error = this.video.error;
    if (!error || this.failure || this.destroyed) return;
    const src = this.video.currentSrc;
    // The relay's own answer names the cause best: the file changed, the origin failed, the ticket expired.
    const refused = await relayRefusal(src);
    if (this.destroyed || this.failure) return;
    if (error.code === MediaError.MEDIA_ERR_NETWORK && this.recoveries < MAX_RECOVERIES && (!refused || refused.code === 'ticket_invalid')) {
      return this.recover();
    }
    this.fail(refused ?? mediaErrorOf(error, this.source.type));
  }

  /** A new ticket, and playback on from where it was. */
  private recover(): void {
    this.recoveries++;
    this.resumeAt = { time: this.video.currentTime, playing: !this.video.paused };
    this.sentBefore = this.sent;
    this.ticket?.cancel();
    this.request();
  }

  private fail(err: FerryError): void {
    if (this.failure || this.destroyed) return;
    this.failure = err;
    this.onError(err);
  }
}
