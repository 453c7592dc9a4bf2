/** Matroska and WebM films made with ffmpeg at test time, as rips and web downloads are, kept in .media/test. */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = join(process.cwd(), '.media', 'test');

function make(name: string, args: (out: string) => string[]): string {
  mkdirSync(DIR, { recursive: true });
  const out = join(DIR, name);
  if (!existsSync(out)) {
    const tmp = `${out}.tmp.${name.split('.').pop()}`;
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args(tmp)], { stdio: 'inherit' });
    execFileSync('mv', [tmp, out]);
  }
  return out;
}

/**
 * The cues of both subtitle streams: [start, end, English (SubRip), French (ASS, yellow at the top, with bold
 * and a break)].
 */
export const FILM_CUES: [number, number, string, string][] = [
  [2, 5, 'First line of Ferry', 'Première ligne\nde Ferry'],
  [12, 16, 'After the head', 'Après la tête'],
];

function subtitleFiles(): { srt: string; ass: string; vtt: string } {
  mkdirSync(DIR, { recursive: true });
  const time = (s: number, comma: boolean): string => `00:00:${String(s).padStart(2, '0')}${comma ? ',' : '.'}000`;
  const srt = FILM_CUES.map(([a, b, en], i) => `${i + 1}\n${time(a, true)} --> ${time(b, true)}\n${en}\n`).join('\n');
  const vttCues = FILM_CUES.map(([a, b, en]) => `${time(a, false)} --> ${time(b, false)}\n${en}\n`);
  const vtt = `WEBVTT\n\n${vttCues.join('\n')}`;
  const ass = [
    '[Script Info]',
    'ScriptType: v4.00+',
    'PlayResX: 384',
    'PlayResY: 288',
    '',
    '[V4+ Styles]',
    'Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, ' +
      'Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, ' +
      'MarginR, MarginV, Encoding',
    // Yellow, large, at the top (alignment 8): libass draws it there; a plain text track shows white at the bottom.
    'Style: Default,Arial,36,&H0000FFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,0,8,10,10,10,1',
    '',
    '[Events]',
    'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
    ...FILM_CUES.map(
      ([a, b, , fr]) =>
        `Dialogue: 0,0:${time(a, false).slice(3, 11)},0:${time(b, false).slice(3, 11)},Default,,0,0,0,,` +
          `{\\b1}${fr.replace('\n', '\\N')}{\\b0}`,
    ),
  ].join('\n');
  const files = { srt: join(DIR, 'film.srt'), ass: join(DIR, 'film.ass'), vtt: join(DIR, 'film.vtt') };
  writeFileSync(files.srt, srt);
  writeFileSync(files.ass, `${ass}\n`);
  // The same script in a font the film attaches (fontFilm).
  const inAttachedFont = ass.replace('Style: Default,Arial,', `Style: Default,${ATTACHED_FONT},`);
  writeFileSync(join(DIR, 'fonts.ass'), `${inAttachedFont}\n`);
  writeFileSync(files.vtt, vtt);
  return files;
}

/** A font Debian ships (fonts-dejavu-core) that libass does not have by default: the font film attaches it. */
export const ATTACHED_FONT = 'DejaVu Serif';
const ATTACHED_FONT_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf';

