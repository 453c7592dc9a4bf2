/** Sentences for the page about a file that plays, but not as a whole, or holds nothing to play. */
import { FerryError } from '../protocol/codes.js';
import type { MovieTrack } from './movie.js';

/** "1:02:03" or "22:10". */
export function clock(seconds: number): string {
  const s = Math.floor(seconds);
  const hms = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60];
  const text = hms.map((n) => String(n).padStart(2, '0')).join(':');
  return hms[0] ? text.replace(/^0/, '') : text.slice(3);
}

/**
 * For a file shorter than its own index says: each track keeps only the samples it holds, and the notice
 * says where the file ends, in percent of the bytes and in playing time. Null for a whole file.
 */
export function incompleteNotice(tracks: MovieTrack[], total: number | null): { text: string; playable: number } | null {
  if (total === null) return null;
  const end = Math.max(...tracks.map((t) => t.table.dataEnd));
  if (end <= total) return null;
  for (const t of tracks) t.table.keepWithin(total);
  const playable = Math.min(...tracks.map((t) => t.table.timeWithin(total)));
  return { text: `this file is incomplete: it ends at ${Math.floor((100 * total) / end)} %, ${clock(playable)}`, playable };
}

/** A file whose index describes media it does not hold (a plain `<video>` runs a silent clock over it). */
export function noMediaHeld(total: number): FerryError {
  const why = `its ${total} bytes end before the first of it`;
  return new FerryError('truncated', `this file holds none of its media: ${why}`);
}
