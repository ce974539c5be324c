import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 600_000,
    // The end-to-end suites each deploy to their own moto_server; run files in parallel on CI's 2 cores.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
