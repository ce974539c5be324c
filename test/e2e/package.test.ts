/**
 * Replicator used from a team's own CDK app, as construct libraries are: `npm pack` gives a tarball, a fresh
 * app in a temporary folder installs it (with aws-cdk-lib and constructs, its peers) and synthesizes
 * `new ReplicationStack(app, …, { config })` and a `TargetStack`, with every handler bundled from the installed
 * package. The npm cache serves the installs (the registry is the fallback), so this takes seconds, not minutes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'replicator-consumer-'));
const app = join(work, 'app');
let tarball: string;

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

beforeAll(() => {
  // prepack builds dist/ (tsc -p tsconfig.build.json).
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], ROOT)) as { filename: string }[];
  tarball = join(work, packed[0]!.filename);
  // The app takes the versions this repository's lockfile holds (its devDependencies pin them exactly), so the
  // install is served by the npm cache `npm ci` filled, and the peer ranges are checked to admit them.
  const own = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'team-app',
      private: true,
      dependencies: {
        replicator: `file:${tarball}`,
        'aws-cdk-lib': own.devDependencies['aws-cdk-lib'],
        constructs: own.devDependencies.constructs,
      },
    }),
  );
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], app);
}, 600_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('Replicator from your own CDK app', () => {
  it('ships its entry point and types, the handlers to bundle, and no tests', () => {
    const pkg = join(app, 'node_modules', 'replicator');
    for (const f of [
      'dist/lib/index.js',
      'dist/lib/index.d.ts',
      'functions/dynamodb/apply-handler.ts',
      'bin/replicator.js',
    ]) {
      expect(existsSync(join(pkg, f)), f).toBe(true);
    }
    expect(existsSync(join(pkg, 'test'))).toBe(false);
    // One aws-cdk-lib for the app and the library: a second copy would fail every instanceof across them.
    expect(existsSync(join(pkg, 'node_modules', 'aws-cdk-lib'))).toBe(false);
  });

  it('synthesizes a ReplicationStack and a TargetStack with every handler bundled from the package', () => {
    writeFileSync(
      join(app, 'app.js'),
      `
const { App } = require('aws-cdk-lib');
const { ReplicationStack, TargetStack } = require('replicator');
const app = new App({ outdir: 'cdk.out' });
const env = { account: '123456789012' };
const config = {
  sourceRegion: 'us-east-1',
  pairs: [
    { name: 'features', type: 'dynamodb',
      source: { table: 'features', create: { partitionKey: 'pk:S' } },
      targets: [{ region: 'eu-west-1', table: 'features', create: true }] },
    { name: 'checkpoints', type: 's3', prefix: 'ckpt/',
      source: { bucket: 'team-checkpoints-123456789012', create: true },
      targets: [{ region: 'eu-west-1', bucket: 'team-checkpoints-eu-123456789012', create: true }] },
  ],
};
new TargetStack(app, 'TeamReplicatorTargets', { config, region: 'eu-west-1', env: { ...env, region: 'eu-west-1' } });
new ReplicationStack(app, 'TeamReplicator', { config, env: { ...env, region: 'us-east-1' } });
app.synth();
`,
    );
    run('node', ['app.js'], app);
    const out = join(app, 'cdk.out');
    const assets = JSON.parse(readFileSync(join(out, 'TeamReplicator.assets.json'), 'utf8')) as {
      files: Record<string, { source: { path: string; packaging?: string } }>;
    };
    const bundles = Object.values(assets.files)
      .filter((f) => f.source.packaging === 'zip')
      .map((f) => join(out, f.source.path));
    // capture and apply, capture and copy: each bundled from the package into an asset with its index.js.
    expect(bundles.length).toBeGreaterThanOrEqual(4);
    for (const dir of bundles) {
      expect(readdirSync(dir)).toContain('index.js');
      expect(readFileSync(join(dir, 'index.js'), 'utf8').length).toBeGreaterThan(10_000);
    }
    expect(existsSync(join(out, 'TeamReplicatorTargets.template.json'))).toBe(true);
  }, 300_000);

  it('exports waitForReplication at replicator/wait, for a training job to import', () => {
    writeFileSync(
      join(app, 'wait.js'),
      `const { waitForReplication, ReplicationTimeoutError } = require('replicator/wait');
console.log(typeof waitForReplication, typeof ReplicationTimeoutError);`,
    );
    expect(run('node', ['wait.js'], app).trim()).toBe('function function');
  });
});
