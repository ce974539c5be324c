/**
 * The whole local cloud in one call: moto (started here, or one given), `cdk bootstrap` + `cdk deploy` of
 * this app for every region of the config, a counting proxy in front of moto, and the local runtime that
 * runs the deployed bundles. `replicator local`, the end-to-end tests and the benchmarks all start it here.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfigFile, type ReplicationConfig, regionsOf } from '../../lib/config';
import { targetAccountEnvironments } from '../../lib/target-accounts';
import { type FaultRule, type RequestObserver, startCountingProxy } from '../local/counting-proxy';
import { DeployAbortedError, type DeployedApp, type DeployProgress, deployApp, environmentKey } from '../local/deploy';
import { LOCAL_ACCOUNT, type MotoServer, motoDetachesEventSourceMappings, startMoto } from '../local/moto';
import { LocalRuntime, type LocalRuntimeOptions } from '../local/runtime';
import type { S3CopyConditions } from '../local/s3-conditions';
import { MetricsCollector } from './metrics-collector';

/** Options of {@link startLocalCloud}. */
export interface LocalCloudOptions {
  /** Path of the replication config to deploy. */
  readonly configPath: string;
  /** Use this endpoint instead of starting moto_server. @default - a new moto_server on a free port */
  readonly endpoint?: string;
  /** Project root (where cdk.json is). @default - the repository this file belongs to */
  readonly projectDir?: string;
  /** Where the cloud assembly and moto's log go. @default - `<projectDir>/.local/moto-<pid>-<time>` */
  readonly workDir?: string;
  /**
   * Keep the default work folder (cloud assembly, moto's log) after stop, and remove the folders of earlier
   * runs whose process is gone: `.local/` then holds the latest run. A `workDir` given is never removed.
   * @default false: the folder goes with stop()
   */
  readonly keepWorkDir?: boolean;
  /** Progress and runtime log lines. @default - discarded */
  readonly log?: (line: string) => void;
  /** Concurrent SQS pollers per event source mapping (Lambda scales these out). @default 2 */
  readonly sqsWorkersPerMapping?: number;
  /** The deploy's progress (stack, resources done of total). */
  readonly onDeployProgress?: (p: DeployProgress) => void;
  /**
   * The copy conditions stock moto ignores: checked as S3 does (`enforce`: by moto itself, through the hook
   * `startMoto` gives it), or dropped before moto sees them (`pass`: a create-only copy then overwrites, as no
   * AWS region would). @default 'enforce'
   */
  readonly s3CopyConditions?: S3CopyConditions;
  /**
   * Aborting stops whatever phase runs (the cdk process trees of a deploy included), cleans up what was
   * started (moto too) and rejects with a {@link DeployAbortedError}.
   */
  readonly signal?: AbortSignal;
}

/** A running local cloud. */
export interface LocalCloud {
  readonly config: ReplicationConfig;
  /** moto's endpoint: for clients whose requests should not be counted (workloads, verification). */
  readonly endpoint: string;
  /** The counting proxy's endpoint, which the runtime and the handlers use. */
  readonly countedEndpoint: string;
  readonly deployed: DeployedApp;
  readonly runtime: LocalRuntime;
  /** Every metric the handlers emitted. */
  readonly metrics: MetricsCollector;
  /** AWS requests made through the proxy, by `service:Action`. */
  requestCounts(): Record<string, number>;
  /** Starts counting requests from zero. */
  resetRequestCounts(): void;
  /**
   * Injects faults into the handlers' and the runtime's requests (what passes the counting proxy): resets,
   * error responses in each protocol's shape, delays, chosen per request by its service and region.
   * `undefined` stops injecting. For chaos tests; the workload and the verifiers talk to moto directly.
   */
  setFaults(rule: FaultRule | undefined): void;
  /** Faults injected so far, by kind. */
  faultCounts(): Record<string, number>;
  /**
   * Shows every request of the handlers and the runtime (what passes the counting proxy), once answered, to
   * `observer`; `undefined` stops. Each function signs with an access key of its own (`localAccessKeyId`).
   */
  observeRequests(observer: RequestObserver | undefined): void;
  /**
   * Deploys the config at `configPath` over the running one, as `cdk deploy` of a changed config does (stacks
   * updated in place, a new target's stack created), then runs the new bundles in place of the old: the
   * runtime stops once the deploy is done and a new one starts on the new cloud assembly. `config`,
   * `deployed` and `runtime` then answer for the new deploy.
   */
  redeploy(configPath: string): Promise<void>;
  /** Stops the runtime, the proxy and the moto_server it started (in that order). */
  stop(): Promise<void>;
}

