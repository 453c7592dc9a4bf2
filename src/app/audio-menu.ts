/** The audio menu: every audio track of the file playing, by language and codec; one the browser cannot play is shown, not offered. */
import { codecName } from '../player/codecs.js';
import type { AudioTrackInfo } from '../player/engine.js';

export class AudioMenu {
  private shown = '';

  constructor(
    private readonly menu: HTMLSelectElement,
    choose: (id: number) => void,
  ) {
    menu.addEventListener('change', () => choose(Number(menu.value)));
  }

  /** Shows the tracks (called as the page refreshes; the menu is rebuilt only when they change). */
  update(tracks: AudioTrackInfo[]): void {
    const key = JSON.stringify(tracks);
    if (key === this.shown) return;
    this.shown = key;
    this.menu.replaceChildren(
      ...tracks.map((t, i) => {
        const named = [t.name, t.language].filter(Boolean).join(' · ') || `Track ${i + 1}`;
        const text = `${named} · ${codecName(t.codec)}${t.playable ? '' : ' (not playable here)'}`;
        const option = new Option(text, String(t.id), false, t.playing);
        option.disabled = !t.playable;
        return option;
      }),
    );
    this.menu.disabled = tracks.length < 2;
  }
}