const SECONDS = 30;
/** ffmpeg's arguments, split at spaces (none of them holds one). */
const words = (line: string): string[] => line.split(' ');
const picture = ['-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=25:duration=${SECONDS}`];
const sine = (hz: number): string[] => words(`-f lavfi -i sine=frequency=${hz}:sample_rate=48000:duration=${SECONDS}`);
const tones = [...sine(440), ...sine(330)];
const languages = ['-disposition:a:0', 'default', '-disposition:a:1', '0', '-metadata:s:a:0', 'language=eng',
  '-metadata:s:a:1', 'language=fre', '-metadata:s:a:1', 'title=Commentaire'];

export interface MatroskaMedia {
  /**
   * H.264 with B-frames; AAC English at 440 Hz (default) and French "Commentaire" at 330 Hz; SubRip English and
   * ASS French.
   */
  film: Buffer;
  /** VP9; Opus English at 440 Hz (default) and French at 330 Hz; WebVTT English. */
  webm: Buffer;
  seconds: number;
}

export function matroskaMedia(): MatroskaMedia {
  const subs = subtitleFiles();
  const film = make('film.mkv', (out) => [
    ...picture, ...tones, '-i', subs.srt, '-i', subs.ass, ...words('-map 0 -map 1 -map 2 -map 3 -map 4'),
    ...words('-c:v libx264 -preset veryfast -bf 3 -g 50 -b:v 1M -c:a aac -c:s:0 srt -c:s:1 ass'), ...languages,
    ...words('-metadata:s:s:0 language=eng -metadata:s:s:1 language=fre -f matroska'), out,
  ]);
  const webm = make('film.webm', (out) => [
    ...picture, ...tones, '-i', subs.vtt, ...words('-map 0 -map 1 -map 2 -map 3'),
    ...words('-c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 500k -g 50 -c:a libopus -c:s webvtt'), ...languages,
    ...words('-metadata:s:s:0 language=eng -f webm'), out,
  ]);
  return { film: readFileSync(film), webm: readFileSync(webm), seconds: SECONDS };
}

/** The film's French ASS script as a file of its own (yellow at the top), as subtitles from a link come. */
export function assScript(): Buffer {
  return readFileSync(subtitleFiles().ass);
}

/** The film's picture and French ASS track in DejaVu Serif, with that font attached as mkvmerge attaches fonts. */
export function fontFilm(): Buffer {
  subtitleFiles();
  const film = make('fonts.mkv', (out) => [
    ...picture, '-i', join(DIR, 'fonts.ass'), ...words('-map 0 -map 1 -c:v libx264 -preset veryfast -c:s ass'),
    '-attach', ATTACHED_FONT_FILE, ...words('-metadata:s:t mimetype=application/x-truetype-font'),
    ...words('-metadata:s:s:0 language=fre -f matroska'), out,
  ]);
  return readFileSync(film);
}

/**
 * About 2 GB of Matroska: a 20 s film at 12 Mbit/s looped (stream copy) into one file with Cues for the whole;
 * read with readSync, as past 2 GiB readFileSync refuses.
 */
export function bigMatroska(): { body: Buffer; seconds: number } {
  const base = make('big-base.mkv', (out) => [
    ...words('-f lavfi -i testsrc2=size=1280x720:rate=25:duration=20'),
    ...words('-f lavfi -i sine=frequency=440:sample_rate=48000:duration=20'),
    ...words('-c:v libx264 -preset ultrafast -g 50 -b:v 12M -minrate 12M -maxrate 12M -bufsize 2M -c:a aac'),
    '-f', 'matroska', out,
  ]);
  const loops = Math.ceil(2e9 / readFileSync(base).byteLength);
  const big = make('big.mkv', (out) => [
    '-stream_loop', String(loops - 1), '-i', base, ...words('-c copy -f matroska'), out,
  ]);
  const fd = openSync(big, 'r');
  const body = Buffer.allocUnsafe(fstatSync(fd).size);
  for (let at = 0; at < body.byteLength;) at += readSync(fd, body, at, Math.min(1 << 30, body.byteLength - at), at);
  closeSync(fd);
  return { body, seconds: loops * 20 };
}

/** One short film per pairing of codecs the Matroska engine plays, each with a 440 Hz tone. */
export interface CodecFilm {
  name: string;
  /** The codec strings the engine reports while playing it. */
  codecs: [string, string];
  /** For each track, the types its SourceBuffer would be asked for: MSE plays it if it takes one of them. */
  mimes: [string[], string[]];
  body: Buffer;
}

const webm = (video: string, audio: string): Pick<CodecFilm, 'codecs' | 'mimes'> => ({
  codecs: [video, audio],
  mimes: [[`video/webm; codecs="${video}"`], [`audio/webm; codecs="${audio}"`]],
});
const mp4 = (video: string, audio: string): Pick<CodecFilm, 'codecs' | 'mimes'> => ({
  codecs: [video, audio],
  mimes: [[`video/mp4; codecs="${video}"`], [`audio/mp4; codecs="${audio}"`]],
});

const CODEC_FILMS: (Pick<CodecFilm, 'name' | 'codecs' | 'mimes'> & { args: string })[] = [
  {
    name: 'vp8-vorbis.webm',
    ...webm('vp8', 'vorbis'),
    args: '-c:v libvpx -deadline realtime -b:v 300k -c:a libvorbis',
  },
  {
    name: 'av1-opus.webm',
    ...webm('av01.0.00M.08', 'opus'),
    args: '-c:v libaom-av1 -usage realtime -cpu-used 8 -g 25 -b:v 300k -c:a libopus',
  },
  // Chromium's MSE takes its MP3 as audio/mpeg, Firefox's as MP4 ("mp3"): either plays it (track-codecs.ts).
  {
    name: 'h264-mp3.mkv',
    codecs: ['avc1.64000C', 'mp3'],
    mimes: [['video/mp4; codecs="avc1.64000C"'], ['audio/mp4; codecs="mp3"', 'audio/mpeg']],
    args: '-c:v libx264 -preset veryfast -c:a libmp3lame',
  },
  { name: 'h264-flac.mkv', ...mp4('avc1.64000C', 'flac'), args: '-c:v libx264 -preset veryfast -c:a flac' },
  {
    name: 'hevc-aac.mkv',
    ...mp4('hvc1.1.6.L60.90', 'mp4a.40.2'),
    args: '-c:v libx265 -preset ultrafast -x265-params log-level=0 -c:a aac',
  },
];

export function codecFilms(): CodecFilm[] {
  const input = words('-f lavfi -i testsrc2=size=320x180:rate=25:duration=8');
  return CODEC_FILMS.map(({ args, ...film }) => {
    const file = make(film.name, (out) => [...input, ...sine(440), ...words(`-shortest ${args}`), out]);
    return { ...film, body: readFileSync(file) };
  });
}
