/**
 * An ASS/SSA subtitle track drawn by libass (npm `jassub`: libass in WebAssembly, in a worker, onto a canvas
 * over the video) while its text track is the one showing: the styles, positions, colours and effects the
 * file gives, where a text track shows plain lines at the bottom. Its plain cues stay in the text track; while
 * libass draws, the video's own rendering of them is made invisible (the `ass-drawn` class, app/style.css).
 * libass is loaded only when such a track is first shown (2.1 MB of wasm, kept out of the page's start), and
 * let go when another is chosen. Where it cannot load (no OffscreenCanvas or workers, the wasm refused), the
 * plain cues show, and the console says why.
 */
import type JASSUB from 'jassub';

/** An event as Matroska stores it (ReadOrder, Layer, Style, ..., Text), at its time in milliseconds. */
interface AssEvent {
  line: string;
  startMs: number;
  durationMs: number;
}

/** One time of drawing, from the track shown to another chosen; its renderer once made, `ready` once it draws. */
interface Drawing {
  renderer: JASSUB | null;
  ready: boolean;
}

export class AssOverlay {
  private readonly events: AssEvent[] = [];
  private drawing: Drawing | null = null;
  /** Set when libass cannot run in this page: the plain cues show from then on. */
  private failed = false;
  private readonly onChange = (): void => this.sync();

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly track: TextTrack,
    /** The script's head (Script Info, Styles, the Events' Format): a Matroska track's CodecPrivate. */
    private readonly header: string,
    /** The fonts the file attaches, read when drawing starts. */
    private readonly attached?: () => Promise<Uint8Array[]>,
  ) {
    video.textTracks.addEventListener('change', this.onChange);
    this.sync();
  }

  add(line: string, start: number, end: number): void {
    const event = { line, startMs: Math.round(start * 1000), durationMs: Math.round((end - start) * 1000) };
    this.events.push(event);
    if (this.drawing?.ready) this.drawing.renderer!.renderer.processChunk(line, event.startMs, event.durationMs);
  }

  close(): void {
    this.video.textTracks.removeEventListener('change', this.onChange);
    this.stop();
  }

  private sync(): void {
    const shown = this.track.mode === 'showing';
    if (shown && !this.drawing && !this.failed) void this.start();
    else if (!shown && this.drawing) this.stop();
  }

  private async start(): Promise<void> {
    const drawing: Drawing = (this.drawing = { renderer: null, ready: false });
    try {
      const [{ default: Jassub }, { default: font }, attached] = await Promise.all([
        import('jassub'),
        import('jassub/dist/default.woff2?url'),
        this.attachedFonts(),
      ]);
      if (this.drawing !== drawing) return;
      // Fonts come from the page and the file only, never from the system or the web. All are loaded before
      // the first frame is drawn: a font found later is used from the next frame, and a paused video has none.
      drawing.renderer = new Jassub({
        video: this.video,
        subContent: this.header,
        fonts: [font, ...attached],
        defaultFont: 'liberation sans',
        queryFonts: false,
      });
      await drawing.renderer.ready;
      if (this.drawing !== drawing) return;
      for (const e of this.events) drawing.renderer.renderer.processChunk(e.line, e.startMs, e.durationMs);
      drawing.ready = true;
      this.video.classList.add('ass-drawn');
      // A paused video presents no new frame to draw on: the frame showing is drawn now.
      const { currentTime, videoWidth, videoHeight } = this.video;
      const frame = { mediaTime: currentTime, width: videoWidth, height: videoHeight };
      await drawing.renderer.manualRender({ ...frame, expectedDisplayTime: performance.now() }, true);
    } catch (err) {
      this.failed = true;
      console.warn('Ferry: the ASS subtitles show as plain lines: libass could not load here', err);
      if (this.drawing === drawing) this.stop();
    }
  }

  /** The file's own fonts; none where they cannot be read (libass then draws with its default one). */
  private async attachedFonts(): Promise<Uint8Array[]> {
    try {
      return (await this.attached?.()) ?? [];
    } catch (err) {
      console.warn('Ferry: the ASS subtitles are drawn without the fonts the file attaches', err);
      return [];
    }
  }

  private stop(): void {
    const renderer = this.drawing?.renderer;
    this.drawing = null;
    this.video.classList.remove('ass-drawn');
    if (renderer) void renderer.destroy().catch(() => {});
  }
}
