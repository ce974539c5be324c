/**
 * The README's shell blocks for the local cloud, run as written (as rustdoc runs documentation examples): each
 * ```bash block after a `<!-- readme-test: local-cloud -->` marker runs in bash against a local cloud of this
 * test's own, deployed from the repository's replication.config.json, with `PORT` replaced by its port. The
 * block's first line, which starts that local cloud in the reader's first terminal, is the one line not run.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../src/cli/local-cloud';

const ROOT = resolve(__dirname, '..', '..');
const MARKER = '<!-- readme-test: local-cloud -->';

/** The marked blocks of the README, each as its lines. */
function markedBlocks(readme: string): string[][] {
  const blocks: string[][] = [];
  let at = readme.indexOf(MARKER);
  while (at >= 0) {
    const m = /```bash\n([\s\S]*?)\n```/.exec(readme.slice(at));
    if (!m) throw new Error(`README: no bash block after ${MARKER}`);
    blocks.push(m[1]!.split('\n'));
    at = readme.indexOf(MARKER, at + MARKER.length);
  }
  return blocks;
}

let cloud: LocalCloud;

beforeAll(async () => {
  cloud = await startLocalCloud({ configPath: resolve(ROOT, 'replication.config.json') });
}, 600_000);

afterAll(async () => {
  await cloud?.stop();
});

describe('README shell blocks for the local cloud', () => {
  const blocks = markedBlocks(readFileSync(resolve(ROOT, 'README.md'), 'utf8'));

  it('has the blocks this test runs, each starting the local cloud on its first line', () => {
    expect(blocks.length).toBeGreaterThan(0);
    for (const b of blocks) expect(b[0]).toMatch(/^npx replicator local\b/);
  });

  it('runs every marked block as written, and each succeeds', async () => {
    const port = new URL(cloud.endpoint).port;
    for (const block of blocks) {
      const script = ['set -euo pipefail', ...block.slice(1)].join('\n').replaceAll('PORT', port);
      const env = { ...process.env };
      for (const k of ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_ENDPOINT_URL']) delete env[k];
      // A block that hangs (an `until` loop whose item never arrives) fails here rather than at the suite's end.
      const { stdout } = await promisify(execFile)('bash', ['-c', script], {
        cwd: ROOT,
        env,
        timeout: 240_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      expect(stdout).toMatch(/orders/);
    }
  }, 300_000);
});
