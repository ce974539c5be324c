/**
 * `cdk bootstrap` + `cdk deploy --all` of a CDK app against a local cloud (moto), and the list of deployed
 * stacks read back from the cloud assembly that the deploy wrote.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { LOCAL_ACCOUNT, localCloudEnv } from './moto';

/** One stack of a deployed cloud assembly. */
export interface DeployedStack {
  /** CloudFormation stack name. */
  readonly stackName: string;
  /** Region the stack was deployed to. */
  readonly region: string;
  /** Absolute path of the synthesized template; asset paths in its metadata are relative to its folder. */
  readonly templatePath: string;
  /** Account the stack was deployed to (moto's default for an environment-agnostic one). */
  readonly account: string;
}

/** What {@link deployApp} deployed. */
export interface DeployedApp {
  /** Absolute path of the cloud assembly (the `--output` folder). */
  readonly assemblyDir: string;
  /** Every stack of the assembly, including those of nested assemblies (stages). */
  readonly stacks: DeployedStack[];
}

/** Options of {@link deployApp}. */
export interface DeployAppOptions {
  /** The local cloud's endpoint; its host should be `localhost` (moto fetches templates from its S3 only then). */
  readonly endpoint: string;
  /** Regions to bootstrap in moto's default account (every region a stack of that account deploys to). */
  readonly regions: string[];
  /**
   * Environments of other accounts to bootstrap (target accounts' stacks). The CLI deploys to them as on AWS:
   * it assumes their bootstrap deploy role, which moto grants with that account's credentials.
   * @default - none
   */
  readonly otherAccounts?: readonly { readonly account: string; readonly region: string }[];
  /**
   * Environments (`account/region`) bootstrapped already, by an earlier deploy to the same cloud: not bootstrapped
   * again, as a user runs `cdk bootstrap` once per environment. @default - none: every environment is bootstrapped
   */
  readonly bootstrapped?: ReadonlySet<string>;
  /** The `cdk --app` command. @default - the `app` of cwd's cdk.json */
  readonly app?: string;
  /** Context values passed as `-c key=value`. @default - none */
  readonly context?: Record<string, string>;
  /** Cloud assembly folder (`--output`), absolute or relative to cwd. */
  readonly outdir: string;
  /** Working directory of the cdk CLI (where cdk.json and node_modules are). */
  readonly cwd: string;
  /** Receives every output line of the CLI. @default - output is only kept for errors */
  readonly log?: (line: string) => void;
  /** Receives the deploy's progress: a stack and its resources done of total, as CloudFormation reports them. */
  readonly onProgress?: (p: DeployProgress) => void;
  /** Aborting stops every cdk process tree this deploy started (SIGTERM, then SIGKILL) and rejects. */
  readonly signal?: AbortSignal;
}

/** One step of a deploy's progress. */
export interface DeployProgress {
  /** `bootstrap <region>` or `deploy`. */
  readonly phase: string;
  readonly stack: string;
  readonly done: number;
  readonly total: number;
}

/** A deploy stopped by its signal. */
export class DeployAbortedError extends Error {
  constructor() {
    super('the deploy was stopped');
    this.name = 'DeployAbortedError';
  }
}

/** `<stack> |  3/45 | ...`: a line of `cdk --progress events`. */
const PROGRESS_LINE = /^(\S+) \|\s*(\d+)\/(\d+) \|/;

/** A cdk CLI command failed; the message ends with the tail of its output. */
export class DeployError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly outputTail: string,
  ) {
    super(`\`${command}\` failed (exit code ${exitCode}). Last output:\n${outputTail}`);
    this.name = 'DeployError';
  }
}

/** A cloud assembly folder has no manifest, or a stack in it has no concrete region. */
export class AssemblyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssemblyError';
  }
}

/** How many output lines a DeployError carries. */
const TAIL_LINES = 40;

/**
 * Bootstraps every region (in parallel), then deploys all stacks with `cdk deploy --all` against the local
 * cloud, and returns the stacks of the resulting cloud assembly.
 * @throws DeployError when bootstrap or deploy fails
 */
