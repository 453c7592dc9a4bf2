// The Workers edge as one ES module (dist/worker/worker.js), as Workers load it: the core, the protocol and
// ipaddr.js bundled in. The page it serves is vite's build (dist/app), as the Worker's static assets.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/relay/workers/worker.ts'],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  mainFields: ['module', 'main'],
  target: 'es2022',
  sourcemap: true,
  outfile: 'dist/worker/worker.js',
  logLevel: 'warning',
});
