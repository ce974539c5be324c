/**
 * The local-cloud half of the DynamoDB benchmark: one moto, the app deployed for bench/bench.config.json
 * (pair "bench": us-east-1 → eu-west-1 + ap-northeast-1), the local runtime running the deployed bundles.
 *
 * - steady phase: the workload offered at a fixed rate, then drained until the queue is empty and every
 *   target equals the source;
 * - burst phase: as many writes as fast as the writer goes (16 in flight), drained the same way;
 * - baseline: the replicator's own guarded conditional PutItem straight into moto, from 1 and 8 callers.
 *
 * moto's SQS slows with queue depth (each send/receive walks the queue), so local items/s are a property of
 * moto; the portable figure is AWS requests per item, counted by the proxy that the runtime talks through.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { pairResourceNames } from '../functions/contract';
import { fromSdkMap } from '../functions/dynamodb/attributes';
import { DynamoTargetStore } from '../functions/dynamodb/store';
import { streamVersion } from '../functions/engine/version';
import { type DynamoPairConfig, targetId } from '../lib/config';
import { localDynamo, queueDepth } from '../src/cli/aws';
import { type LocalCloud, startLocalCloud } from '../src/cli/local-cloud';
import { keySchemaOf, verifyTablePair as verifyPair } from '../src/cli/pair-types/dynamodb';
import { converged, type TableDiff } from '../src/cli/pair-types/dynamodb-verify';
import { applyOp, type KeyAttribute, makeWorkload, type WorkloadOp } from '../src/cli/pair-types/dynamodb-workload';
import { quantile } from '../src/cli/table';
import { runAtRate } from '../src/cli/workload';
import type { Hop } from '../src/local/hops';
import { perSecond, sleep } from './common';

/** Settings of the local part. */
export interface LocalSettings {
  readonly configPath: string;
  /** The pairs' `options.batchWindowSeconds` for this run. @default - the config's (or its default) */
  readonly batchWindowSeconds?: number;
  /** Offered rates of the steady phases (one phase each: the lag curve), source writes/s. */
  readonly rates: readonly number[];
  /** Length of each steady phase's writing, s. */
  readonly seconds: number;
  /** Writes of the burst phase. */
  readonly burst: number;
  /** Writes in flight at most while bursting. */
  readonly burstInFlight: number;
  /** Items per baseline run (1 caller, then 8 callers). */
  readonly rawItems: number;
  /** Concurrent callers of the second baseline run. */
  readonly rawCallers: number;
  /** How long a phase may take to converge after its last write, s. */
  readonly drainTimeoutSeconds: number;
}

/** Figures of one phase. */
export interface PhaseResult {
  readonly phase: string;
  readonly offeredRate: number | null;
  readonly sourceWrites: number;
  readonly writeSeconds: number;
  /** Achieved source write rate (writes/s). */
  readonly writeRate: number;
  /** Sum over targets of ReplicatedItems + StaleSkipped. */
  readonly targetApplies: number;
  readonly perTarget: {
    target: string;
    replicatedItems: number;
    staleSkipped: number;
    applyErrors: number;
    lagP50Ms: number;
    lagP99Ms: number;
    matched: number;
    missing: number;
    extra: number;
    different: number;
  }[];
  /** First source write → last apply metric seen, s. */
  readonly firstWriteToLastApplySeconds: number | null;
  /** targetApplies ÷ (last apply − first write). */
  readonly targetAppliesPerSecond: number;
  /** sourceWrites ÷ (last apply − first write): source writes that reached every target, per second. */
  readonly sourceWritesReplicatedPerSecond: number;
  /** First source write → queue empty and every target verified equal, s (1 s polling + scan included). */
  readonly timeToConvergeSeconds: number | null;
  readonly converged: boolean;
  /** ReplicationLatency (source write → applied; the stream's timestamps have 1 s resolution). */
  readonly lagP50Ms: number;
  readonly lagP99Ms: number;
  /** DeliveryLatency (capture → applied, ms resolution). */
  readonly deliveryP50Ms: number;
  readonly deliveryP99Ms: number;
  /**
   * Where a change waited, hop by hop, as the runtime's pollers saw it (src/local/hops.ts): capture's stream,
   * window and invoke, then apply's queue, window and invoke; p50/p99 per record, ms.
   */
  readonly hops: {
    readonly stage: 'capture' | 'apply';
    readonly hop: Hop;
    readonly p50: number;
    readonly p99: number;
  }[];
  readonly peakQueueDepth: number;
  readonly dlqDepth: number;
  readonly deadLettered: number;
  readonly requests: number;
  readonly requestsPerSourceWrite: number;
  readonly requestsPerTargetApply: number;
  /** (source writes + counted requests) ÷ time to converge: the load moto carried (sampling/verify excluded). */
  readonly motoRequestsPerSecond: number;
  readonly requestCounts: Record<string, number>;
  /** Queue depth and applies, once a second. */
  readonly samples: { t: number; queueDepth: number; targetApplies: number; written: number }[];
}

