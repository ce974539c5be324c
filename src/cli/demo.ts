/**
 * `replicator local --demo`: writes a workload to every DynamoDB pair's source at a steady rate, shows
 * live progress, waits for the targets to converge, verifies every target item by item and prints a
 * summary table (items, lag p50/p99, AWS requests per item). Succeeds only if every target converged.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { pairResourceNames } from '../../functions/contract';
import type { RunReport, TargetReport } from '../../functions/engine/reconcile-run';
import { queueDepth } from './aws';
import type { LocalCloud } from './local-cloud';
import { type DemoDriver, isConverged, type TargetDiff } from './pair-types/driver';
import { driverOf } from './pair-types/registry';
import { reconcilePair } from './reconcile';
import { ms, quantile, renderTable } from './table';

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

/** Runs the demo on a started local cloud. */
export async function runDemo(cloud: LocalCloud, opts: DemoOptions = {}): Promise<DemoResult> {
  const print = opts.print ?? ((l: string) => console.log(l));
  const rate = opts.rate ?? 100;
  const size = { ops: opts.ops ?? 1000, rate, s3Objects: opts.s3Objects ?? 200 };
  const pairs: DemoDriver[] = cloud.config.pairs.map((p) => driverOf(p).demo(cloud, p, size));
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
      const names = pairResourceNames(p.name);
      const { depth } = await queueDepth(sqs, names.queue);
      const dlq = (await queueDepth(sqs, names.deadLetterQueue)).depth;
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
    for (const p of pairs) if ((await queueDepth(sqs, pairResourceNames(p.name).queue)).depth > 0) idle = false;
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
