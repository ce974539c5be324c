import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // Generous: the first synth of a file loads aws-cdk-lib (8 s on an idle machine, 38 s seen on CI's two
    // loaded cores). A test that hangs still fails; none may depend on an idle machine.
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // The end-to-end suites each deploy to their own moto_server; run files in parallel on CI's 2 cores.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
