/**
 * Subtitles from a link (.srt, .vtt or .ass), fetched through the relay as the video is, and shown as a text
 * track (an .ass script drawn by libass while it shows); and the captions menu, which lists every text track
 * of the video playing (its file's own, from player/subtitle-tracks.ts, and those from links) and remembers,
 * per video, which one was chosen (or none).
 */
import type { Connection } from '../client/connection.js';
import { FerryError } from '../protocol/codes.js';
import { AssOverlay } from '../player/ass-overlay.js';
import { isAssScript, toWebVtt } from '../player/formats/subtitles.js';
import { isRetired } from '../player/subtitle-tracks.js';
import { fileTitle } from './media-session.js';

/** Far above any film's subtitles: a link to something else is not read whole. */
const MAX_BYTES = 4 * 1024 * 1024;
const PREFIX = 'ferry-captions:';
const OFF = 'off';

export class Captions {
  private added: HTMLTrackElement[] = [];
  /** ASS scripts from links, drawn by libass while their track shows. */
  private overlays: AssOverlay[] = [];
  private videoUrl: string | null = null;
  /** Whether this video's remembered track has been shown. */
  private restored = false;
  /** The track shown before captions were turned off with the c key. */
  private last: string | null = null;

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly menu: HTMLSelectElement,
    private readonly connection: () => Connection,
  ) {
    menu.addEventListener('change', () => this.choose(menu.value, true));
    // A track added, or one of the file's own coming into use (a change of mode); the c key; the browser's menu.
    for (const event of ['addtrack', 'change']) {
      video.textTracks.addEventListener(event, () => {
        this.restore();
        this.render();
      });
    }
    this.render();
  }

  /** A new video: subtitles added for the last one go. */
  start(videoUrl: string): void {
    for (const track of this.added) {
      URL.revokeObjectURL(track.src);
      track.remove();
    }
    this.added = [];
    for (const overlay of this.overlays) overlay.close();
    this.overlays = [];
    this.videoUrl = videoUrl;
    this.restored = false;
    this.render();
  }

  /** The c key: captions off, or back on (the last shown, else the first); false when there are none. */
  toggle(): boolean {
    const tracks = this.textTracks();
    if (!tracks.length) return false;
    const showing = tracks.find((t) => t.mode === 'showing');
    if (showing) this.last = showing.label;
    this.choose(showing ? OFF : (tracks.find((t) => t.label === this.last) ?? tracks[0]!).label, true);
    return true;
  }

  /** Fetches subtitles through the relay and shows them, unless captions were turned off for this video. */
  async add(url: string): Promise<void> {
    const text = await this.read(url);
    const vtt = toWebVtt(text);
    const track = document.createElement('track');
    track.kind = 'subtitles';
    track.label = fileTitle(url);
    track.src = URL.createObjectURL(new Blob([vtt], { type: 'text/vtt' }));
    this.video.append(track);
    this.added.push(track);
    // The whole script is its own head: libass draws it as it is, its plain cues showing where it cannot.
    if (isAssScript(text)) this.overlays.push(new AssOverlay(this.video, track.track, text));
    const saved = this.saved();
    this.choose(saved === null || saved === track.label ? track.label : saved, false);
  }

  private async read(url: string): Promise<string> {
    const transfer = this.connection().open({ url, window: 1024 * 1024 });
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of transfer) {
      size += chunk.data.byteLength;
      if (size > MAX_BYTES) {
        transfer.cancel();
        throw new FerryError('not_media', 'the subtitles link gave more than 4 MB: not a subtitle file');
      }
      parts.push(chunk.data);
    }
    return new TextDecoder().decode(await new Blob(parts as BlobPart[]).arrayBuffer());
  }

  /** Shows the track with this label (or none, for `off`); `remember` it for this video. */
  private choose(label: string, remember: boolean): void {
    for (const t of this.textTracks()) t.mode = t.label === label ? 'showing' : 'disabled';
    if (remember && this.videoUrl) localStorage.setItem(PREFIX + this.videoUrl, label);
    this.render();
  }

  private saved(): string | null {
    return this.videoUrl ? localStorage.getItem(PREFIX + this.videoUrl) : null;
  }

  /** The text tracks of the video playing: its own subtitles and those added from links. */
  private textTracks(): TextTrack[] {
    return [...this.video.textTracks].filter((t) => (t.kind === 'subtitles' || t.kind === 'captions') && !isRetired(t));
  }

  /** A track chosen for this video before, when it comes (from the file itself, or a link). */
  private restore(): void {
    const saved = this.saved();
    if (this.restored || saved === null || saved === OFF || !this.textTracks().some((t) => t.label === saved)) return;
    this.restored = true;
    this.choose(saved, false);
  }

  private render(): void {
    const tracks = this.textTracks();
    const options = tracks.map((t, i) => new Option(t.label || t.language || `Track ${i + 1}`, t.label));
    this.menu.replaceChildren(new Option('Off', OFF), ...options);
    this.menu.value = tracks.find((t) => t.mode === 'showing')?.label ?? OFF;
    this.menu.disabled = tracks.length === 0;
  }
}
