/** Test media made with ffmpeg at test time, kept in .media/test (git-ignored) between runs. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withWebVtt } from './wvtt-mp4.js';

const DIR = join(process.cwd(), '.media', 'test');

function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: 'inherit' });
}

function make(name: string, build: (out: string) => void): string {
  mkdirSync(DIR, { recursive: true });
  const out = join(DIR, name);
  if (!existsSync(out)) {
    build(`${out}.tmp.mp4`);
    execFileSync('mv', [`${out}.tmp.mp4`, out]);
  }
  return out;
}

const clip = (): string =>
  make('clip-20s.mp4', (out) =>
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '20',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-b:v', '2M', '-c:a', 'aac', '-b:a', '96k', '-shortest', out]),
  );

export interface TestMedia {
  moovLast: Buffer;
  moovFirst: Buffer;
  hevc: Buffer;
  audioOnly: Buffer;
  videoOnly: Buffer;
  /** B-frames (composition offsets) and an edit list, 10 s, moov last. */
  bframes: Buffer;
  /** moov first, cut at 61 % of its bytes. */
  truncated: Buffer;
  /** Seconds of the looped files. */
  duration: number;
  paths: { moovLast: string; moovFirst: string };
}

/** 120 s files (6 loops of a 20 s clip, ~32 MB): longer than the forward goal, so seeks can land outside it. */
export function testMedia(): TestMedia {
  const moovLast = make('moov-last.mp4', (out) => ffmpeg(['-stream_loop', '5', '-i', clip(), '-c', 'copy', out]));
  const moovFirst = make('moov-first.mp4', (out) => ffmpeg(['-i', moovLast, '-c', 'copy', '-movflags', '+faststart', out]));
  const hevc = make('hevc.mp4', (out) =>
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', '2', '-c:v', 'libx265', '-preset', 'ultrafast', '-tag:v', 'hvc1', '-x265-params', 'log-level=error', out]),
  );
  const audioOnly = make('audio-only.mp4', (out) => ffmpeg(['-i', moovLast, '-vn', '-c', 'copy', out]));
  const videoOnly = make('video-only.mp4', (out) => ffmpeg(['-i', moovLast, '-an', '-c', 'copy', out]));
  const bframes = make('bframes.mp4', (out) =>
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=220:sample_rate=48000', '-t', '10',
      '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '3', '-g', '60', '-b:v', '1M', '-c:a', 'aac', '-shortest', out]),
  );
  const first = readFileSync(moovFirst);
  const truncatedPath = join(DIR, 'truncated.mp4');
  if (!existsSync(truncatedPath)) writeFileSync(truncatedPath, first.subarray(0, Math.floor(first.byteLength * 0.61)));
  return {
    moovLast: readFileSync(moovLast),
    moovFirst: first,
    hevc: readFileSync(hevc),
    audioOnly: readFileSync(audioOnly),
    videoOnly: readFileSync(videoOnly),
    truncated: readFileSync(truncatedPath),
    bframes: readFileSync(bframes),
    duration: 120,
    paths: { moovLast, moovFirst },
  };
}

