/**
 * `replicator local --demo`: writes a workload to every DynamoDB pair's source at a steady rate, shows
 * live progress, waits for the targets to converge, verifies every target item by item and prints a
 * summary table (items, lag p50/p99, AWS requests per item). Succeeds only if every target converged.
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { RunReport, TargetReport } from '../../functions/reconcile/core';
import { type DynamoPairConfig, type S3PairConfig, targetId } from '../../lib/config';
import type { LocalCloud } from './local-cloud';
import { reconcilePair } from './reconcile';
import { compareBuckets } from './s3-verify';
import { applyS3Op, makeS3Workload } from './s3-workload';
import { ms, quantile, renderTable } from './table';
import { compareTables, type TableDiff } from './verify';
import { applyOp, type KeyAttribute, makeWorkload, runAtRate } from './workload';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Writes per pair. @default 1000 */
  readonly ops?: number;
  /** Offered write rate per pair (writes/s). @default 100 */
  readonly rate?: number;
  /** Small objects written per S3 pair (plus a zero-byte and a multipart-sized one). @default 200 */
  readonly s3Objects?: number;
  /** How long to wait for convergence after the last write. @default 180 s */
  readonly timeoutMs?: number;
  /** Output (progress lines and the summary). @default console.log */
  readonly print?: (line: string) => void;
}

/** What verifying one target found (table items or bucket objects). */
export interface TargetDiff {
  readonly checked: number;
  readonly matched: number;
  readonly missing: readonly unknown[];
  readonly extra: readonly unknown[];
  readonly different: readonly unknown[];
}

/** Whether a target equals its source. */
export function isConverged(d: TargetDiff): boolean {
  return d.missing.length === 0 && d.extra.length === 0 && d.different.length === 0;
}

/** The demo's result per target. */
export interface DemoTargetResult {
  readonly pair: string;
  readonly kind: 'items' | 'objects';
  readonly target: string;
  readonly diff: TargetDiff;
  readonly lagP50: number;
  readonly lagP99: number;
  /** This target in the reconcile run after convergence; undefined if the run did not cover it. */
  readonly reconcile: TargetReport | undefined;
}

/** The demo's result. */
export interface DemoResult {
  readonly converged: boolean;
  readonly targets: DemoTargetResult[];
  readonly writes: number;
  readonly requests: number;
  readonly requestsPerWrite: number;
  readonly requestCounts: Record<string, number>;
}

/** A DynamoDB client that talks to the local cloud directly (its requests are not counted). */
export function localDynamo(endpoint: string, region: string): DynamoDBClient {
  return new DynamoDBClient({ region, endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
}

/** Key attributes of a table, from DescribeTable. */
export async function keySchemaOf(client: DynamoDBClient, table: string): Promise<KeyAttribute[]> {
  const t = (await client.send(new DescribeTableCommand({ TableName: table }))).Table;
  const types = new Map((t?.AttributeDefinitions ?? []).map((d) => [d.AttributeName, d.AttributeType]));
  const sorted = [...(t?.KeySchema ?? [])].sort((a) => (a.KeyType === 'HASH' ? -1 : 1));
  return sorted.map((k) => ({ name: k.AttributeName!, type: types.get(k.AttributeName) as KeyAttribute['type'] }));
}

/** Messages in a queue: visible, in flight and delayed. */
export async function queueDepth(sqs: SQSClient, queueName: string): Promise<{ depth: number; url: string }> {
  const url = (await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }))).QueueUrl!;
  const a =
    (
      await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      )
    ).Attributes ?? {};
  const depth =
    Number(a.ApproximateNumberOfMessages ?? 0) +
    Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
  return { depth, url };
}