export async function deployApp(opts: DeployAppOptions): Promise<DeployedApp> {
  const outdir = isAbsolute(opts.outdir) ? opts.outdir : resolve(opts.cwd, opts.outdir);
  const region = opts.regions[0] ?? 'us-east-1';
  const env = localCloudEnv(opts.endpoint, region);
  const log = opts.log ?? (() => undefined);
  const appArgs = opts.app !== undefined ? ['--app', opts.app] : [];
  const contextArgs = Object.entries(opts.context ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  const progress = (phase: string, line: string): void => {
    const m = PROGRESS_LINE.exec(line);
    if (m) opts.onProgress?.({ phase, stack: m[1]!, done: Number(m[2]), total: Number(m[3]) });
  };

  // Bootstrap needs nothing of the app, but run where a cdk.json names one, the CLI synthesizes it first (8 s
  // idle, 40 s seen on two loaded cores, per region). Each region's bootstrap runs in a throwaway folder of its
  // own instead: no cdk.json, so no synth, and the regions can bootstrap in parallel (the CLI locks its folder).
  const environments = [
    ...[...new Set(opts.regions)].map((r) => ({ account: LOCAL_ACCOUNT, region: r })),
    ...(opts.otherAccounts ?? []),
  ].filter((e) => !opts.bootstrapped?.has(environmentKey(e)));
  // Settled, not all: when one fails or the deploy is stopped, every other bootstrap still ends (its process tree
  // stopped, its scratch folder removed) before the error goes up.
  const bootstraps = await Promise.allSettled(
    environments.map(async ({ account, region: r }) => {
      const scratch = mkdtempSync(join(tmpdir(), `replicator-bootstrap-${r}-`));
      const where = account === LOCAL_ACCOUNT ? r : `${account}/${r}`;
      try {
        const env = localCloudEnv(opts.endpoint, r);
        // Bootstrapping needs the account's own credentials (the CLI checks whose they are).
        if (account !== LOCAL_ACCOUNT) Object.assign(env, await motoAccountCredentials(opts.endpoint, account));
        await runCdk(
          ['bootstrap', `aws://${account}/${r}`, '--output', join(scratch, 'cdk.out')],
          scratch,
          env,
          (line) => {
            log(`[bootstrap ${where}] ${line}`);
            progress(`bootstrap ${where}`, line);
          },
          opts.signal,
          opts.cwd,
        );
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    }),
  );
  const failed = bootstraps.find((b): b is PromiseRejectedResult => b.status === 'rejected');
  if (failed) throw failed.reason;
  await runCdk(
    [
      'deploy',
      '--all',
      '--require-approval',
      'never',
      '--progress',
      'events',
      ...appArgs,
      ...contextArgs,
      '--output',
      outdir,
    ],
    opts.cwd,
    env,
    (line) => {
      log(`[deploy] ${line}`);
      progress('deploy', line);
    },
    opts.signal,
  );
  return { assemblyDir: outdir, stacks: readAssemblyStacks(outdir) };
}

/** `account/region`: an environment as {@link DeployAppOptions.bootstrapped} names it. */
export function environmentKey(e: { readonly account: string; readonly region: string }): string {
  return `${e.account}/${e.region}`;
}

/** Reads every CloudFormation stack of a cloud assembly (recursing into nested assemblies). */
export function readAssemblyStacks(assemblyDir: string): DeployedStack[] {
  const manifestPath = join(assemblyDir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new AssemblyError(`no cloud assembly manifest at ${manifestPath}`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    artifacts?: Record<
      string,
      {
        type: string;
        environment?: string;
        properties?: { templateFile?: string; stackName?: string; directoryName?: string };
      }
    >;
  };
  const stacks: DeployedStack[] = [];
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type === 'aws:cloudformation:stack' && artifact.properties?.templateFile !== undefined) {
      const [, , account, region] = artifact.environment?.split('/') ?? [];
      if (region === undefined || region === 'unknown-region') {
        throw new AssemblyError(`stack ${id} has no concrete region (environment ${artifact.environment})`);
      }
      stacks.push({
        stackName: artifact.properties.stackName ?? id,
        region,
        templatePath: join(assemblyDir, artifact.properties.templateFile),
        account: account === undefined || account === 'unknown-account' ? LOCAL_ACCOUNT : account,
      });
    } else if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName !== undefined) {
      stacks.push(...readAssemblyStacks(join(assemblyDir, artifact.properties.directoryName)));
    }
  }
  return stacks;
}