/** One file of each container and codec the browser's own player handles, and MP4s as real files are made. */
export interface FormatMedia {
  webm: Buffer;
  mkv: Buffer;
  mp3: Buffer;
  wav: Buffer;
  ogg: Buffer;
  opus: Buffer;
  flac: Buffer;
  aac: Buffer;
  fragmented: Buffer;
  /** Video delayed by an empty edit of 1.5 s: the sound starts at 0, the picture at 1.5 s. */
  emptyEdit: Buffer;
  /** Cut at 1.3 s without re-encoding: an edit list skips the media before it. */
  leadIn: Buffer;
  /** Video, AAC (the default track) and an AC-3 second audio track, which Chromium cannot play. */
  twoAudio: Buffer;
  /** The 20 s clip's video with two AAC tracks: English at 440 Hz (the default) and French at 330 Hz. */
  twoTones: Buffer;
  /** The 20 s clip with French mov_text subtitles: SUBTITLE_CUES, one before 10 s and one after. */
  subtitled: Buffer;
  /** The same clip with the same cues as WebVTT in MP4 (`wvtt`), the second one set at the top (line:10%). */
  subtitledWebVtt: Buffer;
  /** H.264 with Opus audio in MP4 (sample entry `Opus`). */
  opusMp4: Buffer;
  /** H.264 with FLAC audio in MP4 (sample entry `fLaC`). */
  flacMp4: Buffer;
  /** Matroska: H.264, AC-3 audio (the default track, English) and AAC audio (French), as rips often are. */
  ac3DefaultMkv: Buffer;
  /** The 20 s clip with AC-3 audio (the default track, English) and an AAC track (French), as web downloads are. */
  ac3DefaultMp4: Buffer;
  /** The 20 s clip with E-AC-3 as its only sound, as web downloads are: Chromium decodes none of it. */
  eac3Mp4: Buffer;
  /** Matroska: H.264 with AC-3 as its only sound, as DVD rips are. */
  ac3OnlyMkv: Buffer;
  /** 30 s, long enough to seek in; each format's seconds. */
  duration: number;
}

/** The subtitled film's cues: [start, end, text]. */
export const SUBTITLE_CUES: [number, number, string][] = [
  [2, 5, 'First line of Ferry'],
  [12, 16, 'After the head'],
];

const WEBVTT_CUES = SUBTITLE_CUES.map(([start, end, text], i) => ({ start, end, text, settings: i === 1 ? 'line:10% align:start' : '' }));

function subtitleFile(): string {
  const srt = (s: number): string => `00:00:${String(s).padStart(2, '0')},000`;
  const text = SUBTITLE_CUES.map(([a, b, line], i) => `${i + 1}\n${srt(a)} --> ${srt(b)}\n${line}\n`).join('\n');
  return make('subtitles.srt', (out) => writeFileSync(out, text));
}

const tone = (seconds: number): string[] => ['-f', 'lavfi', '-i', `sine=frequency=330:sample_rate=48000:duration=${seconds}`];
const picture = (seconds: number): string[] => ['-f', 'lavfi', '-i', `testsrc2=size=320x180:rate=25:duration=${seconds}`];

