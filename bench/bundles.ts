/**
 * Bundle benchmark (`npm run bench -- bundles`; no cloud). Every handler entry the stacks deploy (each pair
 * type's `handlers`, lib/pair-types) is bundled with esbuild's API under exactly the options the stacks give
 * CDK ({@link REPLICATOR_BUNDLING}, mapped as CDK maps them to esbuild's flags), into a temporary folder. For
 * each function it prints:
 * - bytes of the bundle and of its source map;
 * - module init: the median, over `BENCH_BUNDLE_ROUNDS` paired rounds, of one `node -e "require('<bundle>')"`
 *   under the functions' NODE_OPTIONS (`--enable-source-maps`) minus one `node -e 0` run beside it (alternately
 *   first and second), both with a Lambda-like environment (the variables the handlers read at init); and the
 *   ratio of the two runs' medians. This machine's Node.js, not Lambda's 24: ratios, not milliseconds, carry;
 * - the same for the bundles as they were before issue 13's trim: the handlers of {@link BASE_COMMIT} (extracted
 *   with `git archive`, resolving packages from this checkout's node_modules) under that commit's options
 *   ({@link BASE_BUNDLING}), timed in the same rounds;
 * - the bytes of each bundle with the runtime's own SDK instead (`@aws-sdk/*` and `@smithy/*` external), which
 *   cannot be timed here: the runtime's SDK is not on this machine;
 * - the packages that make up the biggest bundle (esbuild's metafile).
 *
 * Settings (environment variables): BENCH_BUNDLE_ROUNDS (paired rounds per bundle, default 15).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { PROJECT_ROOT, REPLICATOR_BUNDLING, REPLICATOR_NODE_OPTIONS } from '../lib/constructs/replicator-function';
import { PAIR_TYPES } from '../lib/pair-types/registry';
import { envNumber, markdownTable, median, nowMs, num, ratio, runEnvironment, writeResults } from './common';

/** The last commit before the trim (zod classic, every SDK client in capture, target node22, CommonJS SDK). */
export const BASE_COMMIT = 'ec7f046d12ccc0c27907f600d4bd36c13c94ec1d';

/** The bundling options of {@link BASE_COMMIT}'s ReplicatorFunction, as they were written there. */
export const BASE_BUNDLING: BundlingOptions = {
  minify: true,
  sourceMap: true,
  target: 'node22',
  externalModules: [],
};

/** The SDK left to the runtime: what NodejsFunction's default (`@aws-sdk/*`) and the SDK's own `@smithy/*` drop. */
const RUNTIME_SDK_EXTERNALS = ['@aws-sdk/*', '@smithy/*'];

/** The options this benchmark maps; any other set on a BundlingOptions is an error, so the mapping cannot drift. */
const MAPPED = new Set(['minify', 'sourceMap', 'sourcesContent', 'target', 'mainFields', 'externalModules', 'format']);

/**
 * esbuild's build options for a CDK BundlingOptions, as NodejsFunction passes them to esbuild's CLI
 * (aws-cdk-lib/aws-lambda-nodejs bundling.ts): `--bundle --platform=node`, the format only when given (esbuild's
 * default for node is CommonJS), `--sourcemap` (a linked `.map`) for sourceMap, `--sources-content=false` only
 * when asked, `--main-fields` only when given, and CDK's own default externals (`@aws-sdk/*`) when none are.
 */
export function esbuildOptions(bundling: BundlingOptions): BuildOptions {
  const unmapped = Object.entries(bundling).filter(([k, v]) => v !== undefined && !MAPPED.has(k));
  if (unmapped.length > 0) {
    throw new Error(`bench/bundles.ts does not map the bundling options ${unmapped.map(([k]) => k).join(', ')}`);
  }
  if (!bundling.target) throw new Error('the bundling options must name their target (CDK derives it otherwise)');
  if (bundling.sourceMapMode) throw new Error('sourceMapMode is not mapped');
  // An ESM bundle (index.mjs) could not be timed by require().
  if (bundling.format !== undefined && bundling.format !== 'cjs') throw new Error('only CommonJS bundles are timed');
  return {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    minify: bundling.minify ?? false,
    sourcemap: bundling.sourceMap ?? false,
    sourcesContent: bundling.sourcesContent ?? true,
    target: bundling.target,
    ...(bundling.mainFields ? { mainFields: bundling.mainFields } : {}),
    external: bundling.externalModules ?? ['@aws-sdk/*'],
    metafile: true,
    logLevel: 'warning',
  };
}

/** One handler to bundle: its function (`dynamodb/capture`) and its entry relative to the project root. */
interface Handler {
  readonly name: string;
  readonly entry: string;
}

/** Every handler entry the stacks deploy, from each pair type's module. */
function handlers(): Handler[] {
  return Object.entries(PAIR_TYPES).flatMap(([type, module]) =>
    Object.entries(module.handlers).map(([fn, entry]) => ({
      name: `${type}/${fn}`,
      entry: relative(PROJECT_ROOT, entry),
    })),
  );
}

