import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll } from 'vitest';

// Every CDK App a test synthesizes without an outdir writes a cdk.out* folder under the temp directory; this
// test file's go to one folder of its own (CDK_OUTDIR), removed when the file is done, so the suite leaves
// nothing behind. An App made under CDK_OUTDIR synthesizes again before its process exits unless told
// `autoSynth: false` (test/infra/helpers.ts testApp does): after afterAll that would write into a removed folder.
const outdir = mkdtempSync(join(tmpdir(), 'replicator-test-cdk-'));
process.env.CDK_OUTDIR = outdir;
const exitListeners = process.listenerCount('beforeExit');
afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
  // Fails every time, not only when the timing lines up, if a test made an App that would synthesize at exit.
  const added = process.listenerCount('beforeExit') - exitListeners;
  if (added > 0)
    throw new Error(`${added} CDK App(s) would synthesize at exit into ${outdir}: make them with autoSynth: false`);
});
