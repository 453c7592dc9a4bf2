/**
 * The page's own controls beside the video: a speed menu, picture-in-picture, and the list of keys (a dialog
 * that `?` also opens). The menu follows the speed however it changed (a key, the browser's own menu). The
 * captions menu is captions.ts's.
 */
import { KEY_HELP, SPEEDS } from './keys.js';

/** Sets up the controls; returns what shows or hides the list of keys. */
export function setUpControls(video: HTMLVideoElement, root: HTMLElement, help: HTMLDialogElement): () => void {
  const speed = root.querySelector<HTMLSelectElement>('#speed')!;
  for (const s of SPEEDS) speed.append(new Option(`${s}×`, String(s), s === 1, s === 1));
  speed.addEventListener('change', () => (video.playbackRate = Number(speed.value)));
  video.addEventListener('ratechange', () => {
    // A speed between two of the menu's shows as the nearest below it.
    speed.value = String([...SPEEDS].reverse().find((s) => s <= video.playbackRate + 1e-9) ?? SPEEDS[0]);
  });

  const pip = root.querySelector<HTMLButtonElement>('#pip')!;
  pip.hidden = !document.pictureInPictureEnabled;
  pip.addEventListener('click', () => {
    const leaving = document.pictureInPictureElement === video;
    void (leaving ? document.exitPictureInPicture() : video.requestPictureInPicture()).catch(() => {});
  });
  const pressed = (): void => pip.setAttribute('aria-pressed', String(document.pictureInPictureElement === video));
  video.addEventListener('enterpictureinpicture', pressed);
  video.addEventListener('leavepictureinpicture', pressed);

  const list = help.querySelector('dl')!;
  for (const [keys, what] of KEY_HELP) {
    const [dt, dd] = [document.createElement('dt'), document.createElement('dd')];
    dt.textContent = keys;
    dd.textContent = what;
    list.append(dt, dd);
  }
  const toggleHelp = (): void => (help.open ? help.close() : help.showModal());
  root.querySelector<HTMLButtonElement>('#keys-button')!.addEventListener('click', toggleHelp);

  return toggleHelp;
}
