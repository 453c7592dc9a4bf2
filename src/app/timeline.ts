/**
 * The page's own seek bar, under the video, with a picture of the moment under the pointer (player
 * previews: the keyframe at or before it, fetched by range through the relay and decoded with WebCodecs).
 * A picture is asked for once the pointer rests 80 ms, and the request is cancelled when it moves on.
 */
import { clock } from '../player/notices.js';

const WIDTH = 160;
const REST_MS = 80;

export function setUpTimeline(
  video: HTMLVideoElement,
  bar: HTMLInputElement,
  preview: HTMLElement,
  picture: (time: number, width: number, signal: AbortSignal) => Promise<ImageBitmap | null>,
): void {
  const canvas = preview.querySelector('canvas')!;
  const caption = preview.querySelector('figcaption')!;
  const steps = Number(bar.max);
  video.addEventListener('timeupdate', () => {
    if (video.duration > 0) bar.value = String(Math.round((video.currentTime / video.duration) * steps));
  });
  bar.addEventListener('input', () => {
    if (video.duration > 0) video.currentTime = (Number(bar.value) / steps) * video.duration;
  });
  let asked: AbortController | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const leave = (): void => {
    clearTimeout(timer);
    asked?.abort();
    preview.hidden = true;
  };
  bar.addEventListener('pointerleave', leave);
  bar.addEventListener('pointermove', (ev) => {
    if (!(video.duration > 0)) return;
    const box = bar.getBoundingClientRect();
    const at = Math.max(0, Math.min(1, (ev.clientX - box.left) / box.width));
    const time = at * video.duration;
    clearTimeout(timer);
    asked?.abort();
    timer = setTimeout(() => {
      const ask = (asked = new AbortController());
      void picture(time, WIDTH, ask.signal).then((bitmap) => {
        if (!bitmap || ask.signal.aborted) return;
        canvas.width = bitmap.width;
        canvas.height = bitmap.height;
        canvas.getContext('2d')!.drawImage(bitmap, 0, 0);
        caption.textContent = clock(time);
        preview.style.left = `${Math.round(at * box.width - bitmap.width / 2)}px`;
        preview.hidden = false;
      });
    }, REST_MS);
  });
}
