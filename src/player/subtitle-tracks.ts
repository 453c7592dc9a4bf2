/**
 * The subtitle tracks of the movie playing, as the video element's text tracks, filled with cues as their
 * bytes pass by among the media's. A track made with addTextTrack stays on its element for ever, so each is
 * kept when its playback ends (emptied, disabled, "retired") and reused by a later one with the same label
 * and language; the page's captions menu leaves retired tracks out.
 */
import { AssOverlay } from './ass-overlay.js';
import type { TextCue } from './fragmenter.js';
import type { TextTrackInfo } from './container.js';

const made = new WeakMap<HTMLVideoElement, TextTrack[]>();
const retired = new WeakSet<TextTrack>();

/** Whether a text track belongs to no playback now (see above). */
export function isRetired(track: TextTrack): boolean {
  return retired.has(track);
}

export class SubtitleTracks {
  private readonly tracks = new Map<number, TextTrack>();
  /** Cues already added, by track and sample: the bytes pass by again after a seek back. */
  private readonly added = new Set<string>();
  /** ASS/SSA tracks, drawn by libass while shown. */
  private readonly overlays = new Map<number, AssOverlay>();

  constructor(video: HTMLVideoElement, texts: TextTrackInfo[]) {
    const pool = made.get(video) ?? [];
    made.set(video, pool);
    for (const text of texts) {
      const language = text.language ?? '';
      let track = pool.find((t) => retired.has(t) && t.label === text.label && t.language === language);
      if (!track) pool.push((track = video.addTextTrack('subtitles', text.label, language)));
      retired.delete(track);
      // Hidden: its cues are kept, and shown once chosen; the change tells the page it is there.
      track.mode = text.forced ? 'showing' : 'hidden';
      this.tracks.set(text.id, track);
      if (text.assHeader) this.overlays.set(text.id, new AssOverlay(video, track, text.assHeader, text.assFonts));
    }
  }

  add(cue: TextCue): void {
    const key = `${cue.trackId}:${cue.index}:${cue.part}`;
    const track = this.tracks.get(cue.trackId);
    if (!track || this.added.has(key)) return;
    this.added.add(key);
    const made = new VTTCue(cue.start, cue.end, cue.text);
    applyCueSettings(made, cue.settings);
    track.addCue(made);
    if (cue.assEvent) this.overlays.get(cue.trackId)?.add(cue.assEvent, cue.start, cue.end);
  }

  close(): void {
    for (const overlay of this.overlays.values()) overlay.close();
    this.overlays.clear();
    for (const track of this.tracks.values()) {
      for (const cue of [...(track.cues ?? [])]) track.removeCue(cue);
      track.mode = 'disabled';
      retired.add(track);
    }
    this.tracks.clear();
  }
}

/**
 * A WebVTT cue's settings line ("line:10% position:20%,line-left size:60% align:start vertical:rl") set on
 * its VTTCue, as a .vtt file's parser would; a setting the browser refuses or does not know is left out.
 */
function applyCueSettings(cue: VTTCue, settings: string): void {
  for (const setting of settings.split(/\s+/)) {
    const [name, value = ''] = setting.split(':', 2) as [string, string?];
    const [main = '', second] = value.split(',', 2);
    const percent = /^\d+(\.\d+)?%$/.test(main) ? parseFloat(main) : null;
    try {
      if (name === 'align') cue.align = main as AlignSetting;
      else if (name === 'vertical') cue.vertical = main as DirectionSetting;
      else if (name === 'size' && percent !== null) cue.size = percent;
      else if (name === 'position' && percent !== null) {
        cue.position = percent;
        if (second) cue.positionAlign = second as PositionAlignSetting;
      }
      else if (name === 'line') {
        const line = percent ?? (/^-?\d+$/.test(main) ? parseInt(main, 10) : null);
        if (line === null) continue;
        cue.snapToLines = percent === null;
        cue.line = line;
        if (second) cue.lineAlign = second as LineAlignSetting;
      }
    } catch {
      // An invalid value: the cue keeps the default for it.
    }
  }
}
