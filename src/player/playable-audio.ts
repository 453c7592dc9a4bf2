/**
 * A movie whose chosen audio track this browser cannot play (an MP4 whose default is AC-3 or E-AC-3, as web
 * downloads often are) plays another of its audio tracks that it can, and says so; a track that cannot be
 * played never makes the whole file refuse while another plays. Without such a track, a film's picture plays
 * without sound, as a plain <video> plays it, and the page says which sound cannot be heard and what will
 * play it; a file with nothing else (audio alone) is refused for that codec.
 */
import { codecName, partialNotice } from './codecs.js';
import type { Movie } from './movie.js';

/** A track's codec and its type, for whether it plays here (through MSE, or converted in the page). */
type Plays = (track: { codec: string; mime: string }) => boolean;

/** Swaps the movie's audio track for one that plays, when it does not; returns the notice, or null. */
export function playableAudio(movie: Movie, takes: Plays): string | null {
  const at = movie.tracks.findIndex((t) => t.kind === 'audio');
  const audio = movie.tracks[at];
  if (!audio || takes(audio)) return null;
  const choice = movie.audioChoices.find((c) => c.id !== audio.id && takes(c));
  const track = choice?.make();
  if (choice && track) {
    movie.tracks[at] = track;
    return swappedAudio(audio, choice);
  }
  if (!movie.tracks.some((t) => t.kind === 'video' && takes(t))) return null;
  movie.tracks.splice(at, 1);
  return partialNotice([audio]);
}

/** The notice for a file whose audio track `refused` this browser cannot play, `playing` playing instead. */
export function swappedAudio(refused: { codec: string }, playing: { language: string | null; codec: string }): string {
  const other = `${playing.language ? `${playing.language} ` : ''}${codecName(playing.codec)}`;
  const what = `${codecName(refused.codec)} audio (${refused.codec})`;
  return `this browser cannot play this file's ${what}: its ${other} track plays instead`;
}