/** How long a stopped cdk process tree gets after SIGTERM before SIGKILL. */
const KILL_AFTER_MS = 5000;

/**
 * The cdk CLI that `projectDir` installs, run with this Node (no `npx`: a second faster, and outside a project
 * npx would look for cdk in the registry); `npx cdk` where the project does not install it.
 */
function cdkCommand(projectDir: string): { file: string; args: string[] } {
  try {
    return { file: process.execPath, args: [require.resolve('aws-cdk/bin/cdk', { paths: [projectDir] })] };
  } catch {
    return { file: 'npx', args: ['cdk'] };
  }
}

/**
 * Runs the cdk CLI in a process group of its own (cdk, the app's synth, esbuild), so that `signal` can stop the
 * whole tree, and a terminal's Ctrl-C reaches this process only, which stops it in order. The CLI is the one
 * `projectDir` (default: `cwd`) installs.
 */
function runCdk(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  signal?: AbortSignal,
  projectDir = cwd,
): Promise<void> {
  const command = `npx cdk ${args.join(' ')}`;
  if (signal?.aborted) return Promise.reject(new DeployAbortedError());
  const cdk = cdkCommand(projectDir);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cdk.file, [...cdk.args, ...args], {
      cwd,
      detached: true,
      env: { ...env, CI: 'true', FORCE_COLOR: '0', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    const killGroup = (sig: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        // Already gone.
      }
    };
    // If this process exits anyway (an uncaught error), take the tree down with it ('exit' handlers are sync).
    const onExit = (): void => killGroup('SIGKILL');
    process.once('exit', onExit);
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_AFTER_MS);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.once('close', () => {
      process.removeListener('exit', onExit);
      signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      // What the CLI left behind in its group (a grandchild that outlived it) goes too.
      killGroup('SIGKILL');
    });
    const tail: string[] = [];
    const onLine = (line: string): void => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      log(line);
    };
    lineSplitter(child.stdout, onLine);
    lineSplitter(child.stderr, onLine);
    child.once('error', (err) => reject(new DeployError(command, null, `${tail.join('\n')}\n${err.message}`)));
    child.once('close', (code) => {
      if (signal?.aborted) reject(new DeployAbortedError());
      else if (code === 0) resolvePromise();
      else reject(new DeployError(command, code, tail.join('\n')));
    });
  });
}

function lineSplitter(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    const lines = buffer.split(/\r?\n/);
    buffer = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') onLine(line);
  });
  stream.on('end', () => {
    if (buffer.trim() !== '') onLine(buffer);
  });
}

/** The folder holding a stack's assets (its template's folder). */
export function stackAssetRoot(stack: DeployedStack): string {
  return dirname(stack.templatePath);
}

/**
 * Environment variables with credentials that act in `account` on moto: those of an AssumeRole of a role in
 * that account (moto issues them for any role ARN, and runs their requests in the role's account).
 */
async function motoAccountCredentials(endpoint: string, account: string): Promise<NodeJS.ProcessEnv> {
  const sts = new STSClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${account}:role/replicator-local-deployer`,
        RoleSessionName: 'deploy',
      }),
    );
    const c = out.Credentials!;
    return {
      AWS_ACCESS_KEY_ID: c.AccessKeyId,
      AWS_SECRET_ACCESS_KEY: c.SecretAccessKey,
      AWS_SESSION_TOKEN: c.SessionToken,
      CDK_DEFAULT_ACCOUNT: account,
    };
  } finally {
    sts.destroy();
  }
}
