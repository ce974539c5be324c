/**
 * `replicator local` stopped by a signal during its deploy, as a user's Ctrl-C would: it exits with 130 and
 * leaves no process behind (moto_server, npx, the cdk CLI and what it spawned), whatever phase it was in.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually';

const ROOT = resolve(__dirname, '..', '..');
const BIN = resolve(ROOT, 'bin', 'replicator.js');
const CONFIG = resolve(ROOT, 'test', 'fixtures', 'configs', 'e2e-s3.json');

let cli: ChildProcess | undefined;

afterAll(() => {
  // A failed test must not leave its processes behind: the CLI's whole tree goes, not the CLI alone.
  if (cli?.pid !== undefined && cli.exitCode === null) {
    for (const pid of [...descendants(cli.pid).keys()].reverse()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    cli.kill('SIGKILL');
  }
  // `local` keeps its latest run's folder for the user; this test's goes.
  const local = resolve(ROOT, '.local');
  for (const name of existsSync(local) ? readdirSync(local) : []) {
    if (name.startsWith(`moto-${cli?.pid}-`)) rmSync(resolve(local, name), { recursive: true, force: true });
  }
});

/** Every process below `root`, with its command line, from `ps`. */
function descendants(root: number): Map<number, string> {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
  const out = new Map<number, string>();
  const walk = (pid: number): void => {
    for (const r of rows) {
      if (r.ppid === pid && !out.has(r.pid)) {
        out.set(r.pid, r.args);
        walk(r.pid);
      }
    }
  };
  walk(root);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('replicator local and signals', () => {
  it('stops moto and every cdk process when SIGINT arrives during the deploy, and exits 130', async () => {
    cli = spawn(process.execPath, [BIN, 'local', '--config', CONFIG], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    cli.stdout?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    cli.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const exited = new Promise<number | null>((done) => cli!.once('exit', (code) => done(code)));
    const pid = cli.pid!;

    // Wait until the deploy runs: its announcement read, moto and a cdk process both below the CLI.
    const { tree } = await eventually(
      'the deploy to run below `replicator local` (moto_server, cdk) and to be announced',
      async () => ({ tree: descendants(pid), announced: /cdk bootstrap \+ deploy for .*: 1-3 minutes/.test(output) }),
      ({ tree: t, announced }) =>
        announced &&
        [...t.values()].some((a) => a.includes('moto_server')) &&
        [...t.values()].some((a) => /\bcdk\b/.test(a)),
      { timeoutMs: 120_000 },
    );

    process.kill(pid, 'SIGINT');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000))]);
    expect(code).toBe(130);
    const left = await eventually(
      'every process it started to be gone',
      async () => [...tree.keys()].filter(alive),
      (pids) => pids.length === 0,
      { timeoutMs: 20_000 },
    ).catch(() => [...tree.keys()].filter(alive));
    expect(left.map((p) => `${p} ${tree.get(p)}`)).toEqual([]);
    expect(output).toMatch(/stopping: cleaning up what was started/);
    expect(output).not.toMatch(/^\s+at /m);
  }, 240_000);
});