/** A bundle on disk and what esbuild says it holds. */
interface Bundle {
  readonly file: string;
  readonly bytes: number;
  readonly mapBytes: number;
  readonly metafile: Metafile;
}

async function bundle(root: string, entry: string, outfile: string, options: BuildOptions): Promise<Bundle> {
  const result = await build({
    ...options,
    absWorkingDir: root,
    entryPoints: [join(root, entry)],
    outfile,
    // The base sources are extracted without node_modules: packages resolve from this checkout's.
    nodePaths: [join(PROJECT_ROOT, 'node_modules')],
  });
  return {
    file: outfile,
    bytes: statSync(outfile).size,
    mapBytes: options.sourcemap ? statSync(`${outfile}.map`).size : 0,
    metafile: result.metafile!,
  };
}

/** Output bytes by package (`@aws-sdk/client-s3`, `zod`, or the project's own `functions/`). */
export function bytesByPackage(metafile: Metafile): { package: string; bytes: number }[] {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      // The last node_modules/ of the path: a package nested in another's is counted as itself.
      const m = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const name = m ? m[1]! : input.startsWith('functions/') ? 'functions/ (Replicator)' : input;
      totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...totals].map(([p, bytes]) => ({ package: p, bytes })).sort((a, b) => b.bytes - a.bytes);
}

/**
 * What Lambda gives a function at init, plus every variable any handler requires (a superset: each reads its
 * own). The SDK's warning about Node.js < 22 is off: Lambda runs these on Node.js 24, where it is not printed.
 */
function lambdaEnvironment(): Record<string, string> {
  const targets = [{ id: 'eu-west-1/orders', region: 'eu-west-1', table: 'orders', bucket: 'datasets-eu' }];
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_SESSION_TOKEN: 'token',
    AWS_LAMBDA_FUNCTION_NAME: 'replicator-bench',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_SERVICE_NAME: 'replicator-bench',
    POWERTOOLS_METRICS_NAMESPACE: 'Replicator',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    PAIR_NAME: 'orders',
    ORIGIN_REGION: 'us-east-1',
    SOURCE_REGION: 'us-east-1',
    SOURCE_TABLE: 'orders',
    SOURCE_BUCKET: 'datasets',
    TARGETS: JSON.stringify(targets),
    QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/replicator-orders',
    DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/replicator-orders-dlq',
    BACKFILL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/replicator-orders-backfill',
    STATE_TABLE: 'replicator-state',
  };
}

/**
 * Wall time of one node process in ms. A failing run is an error (an init that throws is no init time), and so
 * is one that writes to stderr (a warning's cost is not the bundle's).
 */
function timeNode(args: readonly string[], env: Record<string, string>): number {
  const start = nowMs();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const elapsed = nowMs() - start;
  const command = `${env.NODE_OPTIONS ? `NODE_OPTIONS=${env.NODE_OPTIONS} ` : ''}node ${args.join(' ')}`;
  if (r.status !== 0) throw new Error(`${command} exited with ${r.status}: ${r.stderr}`);
  if (r.stderr.trim() !== '') throw new Error(`${command} wrote to stderr: ${r.stderr}`);
  return elapsed;
}

/** Module init of bundles against `node -e 0`, each run paired with a baseline run beside it. */
interface InitTime {
  /** Median of (bundle run − its paired `node -e 0` run), ms. */
  readonly initMs: number;
  /** Median of the bundle's runs ÷ median of their paired baseline runs. */
  readonly ratio: number;
  readonly bundleMedianMs: number;
  readonly baselineMedianMs: number;
}

/**
 * Times every bundle in the same rounds: each round runs each bundle once with a `node -e 0` beside it, the
 * baseline first in even pairs and second in odd ones, so drift over the run falls on both alike.
 */
function timeInits(files: readonly string[], rounds: number): { times: InitTime[]; baselineMs: number } {
  const env = lambdaEnvironment();
  // The bundle runs with the functions' NODE_OPTIONS, as Lambda starts them; the baseline without.
  const baseline = () => timeNode(['-e', '0'], env);
  const load = (file: string) =>
    timeNode(['-e', `require(${JSON.stringify(file)})`], { ...env, NODE_OPTIONS: REPLICATOR_NODE_OPTIONS });
  // One unmeasured run of each: files into the page cache, errors before the rounds rather than in them.
  baseline();
  for (const file of files) load(file);
  const samples = files.map(() => ({ bundle: [] as number[], base: [] as number[], diff: [] as number[] }));
  for (let round = 0; round < rounds; round++) {
    files.forEach((file, i) => {
      let base: number;
      let run: number;
      if ((round + i) % 2 === 0) {
        base = baseline();
        run = load(file);
      } else {
        run = load(file);
        base = baseline();
      }
      samples[i]!.bundle.push(run);
      samples[i]!.base.push(base);
      samples[i]!.diff.push(run - base);
    });
    process.stdout.write(`\r  round ${round + 1}/${rounds}`);
  }
  process.stdout.write('\n');
  const times = samples.map((s) => ({
    initMs: median(s.diff),
    ratio: median(s.bundle) / median(s.base),
    bundleMedianMs: median(s.bundle),
    baselineMedianMs: median(s.base),
  }));
  return { times, baselineMs: median(samples.flatMap((s) => s.base)) };
}

