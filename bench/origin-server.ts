/** The benchmarks' origin as its own process, so its CPU is not the relay's or the reader's. */
import { serveFile } from '../src/cli/demo-origin.js';

const origin = await serveFile(process.argv[2]!);
console.log(`origin listening ${origin.port} ${origin.url}`);
