import { defineConfig } from 'vite';

// The page lives in src/app and is served by the relay from dist/app.
export default defineConfig({
  root: 'src/app',
  build: {
    outDir: '../../dist/app',
    emptyOutDir: true,
    sourcemap: true,
  },
});
