/**
 * The audio menu: every audio track of the file playing, by language, codec and channels ("E-AC-3 5.1,
 * converted in the browser" for sound the page converts); one the browser cannot play is shown, not offered.
 */
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
        // Channels where they tell tracks apart: surround, and what the page converts (to stereo).
        const layout = t.channels && (t.converted || t.channels > 2) ? ` ${channelWords(t.channels)}` : '';
        const sound = `${codecName(t.codec)}${layout}`;
        const how = t.converted ? convertedWhere(t.codec) : t.playable ? '' : ' (not playable here)';
        const text = `${named} · ${sound}${how}`;
        const option = new Option(text, String(t.id), false, t.playing);
        option.disabled = !t.playable;
        return option;
      }),
    );
    this.menu.disabled = tracks.length < 2;
  }
}

/** Channels as people name them: mono, stereo, 5.1, 7.1. */
function channelWords(channels: number): string {
  if (channels === 1) return 'mono';
  if (channels === 2) return 'stereo';
  return channels >= 6 ? `${channels - 1}.1` : `${channels} channels`;
}

/** Where converted sound is decoded: in the browser, but TrueHD by the relay (`--decode-audio`). */
function convertedWhere(codec: string): string {
  return codec === 'mlpa' ? ', decoded by the relay' : ', converted in the browser';
}
