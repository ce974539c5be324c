import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll } from 'vitest';

// Every CDK App a test synthesizes without an outdir writes a cdk.out* folder under the temp directory; this
// test file's go to one folder of its own (CDK_OUTDIR), removed when the file is done, so the suite leaves
// nothing behind.
const outdir = mkdtempSync(join(tmpdir(), 'replicator-test-cdk-'));
process.env.CDK_OUTDIR = outdir;
afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});