/** Figures of one raw PutItem run. */
export interface RawPutResult {
  readonly callers: number;
  readonly items: number;
  readonly seconds: number;
  readonly itemsPerSecond: number;
}

/** What the local part found. */
export interface LocalResult {
  readonly settings: LocalSettings;
  readonly deploySeconds: number;
  readonly phases: PhaseResult[];
  readonly baseline: RawPutResult[];
  /** Per phase: target applies/s ÷ raw conditional PutItem items/s, for each baseline run. */
  readonly ratios: { phase: string; vsCallers: number; ratio: number }[];
}

const APPLY_METRICS = new Set(['ReplicatedItems', 'StaleSkipped']);

/** Whether an EMF record carries apply counts. */
function hasApplyMetric(emf: unknown): boolean {
  const directives = (emf as { _aws?: { CloudWatchMetrics?: { Metrics?: { Name: string }[] }[] } })?._aws
    ?.CloudWatchMetrics;
  return (directives ?? []).some((d) => (d.Metrics ?? []).some((m) => APPLY_METRICS.has(m.Name)));
}

/** Gives each op's partition key a prefix, so that phases write disjoint keys. */
function withKeyPrefix(ops: readonly WorkloadOp[], prefix: string, pk: string): WorkloadOp[] {
  const fix = <T extends Record<string, unknown>>(m: T): T => {
    const v = m[pk] as { S?: string } | undefined;
    return v?.S === undefined ? m : { ...m, [pk]: { S: `${prefix}${v.S}` } };
  };
  return ops.map((op) => (op.kind === 'put' ? { ...op, item: fix(op.item) } : { ...op, key: fix(op.key) }));
}

/** Watches when the handlers report applies (the collector keeps values, not times). */
class ApplyClock {
  first: number | null = null;
  last: number | null = null;
  constructor(cloud: LocalCloud) {
    const collector = cloud.metrics;
    const add = collector.add.bind(collector);
    collector.add = (emf: unknown) => {
      add(emf);
      if (hasApplyMetric(emf)) {
        const t = Date.now();
        this.first ??= t;
        this.last = t;
      }
    };
  }
  reset(): void {
    this.first = null;
    this.last = null;
  }
}

interface PhaseContext {
  readonly cloud: LocalCloud;
  readonly pair: DynamoPairConfig;
  readonly keys: KeyAttribute[];
  readonly src: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly clock: ApplyClock;
  readonly settings: LocalSettings;
  readonly print: (line: string) => void;
}

function targetApplies(ctx: PhaseContext): number {
  const where = { Pair: ctx.pair.name };
  return ctx.cloud.metrics.sum('ReplicatedItems', where) + ctx.cloud.metrics.sum('StaleSkipped', where);
}

