// The built-in demo video for `npm start`: made once with ffmpeg into .media/demo.mp4 (git-ignored).
// 2 minutes of 720p H.264 + AAC at 4 Mbit/s (about 60 MB, moov at the end), big enough to go through MSE.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';

const out = '.media/demo.mp4';
if (existsSync(out)) process.exit(0);

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
if (!has('ffmpeg') && process.getuid?.() === 0 && has('apt-get')) {
  console.log('installing ffmpeg (Debian) to make the demo video…');
  execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null'], { stdio: 'inherit' });
}
if (!has('ffmpeg')) {
  console.log('ffmpeg is missing, so there is no built-in demo video (apt-get install ffmpeg); the player works without it.');
  process.exit(0);
}
mkdirSync('.media', { recursive: true });
const run = (args) => execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: 'inherit' });
console.log('making the demo video (.media/demo.mp4)…');
run(['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=48000',
  '-t', '20', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-b:v', '4M', '-c:a', 'aac', '-b:a', '128k', '-shortest', '.media/demo-clip.mp4']);
run(['-stream_loop', '5', '-i', '.media/demo-clip.mp4', '-c', 'copy', '.media/demo.tmp.mp4']);
renameSync('.media/demo.tmp.mp4', out);
rmSync('.media/demo-clip.mp4');