function kb(bytes: number): string {
  return `${num(bytes / 1000, 0)} kB`;
}

/** Runs the benchmark, prints its tables and writes `bench/results/bundles.json`. */
export async function runBundlesBenchmark(): Promise<void> {
  const rounds = Math.round(envNumber('BENCH_BUNDLE_ROUNDS', 15));
  const print = (line = '') => console.log(line);
  const work = mkdtempSync(join(tmpdir(), 'replicator-bundles-'));
  try {
    const baseRoot = join(work, 'base');
    mkdirSync(baseRoot);
    // The base commit's handlers and tsconfig (esbuild reads it), without touching this checkout's git state.
    const archive = execFileSync('git', ['archive', BASE_COMMIT, 'functions', 'tsconfig.json'], {
      cwd: PROJECT_ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });
    execFileSync('tar', ['-x', '-C', baseRoot], { input: archive });

    const list = handlers();
    const outName = (h: Handler, kind: string) => join(work, kind, `${h.name.replace('/', '-')}.js`);
    const rows: {
      handler: Handler;
      before: Bundle;
      after: Bundle;
      runtimeSdk: Bundle;
    }[] = [];
    for (const h of list) {
      rows.push({
        handler: h,
        before: await bundle(baseRoot, h.entry, outName(h, 'before'), esbuildOptions(BASE_BUNDLING)),
        after: await bundle(PROJECT_ROOT, h.entry, outName(h, 'after'), esbuildOptions(REPLICATOR_BUNDLING)),
        runtimeSdk: await bundle(
          PROJECT_ROOT,
          h.entry,
          outName(h, 'runtime-sdk'),
          esbuildOptions({ ...REPLICATOR_BUNDLING, externalModules: RUNTIME_SDK_EXTERNALS }),
        ),
      });
    }

    print(`timing module init: ${rounds} paired rounds of ${rows.length * 2} bundles against node -e 0`);
    const files = rows.flatMap((r) => [r.before.file, r.after.file]);
    const { times, baselineMs } = timeInits(files, rounds);
    const timed = rows.map((r, i) => ({ ...r, beforeInit: times[2 * i]!, afterInit: times[2 * i + 1]! }));

    print(`\nnode -e 0: ${num(baselineMs, 1)} ms (median of every paired baseline run)`);
    print(
      markdownTable(
        [
          'function',
          'bytes before → after',
          'source map before → after',
          'init before → after (ms over node -e 0)',
          'run ÷ node -e 0 before → after',
          'runtime SDK bytes',
        ],
        timed.map((r) => [
          r.handler.name,
          `${kb(r.before.bytes)} → ${kb(r.after.bytes)}`,
          `${kb(r.before.mapBytes)} → ${kb(r.after.mapBytes)}`,
          `${num(r.beforeInit.initMs, 0)} → ${num(r.afterInit.initMs, 0)}`,
          `${ratio(r.beforeInit.ratio)} → ${ratio(r.afterInit.ratio)}`,
          kb(r.runtimeSdk.bytes),
        ]),
      ),
    );
    print(
      `kB: 1,000 bytes. runtime SDK: ${RUNTIME_SDK_EXTERNALS.join(' and ')} external; not timed (the runtime's SDK is not on this machine).`,
    );

    const biggest = timed.reduce((a, b) => (b.after.bytes > a.after.bytes ? b : a));
    const packages = bytesByPackage(biggest.after.metafile);
    print(`\nbiggest bundle: ${biggest.handler.name} (${kb(biggest.after.bytes)}), bytes by package:`);
    print(
      markdownTable(
        ['package', 'bytes', 'share'],
        packages.slice(0, 15).map((p) => [p.package, kb(p.bytes), `${num((100 * p.bytes) / biggest.after.bytes, 0)}%`]),
      ),
    );

    const figures = (b: Bundle) => ({ bytes: b.bytes, mapBytes: b.mapBytes });
    const results = {
      benchmark: 'bundles',
      ...runEnvironment(),
      settings: {
        rounds,
        baseCommit: BASE_COMMIT,
        before: BASE_BUNDLING,
        after: REPLICATOR_BUNDLING,
        nodeOptions: REPLICATOR_NODE_OPTIONS,
        runtimeSdkExternals: RUNTIME_SDK_EXTERNALS,
      },
      nodeBaselineMs: baselineMs,
      functions: timed.map((r) => ({
        function: r.handler.name,
        entry: r.handler.entry,
        before: { ...figures(r.before), ...r.beforeInit },
        after: { ...figures(r.after), ...r.afterInit },
        // Its init is not measured: the runtime's SDK is not on this machine.
        runtimeSdk: figures(r.runtimeSdk),
      })),
      biggest: { function: biggest.handler.name, bytes: biggest.after.bytes, packages: packages.slice(0, 25) },
    };
    print(`\nresults written to ${writeResults('bundles', results)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
