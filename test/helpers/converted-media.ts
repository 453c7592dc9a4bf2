/**
 * Films whose sound Chromium and Firefox cannot decode, made with ffmpeg at test time and kept in
 * .media/test: AC-3 5.1 in MP4 and Matroska, E-AC-3 in MP4, DTS and TrueHD in Matroska, each with a 440 Hz
 * tone; films with a converted track and an AAC one (660 Hz) to switch between; and a film whose picture
 * flashes and whose sound beeps at the same instants, every second, to measure the converted sound's timing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = join(process.cwd(), '.media', 'test');
export const CONVERTED_SECONDS = 16;
const SYNC_SECONDS = 60;

function make(name: string, args: string): Buffer {
  mkdirSync(DIR, { recursive: true });
  const out = join(DIR, name);
  if (!existsSync(out)) {
    const tmp = `${out}.tmp.${name.split('.').pop()}`;
    const all = ['-hide_banner', '-loglevel', 'error', '-y', ...args.split(' ').filter(Boolean), tmp];
    execFileSync('ffmpeg', all, { stdio: 'inherit' });
    execFileSync('mv', [tmp, out]);
  }
  return readFileSync(out);
}

const picture = `-f lavfi -i testsrc2=size=320x180:rate=25:duration=${CONVERTED_SECONDS}`;
const tone = (hz: number): string => `-f lavfi -i sine=frequency=${hz}:sample_rate=48000:duration=${CONVERTED_SECONDS}`;
const h264 = '-c:v libx264 -preset veryfast -g 50';
/** A mono tone made 5.1 (ffmpeg puts it in the front pair and the centre): the downmix must keep it. */
const surround = '-ac 6 -channel_layout 5.1(side)';

export interface ConvertedFilm {
  name: string;
  /** The codec string of its sound, as the engine reports it. */
  codec: string;
  body: Buffer;
}

const FILMS: [string, string, string][] = [
  ['ac3.mp4', 'ac-3', `-c:a ac3 ${surround} -b:a 448k`],
  ['ac3.mkv', 'ac-3', `-c:a ac3 ${surround} -b:a 448k`],
  ['eac3.mp4', 'ec-3', `-c:a eac3 ${surround} -b:a 384k`],
  ['dts.mkv', 'dtsc', `-c:a dca -strict -2 ${surround}`],
  ['truehd.mkv', 'mlpa', '-c:a truehd -strict -2 -ac 6 -channel_layout 5.1'],
  ['truehd.mp4', 'mlpa', '-c:a truehd -strict -2 -ac 6 -channel_layout 5.1'],
];

export function convertedFilms(): ConvertedFilm[] {
  return FILMS.map(([name, codec, audio]) => ({
    name,
    codec,
    body: make(name, `${picture} ${tone(440)} -map 0:v -map 1:a ${h264} ${audio}`),
  }));
}

/** The TrueHD beep film ten times over (10 minutes): longer than what the page reads ahead. */
export function longSyncFilm(): Buffer {
  syncFilm('truehd');
  return make('sync-truehd-long.mkv', `-stream_loop 9 -i ${join(DIR, 'sync-truehd.mkv')} -map 0 -c copy`);
}

/** The TrueHD film's sound alone (its 440 Hz tone, 5.1), as the page sends it to a relay that decodes it. */
export function trueHdSound(): Buffer {
  return make('truehd-sound.mkv', `${tone(440)} -c:a truehd -strict -2 -ac 6 -channel_layout 5.1`);
}

/** A film with an AC-3 5.1 track (440 Hz, the default) and an AAC one (660 Hz), in MP4 or Matroska. */
export function twoTrackFilm(ext: 'mp4' | 'mkv'): Buffer {
  const tracks = `-map 0:v -map 1:a -map 2:a ${h264} -c:a:0 ac3 -ac:a:0 6 -c:a:1 aac`;
  const flags = '-disposition:a:0 default -disposition:a:1 0 -metadata:s:a:1 language=fre';
  return make(`ac3-aac.${ext}`, `${picture} ${tone(440)} ${tone(660)} ${tracks} ${flags}`);
}

/**
 * Beeps of 1 kHz for 0.1 s at each whole second, with a white picture over the same tenth, the beeps in an
 * AC-3 5.1 track (the default) and an AAC one, in MP4; or in a TrueHD 5.1 track and an AAC one, in Matroska:
 * the converted track's timing is measured against the file's.
 */
export function syncFilm(sound: 'ac3' | 'truehd' = 'ac3'): Buffer {
  // Longer than the buffers read ahead (20 s), so that a seek reads from elsewhere.
  const flash = `-f lavfi -i color=c=black:size=320x180:rate=25:duration=${SYNC_SECONDS}`;
  const white = "drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='lt(mod(t\\,1)\\,0.1)'";
  // Frames of 1 ms, so that the gate opens on the whole second, not on the frame after it.
  const beep = `-f lavfi -i sine=frequency=1000:sample_rate=48000:samples_per_frame=48:duration=${SYNC_SECONDS}`;
  const gate = "volume='if(lt(mod(t\\,1)\\,0.1)\\,1\\,0)':eval=frame,asplit[a][b]";
  const filters = `-filter_complex [0:v]${white}[v];[1:a]${gate} -map [v] -map [a] -map [b]`;
  const first = sound === 'ac3' ? '-c:a:0 ac3' : '-c:a:0 truehd -strict -2';
  const audio = `${first} -ac:a:0 6 -c:a:1 aac -ac:a:1 2 -disposition:a:0 default -disposition:a:1 0`;
  return make(sound === 'ac3' ? 'sync-ac3.mp4' : 'sync-truehd.mkv', `${flash} ${beep} ${filters} ${h264} ${audio}`);
}
