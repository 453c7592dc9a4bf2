/**
 * A MediaSource attached to the video element. Opening one takes the browser a task or more (20–45 ms
 * measured here), so the player attaches it as soon as a playback starts, while the relay finds the index;
 * the MSE engine then finds it open, and a file that needs no MSE lets it go.
 */
import { markStart } from '../client/start-marks.js';

/** Safari on iPhone (17.1+) has only this one: it says itself when to fetch (startstreaming, endstreaming). */
const Managed = (globalThis as { ManagedMediaSource?: typeof MediaSource }).ManagedMediaSource;

/** Whether media can stream through MSE here, managed or not. */
export function hasMediaSource(): boolean {
  return 'MediaSource' in globalThis || Managed !== undefined;
}

/** Whether a SourceBuffer takes this type, on whichever MediaSource this browser has. */
export function sourceBufferTakes(mime: string): boolean {
  return (Managed ?? MediaSource).isTypeSupported(mime);
}

export class AttachedMediaSource {
  readonly mediaSource: MediaSource;
  /** Resolves once the source is open (at once if it already is). */
  readonly opened: Promise<void>;
  /** False while a ManagedMediaSource asks for no more fetching (endstreaming), to spare the battery. */
  streaming = true;
  /** Called when a ManagedMediaSource asks for fetching again. */
  onStreaming: (() => void) | null = null;
  private readonly objectUrl: string | null = null;
  private closed = false;

  constructor(private readonly video: HTMLVideoElement) {
    this.mediaSource = Managed ? new Managed() : new MediaSource();
    const source = this.mediaSource;
    this.opened = new Promise((resolve) => {
      source.addEventListener('sourceopen', () => (markStart('source-open'), resolve()), { once: true });
    });
    if (Managed) {
      // A managed source attaches only as srcObject, and only with remote playback off (or an AirPlay source).
      video.disableRemotePlayback = true;
      video.srcObject = source as unknown as MediaProvider;
      source.addEventListener('startstreaming', () => {
        this.streaming = true;
        this.onStreaming?.();
      });
      source.addEventListener('endstreaming', () => (this.streaming = false));
    } else {
      this.objectUrl = URL.createObjectURL(source);
      video.src = this.objectUrl;
    }
  }

  /** Open now, or once it opens; never if closed first. */
  async open(): Promise<boolean> {
    if (this.mediaSource.readyState !== 'open') await this.opened;
    return !this.closed;
  }

  /** Detaches it from the element, which is left empty. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    else this.video.srcObject = null;
    this.video.removeAttribute('src');
    this.video.load();
  }
}