async function runPhase(
  ctx: PhaseContext,
  phase: string,
  ops: readonly WorkloadOp[],
  rate: number,
  maxInFlight: number,
): Promise<PhaseResult> {
  const { cloud, pair, print } = ctx;
  const names = pairResourceNames(pair.name);
  const offered = Number.isFinite(rate) ? `${rate}/s` : `as fast as possible (${maxInFlight} in flight)`;
  print(`[${phase}] ${ops.length} source writes, offered ${offered} ...`);
  cloud.metrics.clear();
  cloud.resetRequestCounts();
  cloud.runtime.hops.reset();
  ctx.clock.reset();

  const start = Date.now();
  let written = 0;
  let peak = 0;
  const samples: PhaseResult['samples'] = [];
  let sampling = true;
  const sampler = (async () => {
    for (let tick = 1; sampling; tick++) {
      await sleep(Math.max(0, start + tick * 1000 - Date.now()));
      if (!sampling) break;
      try {
        const { depth } = await queueDepth(ctx.sqs, names.queue);
        peak = Math.max(peak, depth);
        const applies = targetApplies(ctx);
        const t = (Date.now() - start) / 1000;
        samples.push({ t: +t.toFixed(1), queueDepth: depth, targetApplies: applies, written });
        if (tick % 5 === 0) {
          print(
            `  ${t.toFixed(0).padStart(4)} s  written ${written}/${ops.length}  applied ${applies}  queue ${depth}`,
          );
        }
      } catch {
        // A missed sample is not worth failing the benchmark for.
      }
    }
  })();

  let writeMs = 0;
  let convergedAt: number | null = null;
  let diffs = new Map<string, TableDiff>();
  try {
    writeMs = await runAtRate(ops, rate, (op) => applyOp(ctx.src, pair.source.table, op), {
      maxInFlight,
      onDone: (n) => {
        written = n;
      },
    });
    print(`  writes done in ${(writeMs / 1000).toFixed(1)} s; draining ...`);
    const deadline = Date.now() + ctx.settings.drainTimeoutSeconds * 1000;
    while (Date.now() < deadline) {
      if ((await queueDepth(ctx.sqs, names.queue)).depth === 0) {
        diffs = await verifyPair(cloud, pair);
        if ([...diffs.values()].every(converged)) {
          convergedAt = Date.now();
          break;
        }
      }
      await sleep(1000);
    }
  } finally {
    sampling = false;
    await sampler;
  }
  const counts = cloud.requestCounts();
  // The last invocation's metrics may land just after its writes were seen: let them settle (≤ 5 s).
  for (let i = 0, seen = targetApplies(ctx); i < 5; i++) {
    await sleep(1000);
    if (targetApplies(ctx) === seen) break;
    seen = targetApplies(ctx);
  }
  if (convergedAt === null) {
    print(`  NOT converged ${ctx.settings.drainTimeoutSeconds} s after the last write`);
    diffs = await verifyPair(cloud, pair);
  }
  const dlqDepth = (await queueDepth(ctx.sqs, names.deadLetterQueue)).depth;

  const m = cloud.metrics;
  const stageOf = new Map([
    [names.captureFunction, 'capture' as const],
    [names.applyFunction, 'apply' as const],
  ]);
  const order: Hop[] = ['stream', 'queue', 'window', 'invoke'];
  const hops = cloud.runtime.hops
    .summary()
    .flatMap((h) => {
      const stage = stageOf.get(h.fn);
      return stage ? [{ stage, hop: h.hop, p50: h.p50, p99: h.p99 }] : [];
    })
    // In the order a change passes them: capture's hops, then apply's.
    .sort((a, b) =>
      a.stage === b.stage ? order.indexOf(a.hop) - order.indexOf(b.hop) : a.stage === 'capture' ? -1 : 1,
    );
  const requests = Object.values(counts).reduce((s, n) => s + n, 0);
  const applies = targetApplies(ctx);
  const spanMs = ctx.clock.last !== null ? ctx.clock.last - start : null;
  const lags = m.values('ReplicationLatency', { Pair: pair.name });
  const deliveries = m.values('DeliveryLatency', { Pair: pair.name });
  const perTarget = pair.targets.map((t) => {
    const where = { Pair: pair.name, Target: targetId(pair, t) };
    const d = diffs.get(targetId(pair, t));
    const tl = m.values('ReplicationLatency', where);
    return {
      target: targetId(pair, t),
      replicatedItems: m.sum('ReplicatedItems', where),
      staleSkipped: m.sum('StaleSkipped', where),
      applyErrors: m.sum('ApplyErrors', where),
      lagP50Ms: quantile(tl, 0.5),
      lagP99Ms: quantile(tl, 0.99),
      matched: d?.matched ?? 0,
      missing: d?.missing.length ?? 0,
      extra: d?.extra.length ?? 0,
      different: d?.different.length ?? 0,
    };
  });
  return {
    phase,
    offeredRate: Number.isFinite(rate) ? rate : null,
    sourceWrites: ops.length,
    writeSeconds: writeMs / 1000,
    writeRate: perSecond(ops.length, writeMs),
    targetApplies: applies,
    perTarget,
    firstWriteToLastApplySeconds: spanMs === null ? null : spanMs / 1000,
    targetAppliesPerSecond: spanMs === null ? Number.NaN : perSecond(applies, spanMs),
    sourceWritesReplicatedPerSecond: spanMs === null ? Number.NaN : perSecond(ops.length, spanMs),
    timeToConvergeSeconds: convergedAt === null ? null : (convergedAt - start) / 1000,
    converged: convergedAt !== null,
    lagP50Ms: quantile(lags, 0.5),
    lagP99Ms: quantile(lags, 0.99),
    deliveryP50Ms: quantile(deliveries, 0.5),
    deliveryP99Ms: quantile(deliveries, 0.99),
    hops,
    peakQueueDepth: peak,
    dlqDepth,
    deadLettered: m.sum('DeadLettered', { Pair: pair.name }),
    requests,
    requestsPerSourceWrite: requests / Math.max(1, ops.length),
    requestsPerTargetApply: requests / Math.max(1, applies),
    motoRequestsPerSecond: convergedAt === null ? Number.NaN : perSecond(ops.length + requests, convergedAt - start),
    requestCounts: Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1])),
    samples,
  };
}