/** The repository root (two levels above src/cli). */
export const PROJECT_DIR = resolve(__dirname, '..', '..');

/** Starts moto (unless given), deploys the app for every region of the config, and starts the runtime. */
export async function startLocalCloud(opts: LocalCloudOptions): Promise<LocalCloud> {
  const log = opts.log ?? (() => undefined);
  const projectDir = opts.projectDir ?? PROJECT_DIR;
  const configPath = resolve(opts.configPath);
  const config = loadConfigFile(configPath);
  let moto: MotoServer | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        log(`cleanup failed: ${(err as Error).message}`);
      }
    }
    cleanups.length = 0;
  };
  try {
    let endpoint = opts.endpoint;
    let workDir = opts.workDir;
    if (!endpoint) {
      if (opts.keepWorkDir) pruneEarlierRuns(join(projectDir, '.local'));
      const tmpWork = workDir ?? join(projectDir, '.local', `moto-${process.pid}-${Date.now()}`);
      mkdirSync(tmpWork, { recursive: true });
      if (workDir === undefined && !opts.keepWorkDir) {
        cleanups.push(async () => rmSync(tmpWork, { recursive: true, force: true }));
      }
      moto = await startMoto({ logFile: join(tmpWork, 'moto.log') });
      cleanups.push(() => moto!.stop());
      if (opts.signal?.aborted) throw new DeployAbortedError();
      endpoint = moto.endpoint;
      workDir = tmpWork;
      log(`moto_server started on ${endpoint} (pid ${moto.pid})`);
    }
    if (opts.endpoint) await checkEndpoint(opts.endpoint);
    if (workDir === undefined) {
      const own = join(projectDir, '.local', `endpoint-${process.pid}-${Date.now()}`);
      if (!opts.keepWorkDir) cleanups.push(async () => rmSync(own, { recursive: true, force: true }));
      workDir = own;
    }
    mkdirSync(workDir, { recursive: true });
    const runDir = workDir;
    // A redeploy bootstraps only the environments new to the app, as a user would before `cdk deploy`.
    const bootstrapped = new Set<string>();
    const deploy = async (path: string, deployConfig: ReplicationConfig, outdir: string): Promise<DeployedApp> => {
      const regions = regionsOf(deployConfig);
      const otherAccounts = targetAccountEnvironments(deployConfig, deployConfig.account ?? LOCAL_ACCOUNT);
      log(
        `cdk bootstrap + deploy for ${regions.join(', ')}${otherAccountsNote(otherAccounts)}: 1-3 minutes (--verbose shows cdk's output) ...`,
      );
      const started = Date.now();
      const deployed = await deployApp({
        endpoint,
        regions,
        otherAccounts,
        cwd: projectDir,
        outdir,
        context: { config: path },
        bootstrapped,
        log: (line) => log(`  cdk | ${line}`),
        onProgress: opts.onDeployProgress,
        signal: opts.signal,
      });
      for (const r of regions) bootstrapped.add(environmentKey({ account: LOCAL_ACCOUNT, region: r }));
      for (const e of otherAccounts) bootstrapped.add(environmentKey(e));
      if (opts.signal?.aborted) throw new DeployAbortedError();
      log(
        `deployed ${deployed.stacks.map((s) => s.stackName).join(', ')} in ${((Date.now() - started) / 1000).toFixed(0)} s`,
      );
      return deployed;
    };
    let current = { config, deployed: await deploy(configPath, config, join(runDir, 'cdk.out')) };

    const proxy = await startCountingProxy(endpoint, { s3CopyConditions: opts.s3CopyConditions ?? 'enforce' });
    cleanups.push(() => proxy.stop());
    const metrics = new MetricsCollector();
    const startRuntime = async (
      deployed: DeployedApp,
      streamPositions?: LocalRuntimeOptions['streamPositions'],
    ): Promise<LocalRuntime> => {
      const started = new LocalRuntime({
        endpoint: proxy.endpoint,
        // Discovery, EMF → PutMetricData and alarm evaluation are CloudWatch's and Lambda's own work in AWS:
        // they go around the counting proxy, so requests-per-write figures count only the handlers' calls.
        controlEndpoint: endpoint,
        assemblyDir: deployed.assemblyDir,
        stacks: deployed.stacks,
        log: (line) => log(`  λ | ${line}`),
        onMetrics: (emf) => metrics.add(emf),
        sqsWorkersPerMapping: opts.sqsWorkersPerMapping,
        streamPositions,
      });
      try {
        await started.start();
      } catch (err) {
        await started.stop();
        throw err;
      }
      return started;
    };
    let runtime = await startRuntime(current.deployed);
    cleanups.push(() => runtime.stop());
    if (opts.signal?.aborted) throw new DeployAbortedError();
    let deploys = 1;
    const redeploy = async (path: string): Promise<void> => {
      const nextPath = resolve(path);
      const next = loadConfigFile(nextPath);
      // As `cdk deploy` on AWS: the stacks update while the functions go on running the code deployed before;
      // then the new code and configuration take over. What the old runtime had not finished waits in its queue
      // (or its stream) for the new one.
      deploys += 1;
      const deployed = await deploy(nextPath, next, join(runDir, `cdk.out-${deploys}`));
      await runtime.stop();
      // Each stream mapping goes on where it stopped, as Lambda's does across an update of its stack.
      runtime = await startRuntime(deployed, runtime.streamPositions());
      current = { config: next, deployed };
    };
    return {
      get config() {
        return current.config;
      },
      endpoint,
      countedEndpoint: proxy.endpoint,
      get deployed() {
        return current.deployed;
      },
      get runtime() {
        return runtime;
      },
      metrics,
      redeploy,
      requestCounts: () => proxy.counts(),
      resetRequestCounts: () => proxy.reset(),
      setFaults: (rule) => proxy.setFaults(rule),
      faultCounts: () => proxy.faultCounts(),
      observeRequests: (observer) => proxy.setObserver(observer),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** ` and account 222222222222 (eu-west-1)` when the config has targets in other accounts. */
function otherAccountsNote(envs: readonly { readonly account: string; readonly region: string }[]): string {
  return envs.length === 0 ? '' : ` and ${envs.map((e) => `account ${e.account} (${e.region})`).join(', ')}`;
}

/** Removes the run folders under `dir` (`moto-<pid>-…`, `endpoint-<pid>-…`) whose process is gone. */
export function pruneEarlierRuns(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = /^(?:moto|endpoint)-(\d+)-\d+$/.exec(name)?.[1];
    if (pid === undefined || processAlive(Number(pid))) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A local cloud that cannot work as given; the message says why and what to do, in a line. */
export class LocalCloudError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalCloudError';
  }
}

/**
 * Fails at once, before any deploy, when the moto_server at `endpoint` would lose the pairs' stream records: a
 * plain moto_server runs DynamoDB and SQS event source mappings itself (and, without Docker, empties the
 * stream while failing to invoke), so the local runtime would find nothing to replicate.
 */
export async function checkEndpoint(endpoint: string): Promise<void> {
  let detached: boolean;
  try {
    detached = await motoDetachesEventSourceMappings(endpoint);
  } catch (err) {
    throw new LocalCloudError(
      `cannot reach a moto_server at ${endpoint} (${(err as Error).message}); start one with "npx replicator moto --port PORT", or leave out --endpoint`,
    );
  }
  if (!detached) {
    throw new LocalCloudError(
      `the moto_server at ${endpoint} runs event source mappings itself and would consume the stream records before Replicator reads them; start it with "npx replicator moto --port PORT" (moto_server with Replicator's hook), or leave out --endpoint`,
    );
  }
}
