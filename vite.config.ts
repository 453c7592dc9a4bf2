import { defineConfig, type Plugin } from 'vite';
import { START_CREDIT } from './src/client/early-start.js';
import { PROTOCOL_VERSION } from './src/protocol/limits.js';

/** index.html's inline start (before the script) speaks the protocol with the same numbers as the script. */
function earlyStartNumbers(): Plugin {
  const numbers: Record<string, number> = { FERRY_PROTOCOL: PROTOCOL_VERSION, FERRY_INDEX_CREDIT: START_CREDIT.index, FERRY_PREFETCH_CREDIT: START_CREDIT.prefetch };
  return {
    name: 'ferry-early-start',
    transformIndexHtml: (html) => html.replace(/%(FERRY_[A-Z_]+)%/g, (all, name: string) => String(numbers[name] ?? all)),
  };
}

// The page lives in src/app and is served by the relay from dist/app.
export default defineConfig({
  plugins: [earlyStartNumbers()],
  root: 'src/app',
  // The audio conversion worker loads each decoder when first needed: chunks, which only ES workers split into.
  worker: { format: 'es' },
  build: {
    outDir: '../../dist/app',
    emptyOutDir: true,
    sourcemap: true,
  },
});
