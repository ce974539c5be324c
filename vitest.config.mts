import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    setupFiles: ['test/setup.ts'],
    // Generous: the first synth of a file loads aws-cdk-lib (8 s on an idle machine, 38 s seen on CI's two
    // loaded cores). A test that hangs still fails; none may depend on an idle machine.
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // The end-to-end suites each deploy to their own moto_server; run files in parallel on CI's 2 cores.
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'synth',
          // Template tests: pure CDK synthesis, no SDK mocks, no global state left behind (test/setup.ts gives
          // each file its own CDK_OUTDIR). Run in shared workers, aws-cdk-lib loads once per worker instead of
          // once per file: 146 s → 48 s for test/infra on two cores.
          include: ['test/infra/**/*.test.ts', 'test/iam/**/*.test.ts'],
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'isolated',
          // Unit and handler tests mock SDK clients (aws-sdk-client-mock patches their prototypes); end-to-end
          // files start servers and set process-wide faults: each file gets a fresh process.
          include: ['test/**/*.test.ts'],
          exclude: ['test/infra/**', 'test/iam/**'],
        },
      },
    ],
  },
});
