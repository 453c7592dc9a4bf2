/** Test media made with ffmpeg at test time, kept in .media/test (git-ignored) between runs. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
