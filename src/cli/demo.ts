/**
 * `replicator local --demo`: writes a workload to every DynamoDB pair's source at a steady rate, shows
 * live progress, waits for the targets to converge, verifies every target item by item and prints a
 * summary table (items, lag p50/p99, AWS requests per item). Succeeds only if every target converged.
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type DynamoPairConfig, targetId } from '../../lib/config';
import type { LocalCloud } from './local-cloud';
import { ms, quantile, renderTable } from './table';
import { compareTables, converged, type TableDiff } from './verify';
import { applyOp, type KeyAttribute, makeWorkload, runAtRate } from './workload';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Writes per pair. @default 1000 */
  readonly ops?: number;
  /** Offered write rate per pair (writes/s). @default 100 */
  readonly rate?: number;
  /** How long to wait for convergence after the last write. @default 180 s */
  readonly timeoutMs?: number;
  /** Output (progress lines and the summary). @default console.log */
  readonly print?: (line: string) => void;
}

/** The demo's result per target. */
export interface DemoTargetResult {
  readonly pair: string;
  readonly target: string;
  readonly diff: TableDiff;
  readonly lagP50: number;
  readonly lagP99: number;
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

/** Runs the demo on a started local cloud. */
export async function runDemo(cloud: LocalCloud, opts: DemoOptions = {}): Promise<DemoResult> {
  const print = opts.print ?? ((l: string) => console.log(l));
  const nOps = opts.ops ?? 1000;
  const rate = opts.rate ?? 100;
  const pairs = cloud.config.pairs.filter((p): p is DynamoPairConfig => p.type === 'dynamodb');
  const sqs = new SQSClient({
    region: cloud.config.sourceRegion,
    endpoint: cloud.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const src = localDynamo(cloud.endpoint, cloud.config.sourceRegion);

  cloud.metrics.clear();
  cloud.resetRequestCounts();
  const started = Date.now();
  let written = 0;
  const total = nOps * pairs.length;
  let maxDepth = 0;
  const progress = async (phase: string) => {
    const parts: string[] = [];
    for (const p of pairs) {
      const { depth } = await queueDepth(sqs, `replicator-${p.name}`);
      const dlq = (await queueDepth(sqs, `replicator-${p.name}-dlq`)).depth;
      maxDepth = Math.max(maxDepth, depth);
      const applied = p.targets.map(
        (t) => `${t.region} ${cloud.metrics.sum('ReplicatedItems', { Pair: p.name, Target: targetId(t) })}`,
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
    print(`writing ${nOps} puts/updates/deletes to each of ${pairs.length} pair(s) at ${rate}/s ...`);
    await Promise.all(
      pairs.map(async (p) => {
        const keys = await keySchemaOf(src, p.source.table);
        const ops = makeWorkload({ ops: nOps, keys });
        await runAtRate(ops, rate, (op) => applyOp(src, p.source.table, op), { onDone: () => written++ });
      }),
    );
  } finally {
    clearInterval(ticker);
  }
  print(
    `all ${total} writes done in ${((Date.now() - started) / 1000).toFixed(1)} s; waiting for the targets to converge ...`,
  );

  const deadline = Date.now() + (opts.timeoutMs ?? 180_000);
  let diffs = new Map<string, Map<string, TableDiff>>();
  let allConverged = false;
  while (Date.now() < deadline) {
    await progress('draining');
    let idle = true;
    for (const p of pairs) if ((await queueDepth(sqs, `replicator-${p.name}`)).depth > 0) idle = false;
    if (idle) {
      diffs = new Map(await Promise.all(pairs.map(async (p) => [p.name, await verifyPair(cloud, p)] as const)));
      allConverged = [...diffs.values()].every((m) => [...m.values()].every(converged));
      if (allConverged) break;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (!allConverged)
    diffs = new Map(await Promise.all(pairs.map(async (p) => [p.name, await verifyPair(cloud, p)] as const)));

  const counts = cloud.requestCounts();
  const requests = Object.values(counts).reduce((s, n) => s + n, 0);
  const targets: DemoTargetResult[] = [];
  for (const p of pairs) {
    for (const t of p.targets) {
      const id = targetId(t);
      const lags = cloud.metrics.values('ReplicationLatency', { Pair: p.name, Target: id });
      targets.push({
        pair: p.name,
        target: id,
        diff: diffs.get(p.name)!.get(id)!,
        lagP50: quantile(lags, 0.5),
        lagP99: quantile(lags, 0.99),
      });
    }
  }
  const result: DemoResult = {
    converged: allConverged,
    targets,
    writes: total,
    requests,
    requestsPerWrite: requests / Math.max(1, total),
    requestCounts: counts,
  };
  print('');
  print(
    renderTable(
      ['pair', 'target', 'source items', 'matched', 'missing', 'extra', 'different', 'lag p50', 'lag p99', 'status'],
      targets.map((t) => [
        t.pair,
        t.target,
        t.diff.checked,
        t.diff.matched,
        t.diff.missing.length,
        t.diff.extra.length,
        t.diff.different.length,
        ms(t.lagP50),
        ms(t.lagP99),
        converged(t.diff) ? 'converged' : 'NOT CONVERGED',
      ]),
    ),
  );
  print('');
  const top = Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([k, n]) => `${k} ${(n / Math.max(1, total)).toFixed(2)}`);
  print(
    `AWS requests by Replicator (capture, apply, runtime polling): ${requests} for ${total} source writes = ${result.requestsPerWrite.toFixed(2)} per write; peak queue depth ${maxDepth}`,
  );
  print(`  per write: ${top.join(', ')}`);
  print(allConverged ? 'RESULT: every target converged' : 'RESULT: NOT converged');
  return result;
}
