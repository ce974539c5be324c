/**
 * Every error path of the CLI, run as a user runs it (`node bin/replicator.js ...`): one line naming the cause,
 * one line of hint naming the fix, the documented exit code, and no stack trace unless `--debug`. The paths that
 * need a cloud use a moto_server with nothing deployed (this test's own, stopped by its pid), or a closed port.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/errors';
import { type MotoServer, startMoto } from '../../src/local/moto';

const BIN = resolve(__dirname, '..', '..', 'bin', 'replicator.js');
const CONFIG = resolve(__dirname, '..', '..', 'replication.config.json');
const CLOSED = 'http://localhost:1';

let moto: MotoServer;

beforeAll(async () => {
  moto = await startMoto();
}, 120_000);

afterAll(async () => {
  await moto?.stop();
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI with `args` (and the repository's config unless given), without AWS credentials. */
function cli(...args: string[]): Promise<Run> {
  const env = { ...process.env };
  for (const k of [
    'AWS_PROFILE',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_ENDPOINT_URL',
  ])
    delete env[k];
  // Nothing to find on this machine: the credential chain must fail fast rather than wait for instance metadata.
  env.AWS_EC2_METADATA_DISABLED = 'true';
  const withConfig = args.includes('--config') ? args : [...args, '--config', CONFIG];
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...withConfig], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

/** The error and hint lines of a failed run, checked for their shape. */
function expectOneLine(run: Run, code: number, error: RegExp, hint: RegExp): void {
  const lines = run.stderr.trimEnd().split('\n');
  expect({ code: run.code, lines }).toEqual({
    code,
    lines: [expect.stringMatching(error), expect.stringMatching(hint)],
  });
  expect(run.stderr).not.toMatch(/^\s+at /m);
}

// Each run starts a Node process with tsx: seconds on a loaded machine, so the timeouts are generous.
const T = 120_000;

describe('CLI errors: one line, a hint, a documented exit code', () => {
  it(
    'a usage error exits 2 and points at the command help',
    async () => {
      expectOneLine(
        await cli('status', '--bogus'),
        EXIT.USAGE,
        /^error: unknown option '--bogus'$/,
        /replicator status --help/,
      );
      expectOneLine(
        await cli('reconcile'),
        EXIT.USAGE,
        /^error: missing required argument 'pair'$/,
        /replicator reconcile --help/,
      );
      expectOneLine(
        await cli('reconcile', 'nosuch'),
        EXIT.USAGE,
        /^error: unknown pair "nosuch"; the config has: orders, datasets$/,
        /--help/,
      );
      expectOneLine(
        await cli('status', '--endpoint', 'localhost:1'),
        EXIT.USAGE,
        /^error: --endpoint must be a URL with its scheme, e\.g\. http:\/\/localhost:5000 \(given "localhost:1"\)$/,
        /--help/,
      );
    },
    T,
  );

  it(
    'a config that cannot be read exits 2 and says how to give one',
    async () => {
      expectOneLine(
        await cli('status', '--config', 'no-such.json'),
        EXIT.USAGE,
        /^error: config no-such\.json: cannot read the file: ENOENT/,
        /^hint: give the config with --config PATH/,
      );
    },
    T,
  );

  it(
    'an endpoint nothing listens on exits 3 and asks whether the local cloud runs',
    async () => {
      for (const command of [['status'], ['reconcile', 'orders'], ['redrive', 'orders'], ['backfill', 'orders']]) {
        expectOneLine(
          await cli(...command, '--endpoint', CLOSED),
          EXIT.UNREACHABLE,
          /^error: cannot reach http:\/\/localhost:1 \(ECONNREFUSED\)$/,
          /^hint: is the local cloud running there\? start it with `npx replicator local`/,
        );
      }
    },
    T,
  );

  it(
    'no credentials for AWS exits 3 and says where they come from',
    async () => {
      // The credential chain fails before any request: no network is needed for this path.
      expectOneLine(
        await cli('redrive', 'orders'),
        EXIT.UNREACHABLE,
        /^error: no AWS credentials found$/,
        /^hint: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
      );
    },
    T,
  );

  it(
    'a pair that is not deployed exits 4 and says to deploy it',
    async () => {
      for (const command of [
        ['reconcile', 'orders'],
        ['reconcile', 'datasets'],
        ['redrive', 'orders'],
        ['backfill', 'orders'],
      ]) {
        expectOneLine(
          await cli(...command, '--endpoint', moto.endpoint),
          EXIT.NOT_DEPLOYED,
          new RegExp(`^error: pair "${command[1]}" is not deployed in us-east-1 at ${moto.endpoint} \\(`),
          /^hint: deploy it to the local cloud with `npx replicator local`/,
        );
      }
      const status = await cli('status', '--endpoint', moto.endpoint);
      expect(status.code).toBe(EXIT.NOT_DEPLOYED);
      expect(status.stderr).toMatch(/^orders: not deployed \(state table replicator-orders-state does not exist/m);
    },
    T,
  );

  it(
    '--debug adds the stack trace; --version and --help exit 0',
    async () => {
      const debug = await cli('redrive', 'orders', '--endpoint', CLOSED, '--debug');
      expect(debug.code).toBe(EXIT.UNREACHABLE);
      expect(debug.stderr).toMatch(/^\s+at /m);
      const version = await cli('--version');
      expect({ code: version.code, out: version.stdout.trim() }).toEqual({
        code: 0,
        out: expect.stringMatching(/^\d+\.\d+\.\d+$/),
      });
      const help = await cli('reconcile', '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/Examples:/);
    },
    T,
  );
});