/**
 * Baseline: the apply path's own version-guarded conditional PutItem (DynamoTargetStore.putIfNewer),
 * straight into moto (not through the counting proxy), into a fresh table in the source region.
 */
async function rawPutItem(
  client: DynamoDBClient,
  table: string,
  keys: KeyAttribute[],
  items: number,
  callers: number,
): Promise<RawPutResult> {
  const store = new DynamoTargetStore(client, table);
  const puts = makeWorkload({ ops: items * 2, keys, keyPool: items * 2, bigItem: false, seed: 11 })
    .filter((op): op is Extract<WorkloadOp, { kind: 'put' }> => op.kind === 'put')
    .slice(0, items);
  const pk = keys[0]!.name;
  const images = puts.map((op, i) => fromSdkMap({ ...op.item, [pk]: { S: `raw${callers}-${i}` } }));
  const keyNames = keys.map((k) => k.name);
  let next = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < images.length) {
        const i = next++;
        const image = images[i]!;
        const key = Object.fromEntries(keyNames.map((n) => [n, image[n]!]));
        await store.putIfNewer(key, image, streamVersion(Date.now() / 1000, String(i + 1)), 'us-east-1');
      }
    }),
  );
  const elapsed = Date.now() - t0;
  return { callers, items: images.length, seconds: elapsed / 1000, itemsPerSecond: perSecond(images.length, elapsed) };
}

