/** The benchmarks' video: a 60 s 720p clip made with ffmpeg, looped (stream copy) to the size asked for. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GB, MEDIA_DIR } from './lib.js';

/** 60 s of 720p30 H.264 at 8 Mbit/s + AAC, looped (stream copy) to the size asked for, moov at the end. */
export function benchVideo(targetBytes: number): string {
  mkdirSync(MEDIA_DIR, { recursive: true });
  const clip = join(MEDIA_DIR, 'bench-clip-720p.mp4');
  const ff = (args: string[]): void => void execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: 'inherit' });
  if (!existsSync(clip)) {
    process.stderr.write('making a 60 s 720p clip with ffmpeg…\n');
    ff(['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '60',
      '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-b:v', '8M', '-maxrate', '8M', '-bufsize', '16M', '-c:a', 'aac', '-b:a', '128k', '-shortest', `${clip}.tmp.mp4`]);
    renameSync(`${clip}.tmp.mp4`, clip);
  }
  const loops = Math.max(1, Math.round(targetBytes / statSync(clip).size));
  const out = join(MEDIA_DIR, `bench-720p-${Math.round(targetBytes / GB)}g.mp4`);
  if (!existsSync(out)) {
    process.stderr.write(`looping it ${loops} times into ${out}…\n`);
    ff(['-stream_loop', String(loops - 1), '-i', clip, '-c', 'copy', `${out}.tmp.mp4`]);
    renameSync(`${out}.tmp.mp4`, out);
  }
  return out;
}


/** The same film as Matroska (stream copy of benchVideo's MP4, Cues at the end as mkvmerge and ffmpeg write them). */
export function benchMatroska(targetBytes: number): string {
  const mp4 = benchVideo(targetBytes);
  const out = mp4.replace(/\.mp4$/, '.mkv');
  if (!existsSync(out)) {
    process.stderr.write(`copying it into ${out}…\n`);
    const args = ['-hide_banner', '-loglevel', 'error', '-y', '-i', mp4, '-c', 'copy', '-f', 'matroska', `${out}.tmp`];
    execFileSync('ffmpeg', args, { stdio: 'inherit' });
    renameSync(`${out}.tmp`, out);
  }
  return out;
}
