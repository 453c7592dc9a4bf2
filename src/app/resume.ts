/**
 * Where each file was left, per URL and version (the origin's ETag or Last-Modified, and its size): saved
 * every few seconds while it plays, and offered when the same file is opened again ("Resume at 12:34"). A
 * changed file starts afresh. At most 200 files are remembered, the oldest forgotten first.
 */
import { clock } from '../player/notices.js';

const PREFIX = 'ferry-position:';
const SAVE_EVERY_MS = 5000;
const MAX_FILES = 200;
/** Closer than this to either end, there is nothing worth resuming. */
const MARGIN_S = 10;

interface Saved { t: number; version: string; at: number }

export class PositionMemory {
  private url: string | null = null;
  private savedAt = 0;

  constructor(
    private readonly video: HTMLVideoElement,
    /** The offer: a status region holding one button. */
    private readonly offer: HTMLElement,
    /** The version of the file playing, once the relay has said. */
    private readonly version: () => string | null,
  ) {
    const button = offer.querySelector('button')!;
    button.addEventListener('click', () => {
      video.currentTime = Number(button.dataset.t);
      this.hideOffer();
    });
    video.addEventListener('loadedmetadata', () => this.maybeOffer());
    video.addEventListener('timeupdate', () => {
      if (performance.now() - this.savedAt >= SAVE_EVERY_MS) this.save();
      // Once it has played on a while from elsewhere, the offer is stale.
      if (!offer.hidden && video.currentTime > 30) this.hideOffer();
    });
    video.addEventListener('pause', () => this.save());
    video.addEventListener('ended', () => this.url && localStorage.removeItem(PREFIX + this.url));
    addEventListener('pagehide', () => this.save());
  }

  /** A new playback: the offer of the last one goes. */
  start(url: string): void {
    this.save();
    this.url = url;
    this.hideOffer();
  }

  private maybeOffer(): void {
    const saved = this.url ? read(this.url) : null;
    const version = this.version();
    const { duration, currentTime } = this.video;
    if (!saved || saved.version !== version) return;
    if (saved.t < MARGIN_S || saved.t > duration - MARGIN_S || Math.abs(currentTime - saved.t) < MARGIN_S) return;
    const button = this.offer.querySelector('button')!;
    button.dataset.t = String(saved.t);
    button.textContent = `Resume at ${clock(saved.t)}`;
    this.offer.hidden = false;
  }

  private hideOffer(): void {
    this.offer.hidden = true;
  }

  private save(): void {
    const version = this.version();
    const t = this.video.currentTime;
    if (!this.url || version === null || !(this.video.duration > 0) || t < MARGIN_S) return;
    this.savedAt = performance.now();
    try {
      localStorage.setItem(PREFIX + this.url, JSON.stringify({ t, version, at: Date.now() } satisfies Saved));
      forgetOldest();
    } catch {
      // Storage full or refused: the position is not remembered, and nothing else changes.
    }
  }
}

function read(url: string): Saved | null {
  try {
    const saved = JSON.parse(localStorage.getItem(PREFIX + url) ?? 'null') as Saved | null;
    return saved && typeof saved.t === 'number' && typeof saved.version === 'string' ? saved : null;
  } catch {
    return null;
  }
}

function forgetOldest(): void {
  const keys = Object.keys(localStorage).filter((k) => k.startsWith(PREFIX));
  if (keys.length <= MAX_FILES) return;
  const savedAt = (k: string): number => (JSON.parse(localStorage.getItem(k) ?? '{}') as Partial<Saved>).at ?? 0;
  const byAge = keys.map((k) => ({ k, at: savedAt(k) })).sort((a, b) => a.at - b.at);
  for (const { k } of byAge.slice(0, keys.length - MAX_FILES)) localStorage.removeItem(k);
}