/** Runs the local part: starts the local cloud, measures, stops it. */
export async function runLocalBenchmark(settings: LocalSettings, print: (line: string) => void): Promise<LocalResult> {
  const verbose = /^(1|true|yes)$/i.test(process.env.BENCH_VERBOSE ?? '');
  print('starting the local cloud (moto_server, cdk bootstrap + deploy, local runtime) ...');
  const t0 = Date.now();
  // The cloud assembly and moto's log: removed after a clean run, kept (and named) after a failure.
  const workDir = mkdtempSync(join(tmpdir(), 'replicator-bench-'));
  let failed = true;
  let configPath = settings.configPath;
  if (settings.batchWindowSeconds !== undefined) {
    // The same pairs with the batching window asked for, in a config of this run's own.
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as { pairs: { options?: object }[] };
    for (const p of config.pairs) p.options = { ...p.options, batchWindowSeconds: settings.batchWindowSeconds };
    configPath = join(workDir, 'bench.config.json');
    writeFileSync(configPath, JSON.stringify(config));
  }
  const cloud = await startLocalCloud({
    configPath,
    workDir,
    log: (line) => {
      if (verbose || !/^\s+(cdk|λ) \|/.test(line)) print(`  ${line}`);
    },
  }).catch((err: unknown) => {
    print(`the local cloud did not start; work dir (cloud assembly, moto.log) kept in ${workDir}`);
    throw err;
  });
  const deploySeconds = (Date.now() - t0) / 1000;
  try {
    const pair = cloud.config.pairs.find((p): p is DynamoPairConfig => p.type === 'dynamodb');
    if (!pair) throw new Error(`${settings.configPath} has no DynamoDB pair`);
    const region = cloud.config.sourceRegion;
    const src = localDynamo(cloud.endpoint, region);
    const keys = await keySchemaOf(src, pair.source.table);
    const ctx: PhaseContext = {
      cloud,
      pair,
      keys,
      src,
      sqs: new SQSClient({
        region,
        endpoint: cloud.endpoint,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      }),
      clock: new ApplyClock(cloud),
      settings,
      print,
    };

    // Baseline first, while the runtime idles and the queue is empty.
    const rawTable = `${pair.source.table}-raw-putitem`;
    await src.send(
      new CreateTableCommand({
        TableName: rawTable,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: keys.map((k) => ({ AttributeName: k.name, AttributeType: k.type })),
        KeySchema: keys.map((k, i) => ({ AttributeName: k.name, KeyType: i === 0 ? 'HASH' : 'RANGE' })),
      }),
    );
    const baseline: RawPutResult[] = [];
    for (const callers of [1, settings.rawCallers]) {
      print(`[baseline] ${settings.rawItems} conditional PutItem into ${rawTable} from ${callers} caller(s) ...`);
      const r = await rawPutItem(src, rawTable, keys, settings.rawItems, callers);
      print(`  ${r.itemsPerSecond.toFixed(0)} items/s`);
      baseline.push(r);
    }

    const pk = keys[0]!.name;
    const phases: PhaseResult[] = [];
    for (const rate of settings.rates) {
      const steadyOps = withKeyPrefix(
        makeWorkload({ ops: Math.round(rate * settings.seconds), keys, bigItem: false, seed: rate }),
        `steady${rate}-`,
        pk,
      );
      phases.push(await runPhase(ctx, `steady ${rate}/s`, steadyOps, rate, 16));
    }
    const burstOps = withKeyPrefix(makeWorkload({ ops: settings.burst, keys, bigItem: false, seed: 2 }), 'burst-', pk);
    phases.push(await runPhase(ctx, 'burst', burstOps, Number.POSITIVE_INFINITY, settings.burstInFlight));

    const ratios = phases.flatMap((p) =>
      baseline.map((b) => ({
        phase: p.phase,
        vsCallers: b.callers,
        ratio: p.targetAppliesPerSecond / b.itemsPerSecond,
      })),
    );
    failed = false;
    return { settings, deploySeconds, phases, baseline, ratios };
  } finally {
    print('stopping the local cloud ...');
    await cloud.stop();
    if (failed) print(`work dir (cloud assembly, moto.log) kept in ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}
