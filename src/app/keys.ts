/**
 * The keyboard, as video sites have taught people: space or k plays and pauses, j and l step 10 s, the arrows
 * 5 s and the volume, f fullscreen, m mute, c captions, 0–9 a tenth of the way each, < and > the speed, ? the
 * list. Never while someone types in a field, and never with Ctrl, Alt or Meta (the browser's own keys).
 */

/** Speeds the < and > keys and the page's speed menu step through. */
export const SPEEDS = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 3, 4];

export interface KeyActions {
  /** Shows or hides the list of keys. */
  toggleHelp(): void;
  /** Turns captions on (the last chosen track) or off; false when there are none. */
  toggleCaptions(): boolean;
}

/** The keys, as shown in the list (one row per line: keys, then what they do). */
export const KEY_HELP: [string, string][] = [
  ['Space, k', 'play or pause'],
  ['j, l', 'back or forward 10 s'],
  ['←, →', 'back or forward 5 s'],
  ['↑, ↓', 'volume up or down'],
  ['f', 'fullscreen'],
  ['m', 'mute'],
  ['c', 'captions on or off'],
  ['0–9', 'jump to 0 %–90 %'],
  ['<, >', 'slower or faster'],
  ['?', 'this list'],
];

export function listenForKeys(video: HTMLVideoElement, actions: KeyActions): void {
  document.addEventListener('keydown', (ev) => {
    if (ev.ctrlKey || ev.altKey || ev.metaKey || ownKey(ev.target, ev.key)) return;
    if (act(video, actions, ev.key)) ev.preventDefault();
  });
}

/**
 * Whether the key belongs to what has the focus: a field being typed in, a menu, or (Space and Enter) a
 * button or link, which they press.
 */
function ownKey(target: EventTarget | null, key: string): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName)) return true;
  return (key === ' ' || key === 'Enter') && ['BUTTON', 'A', 'SUMMARY'].includes(target.tagName);
}

/** Does what the key says; false for a key that says nothing here. */
function act(video: HTMLVideoElement, actions: KeyActions, key: string): boolean {
  const by = (s: number): void => seekBy(video, s);
  switch (key) {
    case ' ':
    case 'k':
      if (video.paused) void video.play().catch(() => {});
      else video.pause();
      return true;
    case 'j':
    case 'l':
      by(key === 'j' ? -10 : 10);
      return true;
    case 'ArrowLeft':
    case 'ArrowRight':
      by(key === 'ArrowLeft' ? -5 : 5);
      return true;
    case 'ArrowUp':
    case 'ArrowDown':
      video.volume = Math.round(Math.max(0, Math.min(1, video.volume + (key === 'ArrowUp' ? 0.1 : -0.1))) * 10) / 10;
      video.muted = false;
      return true;
    case 'f':
      if (document.fullscreenElement) void document.exitFullscreen().catch(() => {});
      else void video.requestFullscreen?.().catch(() => {});
      return true;
    case 'm':
      video.muted = !video.muted;
      return true;
    case 'c':
      return actions.toggleCaptions();
    case '<':
    case '>':
      video.playbackRate = nextSpeed(video.playbackRate, key === '>' ? 1 : -1);
      return true;
    case '?':
      actions.toggleHelp();
      return true;
    default:
      if (/^[0-9]$/.test(key) && video.duration > 0) {
        video.currentTime = (Number(key) / 10) * video.duration;
        return true;
      }
      return false;
  }
}

/** Moves playback `seconds` on (or back), within the film. */
export function seekBy(video: HTMLVideoElement, seconds: number): void {
  video.currentTime = Math.max(0, Math.min(video.duration || 0, video.currentTime + seconds));
}

/** The next speed up or down the list from `rate` (which may lie between two). */
export function nextSpeed(rate: number, step: 1 | -1): number {
  if (step > 0) return SPEEDS.find((s) => s > rate + 1e-9) ?? SPEEDS.at(-1)!;
  return [...SPEEDS].reverse().find((s) => s < rate - 1e-9) ?? SPEEDS[0]!;
}