/** Made once per machine, 30 s each; the MP4s come from the 20 s clip. */
export function formatMedia(): FormatMedia {
  const s = 30;
  const file = (name: string, args: string[]): Buffer => readFileSync(make(name, (out) => ffmpeg([...args, '-f', name.split('.').pop()!.replace('mkv', 'matroska').replace('opus', 'ogg').replace('aac', 'adts'), out])));
  return {
    webm: file('vp9.webm', [...picture(s), ...tone(s), '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-g', '50', '-c:a', 'libopus']),
    mkv: file('h264.mkv', [...picture(s), ...tone(s), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-c:a', 'aac']),
    mp3: file('talk.mp3', [...tone(s), '-c:a', 'libmp3lame', '-b:a', '64k']),
    wav: file('talk.wav', [...tone(s), '-c:a', 'pcm_s16le']),
    ogg: file('talk.ogg', [...tone(s), '-c:a', 'libvorbis']),
    opus: file('talk.opus', [...tone(s), '-c:a', 'libopus']),
    flac: file('talk.flac', [...tone(s), '-c:a', 'flac']),
    aac: file('talk.aac', [...tone(s), '-c:a', 'aac']),
    fragmented: file('fragmented.mp4', ['-i', clip(), '-c', 'copy', '-movflags', '+frag_keyframe+empty_moov+default_base_moof']),
    emptyEdit: file('empty-edit.mp4', ['-i', clip(), '-itsoffset', '1.5', '-i', clip(), '-map', '1:v', '-map', '0:a', '-c', 'copy']),
    leadIn: file('lead-in.mp4', ['-ss', '1.3', '-i', clip(), '-c', 'copy']),
    twoTones: file('two-tones.mp4', ['-i', clip(), ...tone(20), '-map', '0:v', '-map', '0:a', '-map', '1:a', '-c:v', 'copy', '-c:a:0', 'copy', '-c:a:1', 'aac',
      '-disposition:a:0', 'default', '-disposition:a:1', '0', '-metadata:s:a:0', 'language=eng', '-metadata:s:a:1', 'language=fra']),
    subtitled: file('subtitled.mp4', ['-i', clip(), '-i', subtitleFile(), '-map', '0', '-map', '1', '-c:v', 'copy', '-c:a', 'copy', '-c:s', 'mov_text', '-metadata:s:s:0', 'language=fra']),
    subtitledWebVtt: readFileSync(make('subtitled-wvtt.mp4', (out) => writeFileSync(out, withWebVtt(readFileSync(clip()), WEBVTT_CUES, 'fra')))),
    twoAudio: file('two-audio.mp4', ['-i', clip(), ...tone(20), '-map', '0:v', '-map', '0:a', '-map', '1:a', '-c:v', 'copy', '-c:a:0', 'copy', '-c:a:1', 'ac3', '-disposition:a:1', '0']),
    opusMp4: file('opus-in.mp4', [...picture(s), ...tone(s), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-c:a', 'libopus']),
    flacMp4: file('flac-in.mp4', [...picture(s), ...tone(s), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-c:a', 'flac', '-strict', '-2']),
    ac3DefaultMkv: file('ac3-default.mkv', [...picture(s), ...tone(s), '-f', 'lavfi', '-i', `sine=frequency=660:sample_rate=48000:duration=${s}`,
      '-map', '0', '-map', '1', '-map', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-c:a:0', 'ac3', '-c:a:1', 'aac',
      '-disposition:a:0', 'default', '-disposition:a:1', '0', '-metadata:s:a:0', 'language=eng', '-metadata:s:a:1', 'language=fra']),
    ac3DefaultMp4: file('ac3-default.mp4', ['-i', clip(), ...tone(20), '-map', '0:v', '-map', '0:a', '-map', '1:a', '-c:v', 'copy', '-c:a:0', 'ac3',
      '-c:a:1', 'aac', '-disposition:a:0', 'default', '-disposition:a:1', '0', '-metadata:s:a:0', 'language=eng', '-metadata:s:a:1', 'language=fra']),
    eac3Mp4: file('eac3.mp4', ['-i', clip(), '-map', '0:v', '-map', '0:a', '-c:v', 'copy', '-c:a', 'eac3']),
    ac3OnlyMkv: file('ac3-only.mkv', [...picture(s), ...tone(s),
      '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'ac3']),
    duration: s,
  };
}

export interface DamagedMedia {
  /** The 20 s clip, moov first, cut at 61 % of its bytes. */
  shortMoovFirst: Buffer;
  /** The 20 s clip, moov last, cut at 60 %: before its moov. */
  cutBeforeMoov: Buffer;
  /** An stco whose entry count runs far past the box. */
  corruptMoov: Buffer;
  /** A 20-byte stsz claiming 50 million samples of 100 bytes. */
  hostileCount: Buffer;
}

export function damagedMedia(): DamagedMedia {
  const first = readFileSync(make('clip-moov-first.mp4', (out) => ffmpeg(['-i', clip(), '-c', 'copy', '-movflags', '+faststart', out])));
  const last = readFileSync(clip());
  // The moov comes first, so the first match of a table's type is that table's header.
  const box = (file: Buffer, type: string): number => file.indexOf(type, 0, 'latin1') - 4;
  const corruptMoov = Buffer.from(first);
  corruptMoov.writeUInt32BE(0x7fffffff, box(corruptMoov, 'stco') + 12);
  const hostileCount = Buffer.from(first);
  const stsz = box(hostileCount, 'stsz');
  hostileCount.writeUInt32BE(100, stsz + 12);
  hostileCount.writeUInt32BE(50_000_000, stsz + 16);
  return {
    shortMoovFirst: first.subarray(0, Math.floor(first.byteLength * 0.61)),
    cutBeforeMoov: last.subarray(0, Math.floor(last.byteLength * 0.6)),
    corruptMoov,
    hostileCount,
  };
}
