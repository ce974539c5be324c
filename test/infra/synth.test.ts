import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app-builder';
import { loadConfigFile } from '../../lib/config';
import { PROJECT_ROOT } from '../../lib/constructs/replicator-function';

// Synthesizes the config of replication.config.json plus an S3 pair (test/fixtures/configs/synth.json) as
// `cdk synth` does: real esbuild bundling and cdk-nag registered.
let outdir: string;

beforeAll(async () => {
  outdir = mkdtempSync(path.join(tmpdir(), 'replicator-synth-'));
  // As the CDK CLI does, so each function names its asset directory (aws:asset:path).
  const app = new App({ outdir, autoSynth: false, context: { 'aws:cdk:enable-asset-metadata': true } });
  await buildApp(app, loadConfigFile(path.join(PROJECT_ROOT, 'test/fixtures/configs/synth.json')));
  app.synth();
}, 120_000);

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

/**
 * Kilobytes (1,000 bytes) each function's bundle may reach: about 10% above what `npm run bench -- bundles`
 * measured (README "Bundles and cold start"). A bundle over its budget has taken in something big (zod classic
 * is 455 kB, the SDK's CommonJS builds 140-290 kB more, another SDK client 30-100 kB): the benchmark lists its
 * bytes by package.
 */
const BYTE_BUDGET_KB: Record<string, number> = {
  'replicator-orders-capture': 380,
  'replicator-orders-apply': 495,
  'replicator-orders-reconcile': 475,
  'replicator-orders-backfill': 465,
  'replicator-datasets-capture': 380,
  'replicator-datasets-copy': 645,
  'replicator-datasets-reconcile': 615,
  'replicator-datasets-backfill': 600,
};

function templates(): string[] {
  return readdirSync(outdir)
    .filter((f) => f.endsWith('.template.json'))
    .map((f) => path.join(outdir, f));
}

describe('synth with bundling', () => {
  it('writes the source stack and both target stacks', () => {
    expect(
      templates()
        .map((f) => path.basename(f))
        .sort(),
    ).toEqual([
      'Replicator-Target-ap-northeast-1.template.json',
      'Replicator-Target-eu-west-1.template.json',
      'Replicator-us-east-1.template.json',
    ]);
  });

  it('bundles each function from its handler into an asset with index.js and its source map', () => {
    const template = JSON.parse(readFileSync(path.join(outdir, 'Replicator-us-east-1.template.json'), 'utf8'));
    interface FunctionResource {
      Type: string;
      Metadata: Record<string, string>;
      Properties: { FunctionName?: string };
    }
    // Replicator's own functions (CDK's inline Custom::S3BucketNotifications handler has no name or bundle).
    const functions = Object.values(template.Resources as Record<string, FunctionResource>).filter(
      (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.FunctionName?.startsWith('replicator-'),
    );
    expect(functions).toHaveLength(8);
    // A variable that each handler reads, so each bundle comes from its own entry (the default entries).
    const marker: Record<string, string> = {
      'replicator-orders-capture': 'ENVELOPES_PER_MESSAGE',
      'replicator-orders-apply': 'DLQ_URL',
      'replicator-orders-reconcile': 'RECHECK_DELAY_MS',
      'replicator-datasets-capture': 'SUFFIX',
      'replicator-datasets-copy': 'MULTIPART_THRESHOLD',
      'replicator-datasets-reconcile': 'ListObjectsV2',
      'replicator-orders-backfill': 'BACKFILL_QUEUE_URL',
      'replicator-datasets-backfill': 'BACKFILL_QUEUE_URL',
    };
    for (const fn of functions) {
      const assetDir = path.join(outdir, fn.Metadata['aws:asset:path']!);
      expect(existsSync(path.join(assetDir, 'index.js'))).toBe(true);
      expect(existsSync(path.join(assetDir, 'index.js.map'))).toBe(true);
      const code = readFileSync(path.join(assetDir, 'index.js'), 'utf8');
      expect(code).toContain(marker[fn.Properties.FunctionName!]!);
      // The SDK clients are bundled, not left to the runtime's copy.
      expect(code).toContain('"AmazonSQS"');
      expect(code).not.toMatch(/require\("@aws-sdk\/client-/);
    }
  });

  it('keeps each bundle within its byte budget, and its source map to the mappings', () => {
    const template = JSON.parse(readFileSync(path.join(outdir, 'Replicator-us-east-1.template.json'), 'utf8'));
    const resources = Object.values(
      template.Resources as Record<string, { Type: string; Metadata?: Record<string, string>; Properties: object }>,
    );
    const bundles = resources.flatMap((r) => {
      const name = (r.Properties as { FunctionName?: string }).FunctionName;
      const asset = r.Metadata?.['aws:asset:path'];
      return r.Type === 'AWS::Lambda::Function' && name?.startsWith('replicator-') && asset
        ? [{ name, dir: path.join(outdir, asset) }]
        : [];
    });
    expect(bundles.map((b) => b.name).sort()).toEqual(Object.keys(BYTE_BUDGET_KB).sort());
    const over = bundles.flatMap(({ name, dir }) => {
      const kb = statSync(path.join(dir, 'index.js')).size / 1000;
      return kb > BYTE_BUDGET_KB[name]! ? [`${name}: ${Math.round(kb)} kB, budget ${BYTE_BUDGET_KB[name]} kB`] : [];
    });
    expect(over).toEqual([]);
    for (const { dir } of bundles) {
      // sourcesContent: false, so the map Node parses under --enable-source-maps carries no copy of the sources.
      const map = JSON.parse(readFileSync(path.join(dir, 'index.js.map'), 'utf8')) as Record<string, unknown>;
      expect(map.sourcesContent).toBeUndefined();
    }
  });

  it('passes cfn-lint without errors', () => {
    const result = spawnSync('cfn-lint', ['--format', 'parseable', ...templates()], { encoding: 'utf8' });
    expect(result.error).toBeUndefined();
    const errors = `${result.stdout}\n${result.stderr}`.split('\n').filter((line) => /:E\d{4}:/.test(line));
    expect(errors).toEqual([]);
  }, 120_000);
});
