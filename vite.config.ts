import { defineConfig } from 'vite';

// The page lives in src/app and is served by the relay from dist/app. The service worker that saves
// downloads must sit at the root (/sw.js) to control /download/…, so it is an entry of its own.
export default defineConfig({
  root: 'src/app',
  build: {
    outDir: '../../dist/app',
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: {
      input: { index: 'src/app/index.html', sw: 'src/app/sw.ts' },
      output: { entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js') },
    },
  },
});