/** An S3 client that talks to the local cloud directly (path-style: `bucket.localhost` does not resolve). */
export function localS3(endpoint: string, region: string): S3Client {
  return new S3Client({
    region,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}

/** Compares an S3 pair's source bucket with each target bucket, object by object, under the pair's prefix. */
export async function verifyBucketPair(cloud: LocalCloud, pair: S3PairConfig): Promise<Map<string, TargetDiff>> {
  const src = { client: localS3(cloud.endpoint, cloud.config.sourceRegion), bucket: pair.source.bucket };
  const out = new Map<string, TargetDiff>();
  await Promise.all(
    pair.targets.map(async (t) => {
      out.set(
        targetId(t),
        await compareBuckets(src, { client: localS3(cloud.endpoint, t.region), bucket: t.bucket }, pair.prefix ?? ''),
      );
    }),
  );
  return out;
}

/** Compares a pair's source with each of its targets. */
export async function verifyPair(cloud: LocalCloud, pair: DynamoPairConfig): Promise<Map<string, TableDiff>> {
  const src = localDynamo(cloud.endpoint, cloud.config.sourceRegion);
  const keys = (await keySchemaOf(src, pair.source.table)).map((k) => k.name);
  const out = new Map<string, TableDiff>();
  await Promise.all(
    pair.targets.map(async (t) => {
      const diff = await compareTables(
        { client: src, table: pair.source.table },
        { client: localDynamo(cloud.endpoint, t.region), table: t.table },
        keys,
        pair.filter,
      );
      out.set(targetId(t), diff);
    }),
  );
  return out;
}

/** How the demo drives one pair: write its workload, verify its targets. */
interface PairDriver {
  readonly name: string;
  readonly kind: 'items' | 'objects';
  readonly targetIds: string[];
  readonly writes: number;
  write(onDone: () => void): Promise<void>;
  verify(): Promise<Map<string, TargetDiff>>;
}

function drivers(cloud: LocalCloud, nOps: number, rate: number, s3Objects: number): PairDriver[] {
  const src = localDynamo(cloud.endpoint, cloud.config.sourceRegion);
  const s3 = localS3(cloud.endpoint, cloud.config.sourceRegion);
  return cloud.config.pairs.map((p): PairDriver => {
    const targetIds = p.targets.map((t) => targetId(t));
    if (p.type === 'dynamodb') {
      return {
        name: p.name,
        kind: 'items',
        targetIds,
        writes: nOps,
        write: async (onDone) => {
          const ops = makeWorkload({ ops: nOps, keys: await keySchemaOf(src, p.source.table) });
          await runAtRate(ops, rate, (op) => applyOp(src, p.source.table, op), { onDone });
        },
        verify: () => verifyPair(cloud, p),
      };
    }
    const ops = makeS3Workload({ prefix: p.prefix ?? '', objects: s3Objects });
    return {
      name: p.name,
      kind: 'objects',
      targetIds,
      writes: ops.length,
      write: async (onDone) => {
        await runAtRate(ops, rate, (op) => applyS3Op(s3, p.source.bucket, op), { onDone, maxInFlight: 8 });
      },
      verify: () => verifyBucketPair(cloud, p),
    };
  });
}

/** Runs the demo on a started local cloud. */
export async function runDemo(cloud: LocalCloud, opts: DemoOptions = {}): Promise<DemoResult> {
  const print = opts.print ?? ((l: string) => console.log(l));
  const rate = opts.rate ?? 100;
  const pairs = drivers(cloud, opts.ops ?? 1000, rate, opts.s3Objects ?? 200);
  const sqs = new SQSClient({
    region: cloud.config.sourceRegion,
    endpoint: cloud.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });

  cloud.metrics.clear();
  cloud.resetRequestCounts();
  const started = Date.now();
  let written = 0;
  const total = pairs.reduce((s, p) => s + p.writes, 0);
  let maxDepth = 0;
  const progress = async (phase: string) => {
    const parts: string[] = [];
    for (const p of pairs) {
      const { depth } = await queueDepth(sqs, `replicator-${p.name}`);
      const dlq = (await queueDepth(sqs, `replicator-${p.name}-dlq`)).depth;
      maxDepth = Math.max(maxDepth, depth);
      const applied = p.targetIds.map(
        (id) => `${id.split('/')[0]} ${cloud.metrics.sum('ReplicatedItems', { Pair: p.name, Target: id })}`,
      );
      parts.push(`${p.name}: applied [${applied.join(', ')}] queue ${depth} dlq ${dlq}`);
    }
    print(
      `  ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s  ${phase}  written ${written}/${total}  ${parts.join('  ')}`,
    );
  };
  // One progress line at a time: a slow moto must not make lines overlap or come out of order.
  let busy = false;
  const ticker = setInterval(() => {
    if (busy) return;
    busy = true;
    void progress('writing')
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, 1000);
  try {
    print(
      `writing ${total} changes to ${pairs.length} pair(s) (${pairs.map((p) => `${p.name}: ${p.writes} ${p.kind === 'items' ? 'puts/updates/deletes' : 'object puts/overwrites/deletes'}`).join(', ')}) at ${rate}/s per pair ...`,
    );
    await Promise.all(pairs.map((p) => p.write(() => written++)));
  } finally {
    clearInterval(ticker);
  }
  print(
    `all ${total} writes done in ${((Date.now() - started) / 1000).toFixed(1)} s; waiting for the targets to converge ...`,
  );

  const deadline = Date.now() + (opts.timeoutMs ?? 180_000);
  const verifyAll = async () => new Map(await Promise.all(pairs.map(async (p) => [p.name, await p.verify()] as const)));
  let diffs = new Map<string, Map<string, TargetDiff>>();
  let allConverged = false;
  while (Date.now() < deadline) {
    await progress('draining');
    let idle = true;
    for (const p of pairs) if ((await queueDepth(sqs, `replicator-${p.name}`)).depth > 0) idle = false;
    if (idle) {
      diffs = await verifyAll();
      allConverged = [...diffs.values()].every((m) => [...m.values()].every(isConverged));
      if (allConverged) break;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (!allConverged) diffs = await verifyAll();

  const counts = cloud.requestCounts();
  const requests = Object.values(counts).reduce((s, n) => s + n, 0);

  // The reconciler's own verdict, as `replicator reconcile PAIR` gives it (its metrics go to the local cloud):
  // an independent check of the verifier above, by the checksums and listings the scheduled run uses.
  print('reconciling every pair (replicator reconcile) ...');
  const reconciled = new Map<string, RunReport>();
  for (const p of cloud.config.pairs) {
    const r = await reconcilePair({
      pair: p,
      sourceRegion: cloud.config.sourceRegion,
      endpoint: cloud.endpoint,
      readRate: 1000,
    });
    reconciled.set(p.name, r.report);
  }
  const targets: DemoTargetResult[] = pairs.flatMap((p) =>
    p.targetIds.map((id) => {
      const lags = cloud.metrics.values('ReplicationLatency', { Pair: p.name, Target: id });
      return {
        pair: p.name,
        kind: p.kind,
        target: id,
        diff: diffs.get(p.name)!.get(id)!,
        lagP50: quantile(lags, 0.5),
        lagP99: quantile(lags, 0.99),
        reconcile: reconciled.get(p.name)?.targets.find((r) => r.target === id),
      };
    }),
  );
  const consistent = targets.every((t) => t.reconcile !== undefined && t.reconcile.consistencyRatio === 1);
  const result: DemoResult = {
    converged: allConverged && consistent,
    targets,
    writes: total,
    requests,
    requestsPerWrite: requests / Math.max(1, total),
    requestCounts: counts,
  };
  print('');
  print(
    renderTable(
      [
        'pair',
        'target',
        'kind',
        'at source',
        'matched',
        'missing',
        'extra',
        'different',
        'lag p50',
        'lag p99',
        'reconcile',
        'status',
      ],
      targets.map((t) => [
        t.pair,
        t.target,
        t.kind,
        t.diff.checked,
        t.diff.matched,
        t.diff.missing.length,
        t.diff.extra.length,
        t.diff.different.length,
        ms(t.lagP50),
        ms(t.lagP99),
        t.reconcile ? `${t.reconcile.consistencyRatio.toFixed(4)} of ${t.reconcile.checked}` : '-',
        isConverged(t.diff) && t.reconcile?.consistencyRatio === 1 ? 'converged' : 'NOT CONVERGED',
      ]),
    ),
  );
  print('');
  const top = Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([k, n]) => `${k} ${(n / Math.max(1, total)).toFixed(2)}`);
  print(
    `AWS requests by Replicator (capture, apply/copy, runtime polling): ${requests} for ${total} source changes = ${result.requestsPerWrite.toFixed(2)} per change; peak queue depth ${maxDepth}`,
  );
  print(`  per change: ${top.join(', ')}`);
  for (const t of targets) {
    if (isConverged(t.diff)) continue;
    const show = (xs: readonly unknown[]) => JSON.stringify(xs.slice(0, 3));
    print(
      `  ${t.pair} → ${t.target}: missing ${show(t.diff.missing)} extra ${show(t.diff.extra)} different ${show(t.diff.different)}`,
    );
  }
  print(
    result.converged
      ? 'RESULT: every target converged, and reconcile agrees (consistency ratio 1.0)'
      : `RESULT: NOT converged${allConverged ? ' (the verifier agrees, but reconcile found differences)' : ''}`,
  );
  return result;
}
