/** The benchmarks' origin as its own process, so its CPU is not the relay's or the reader's. */
import { serveFile } from '../src/cli/demo-origin.js';

// --attachment: a browser following a link saves the file (bench:download's baseline).
const type = process.argv[2]!.endsWith('.mkv') ? 'video/x-matroska' : 'video/mp4';
const origin = await serveFile(process.argv[2]!, '127.0.0.1', type, process.argv.includes('--attachment'));
console.log(`origin listening ${origin.port} ${origin.url}`);
