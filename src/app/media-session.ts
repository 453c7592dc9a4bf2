/**
 * The operating system's media controls (keys on the keyboard, the lock screen, the headset): the file's
 * name as the title, where playback is, and play, pause and seeks handled here.
 */
import { seekBy } from './keys.js';

export function setUpMediaSession(video: HTMLVideoElement): { title(url: string): void } {
  const session = 'mediaSession' in navigator ? navigator.mediaSession : null;
  if (!session) return { title: () => {} };
  const handlers: [MediaSessionAction, MediaSessionActionHandler][] = [
    ['play', () => void video.play().catch(() => {})],
    ['pause', () => video.pause()],
    ['seekbackward', (d) => seekBy(video, -(d.seekOffset ?? 10))],
    ['seekforward', (d) => seekBy(video, d.seekOffset ?? 10)],
    ['seekto', (d) => void (d.seekTime !== undefined && (video.currentTime = d.seekTime))],
  ];
  for (const [action, handler] of handlers) {
    try {
      session.setActionHandler(action, handler);
    } catch {
      // A browser that does not know this action.
    }
  }
  const position = (): void => {
    if (!(video.duration > 0) || !Number.isFinite(video.duration)) return;
    try {
      const position = Math.min(video.currentTime, video.duration);
      session.setPositionState({ duration: video.duration, position, playbackRate: video.playbackRate });
    } catch {
      // A position the browser refuses (e.g. during a duration change) is given again at the next event.
    }
  };
  for (const ev of ['durationchange', 'ratechange', 'seeked', 'play', 'pause']) video.addEventListener(ev, position);
  video.addEventListener('play', () => (session.playbackState = 'playing'));
  video.addEventListener('pause', () => (session.playbackState = 'paused'));
  return { title: (url) => (session.metadata = new MediaMetadata({ title: fileTitle(url) })) };
}

/** A link's file name, decoded, as people read it: "Big Buck Bunny.mp4" from ".../Big%20Buck%20Bunny.mp4?x=1". */
export function fileTitle(url: string): string {
  try {
    const name = new URL(url).pathname.split('/').filter(Boolean).pop();
    return name ? decodeURIComponent(name) : new URL(url).host;
  } catch {
    return url;
  }
}
