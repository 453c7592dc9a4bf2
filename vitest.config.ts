import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Transfers of hundreds of MB and a browser share two cores: one file at a time keeps timings sane.
    fileParallelism: false,
  },
});
