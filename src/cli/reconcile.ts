/**
 * `replicator reconcile PAIR`: runs the reconcile core now, in this process, against the configured source
 * and targets (real AWS or the local cloud), loops until the run is complete, optionally repairs through
 * the pair's queue, publishes the run's metrics and returns the run report.
 *
 * The CLI uses the caller's credentials for every region: a target's `role` is not assumed. The run's state
 * is kept in memory (not in the pair's state table), so an on-demand run never disturbs a scheduled one.
 */
import {
  CloudWatchClient,
  type MetricDatum,
  PutMetricDataCommand,
  type StandardUnit,
} from '@aws-sdk/client-cloudwatch';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { S3TombstoneStore } from '../../functions/copy/s3-store';
import { ReadBudget } from '../../functions/reconcile/budget';
import type { CheckpointStore, ReconcileCheckpoint } from '../../functions/reconcile/checkpoint';
import { type ReconcileDeps, type ReconcileResult, type RunReport, runReconcile } from '../../functions/reconcile/core';
import { DynamoTableReader } from '../../functions/reconcile/dynamo-reader';
import { enqueueRepairs } from '../../functions/reconcile/repair';
import { unrepaired } from '../../functions/reconcile/run-outcome';
import { runS3Reconcile, type S3ReconcileDeps } from '../../functions/reconcile/s3-core';
import { S3BucketReader } from '../../functions/reconcile/s3-reader';
import type { Envelope } from '../../functions/shared/envelope';
import type { S3Envelope } from '../../functions/shared/s3-envelope';
import { type PairConfig, RECONCILE_DEFAULTS, targetId } from '../../lib/config';
import { clientConfig } from './operations';
import { renderTable } from './table';

/** Options of {@link reconcilePair}. */
export interface ReconcilePairOptions {
  readonly pair: PairConfig;
  /** Region of the source table or bucket, the pair's queue and the metrics. */
  readonly sourceRegion: string;
  /** AWS endpoint override (e.g. the local cloud). @default - the SDK's endpoints */
  readonly endpoint?: string;
  /** Re-enqueue the source's state for what differs. @default false */
  readonly repair?: boolean;
  /** With repair, delete target items the source does not have. @default - the pair's `deleteExtra` */
  readonly deleteExtra?: boolean;
  /** Parallel scan segments per table (DynamoDB pairs). @default RECONCILE_DEFAULTS.segments */
  readonly segments?: number;
  /**
   * Read capacity units per second over every scan and lookup of the run (S3 pairs: requests per second).
   * @default RECONCILE_DEFAULTS.readRate
   */
  readonly readRate?: number;
  /** Length of one slice of work between progress reports, ms. @default 2000 */
  readonly sliceMs?: number;
  /** Publish the run's metrics to CloudWatch. @default true */
  readonly publishMetrics?: boolean;
  /** Called after every checked page with the items checked so far (over all targets). */
  readonly onProgress?: (checked: number) => void;
}

/** What {@link reconcilePair} did. */
export interface ReconcilePairResult {
  readonly report: RunReport;
  /** Invocations of the core (slices) the run took. */
  readonly slices: number;
  /** Metric data points published. */
  readonly metricsPublished: number;
  /** Findings not repaired (mismatched - repaired). */
  readonly unrepaired: number;
}

/** The CLI's exit code for a run: 0 when consistent or everything found was repaired, otherwise 1. */
export function exitCodeOf(result: ReconcilePairResult): number {
  return result.unrepaired > 0 ? 1 : 0;
}

/** A checkpoint store in memory (the CLI's run lives in one process). */
class MemoryCheckpointStore implements CheckpointStore {
  private saved?: ReconcileCheckpoint;
  constructor(private readonly onSave: (cp: ReconcileCheckpoint) => void) {}
  async load() {
    return this.saved;
  }
  async save(cp: ReconcileCheckpoint) {
    this.saved = cp;
    this.onSave(cp);
  }
}

/** Runs one reconcile of a pair (either type) to completion. */
export async function reconcilePair(o: ReconcilePairOptions): Promise<ReconcilePairResult> {
  const { pair } = o;
  const sourceClient = { region: o.sourceRegion, ...(o.endpoint ? { endpoint: o.endpoint } : {}) };
  const clientIn = (region: string) => clientConfig({ region, ...(o.endpoint ? { endpoint: o.endpoint } : {}) });
  // An endpoint override needs path-style S3 addressing (bucket.localhost does not resolve).
  const s3Config = (region: string) => ({ ...clientIn(region), ...(o.endpoint ? { forcePathStyle: true } : {}) });
  const deleteExtra = o.deleteExtra ?? pair.deleteExtra ?? RECONCILE_DEFAULTS.deleteExtra;

  let queueUrl: string | undefined;
  const sqs = new SQSClient(clientConfig(sourceClient));
  if (o.repair) {
    queueUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: `replicator-${pair.name}` }))).QueueUrl!;
  }
  const store = new MemoryCheckpointStore((cp) => {
    o.onProgress?.(Object.values(cp.counts).reduce((n, c) => n + c.checked, 0));
  });
  const budget = new ReadBudget({ readRate: o.readRate ?? RECONCILE_DEFAULTS.readRate });
  const common = { pair: pair.name, origin: o.sourceRegion, store, budget, repair: o.repair ?? false, deleteExtra };

  let run: (deadlineMs: number) => Promise<ReconcileResult>;
  if (pair.type === 's3') {
    const deps: S3ReconcileDeps = {
      ...common,
      ...(pair.prefix !== undefined ? { prefix: pair.prefix } : {}),
      ...(pair.suffix !== undefined ? { suffix: pair.suffix } : {}),
      source: new S3BucketReader(new S3Client(s3Config(o.sourceRegion)), pair.source.bucket),
      targets: pair.targets.map((t) => ({
        id: targetId(t),
        bucket: new S3BucketReader(new S3Client(s3Config(t.region)), t.bucket),
      })),
      tombstones: new S3TombstoneStore(new DynamoDBClient(clientConfig(sourceClient)), `replicator-${pair.name}-state`),
      ...(queueUrl
        ? {
            enqueue: async (targetId: string, envelopes: readonly S3Envelope[]) => {
              await enqueueRepairs(sqs, queueUrl, envelopes, { pair: pair.name, origin: o.sourceRegion, targetId });
            },
          }
        : {}),
    };
    run = (deadlineMs) => runS3Reconcile(deps, { deadlineMs });
  } else {
    const dynamo = new DynamoDBClient(clientConfig(sourceClient));
    const described = await dynamo.send(new DescribeTableCommand({ TableName: pair.source.table }));
    const deps: ReconcileDeps = {
      ...common,
      keyNames: (described.Table?.KeySchema ?? []).map((k) => k.AttributeName!),
      ...(pair.filter ? { filter: pair.filter } : {}),
      source: new DynamoTableReader(dynamo, pair.source.table),
      targets: pair.targets.map((t) => ({
        id: targetId(t),
        reader: new DynamoTableReader(new DynamoDBClient(clientIn(t.region)), t.table),
      })),
      totalSegments: o.segments ?? RECONCILE_DEFAULTS.segments,
      ...(queueUrl
        ? {
            enqueue: async (envelopes: readonly Envelope[]) => {
              await enqueueRepairs(sqs, queueUrl, envelopes, { pair: pair.name, origin: o.sourceRegion });
            },
          }
        : {}),
    };
    run = (deadlineMs) => runReconcile(deps, { deadlineMs });
  }

  const sliceMs = o.sliceMs ?? 2000;
  let slices = 0;
  let report: RunReport;
  for (;;) {
    slices++;
    const r = await run(Date.now() + sliceMs);
    report = r.report;
    if (r.complete) break;
  }
  const metricsPublished = o.publishMetrics === false ? 0 : await publishMetrics(report, sourceClient);
  return { report, slices, metricsPublished, unrepaired: Math.max(0, report.mismatched - report.repaired) };
}

/** Puts the run's metrics (namespace Replicator, dimensions Pair + Target); returns the data points. */
export async function publishMetrics(
  report: RunReport,
  client: { readonly region: string; readonly endpoint?: string },
): Promise<number> {
  const cw = new CloudWatchClient(clientConfig(client));
  const timestamp = new Date(report.finishedAt ?? Date.now());
  const data: MetricDatum[] = report.targets.flatMap((t) => {
    const dims = [
      { Name: 'Pair', Value: report.pair },
      { Name: 'Target', Value: t.target },
    ];
    const m = (name: string, value: number, unit: StandardUnit): MetricDatum => ({
      MetricName: name,
      Dimensions: dims,
      Timestamp: timestamp,
      Value: value,
      Unit: unit,
    });
    return [
      m('ReconcileChecked', t.checked, 'Count'),
      m('ReconcileMismatched', t.missing + t.extra + t.different, 'Count'),
      m('ReconcileMissing', t.missing, 'Count'),
      m('ReconcileExtra', t.extra, 'Count'),
      m('ReconcileRepaired', t.repaired, 'Count'),
      m('ReconcileUnrepaired', unrepaired(t), 'Count'),
      m('ConsistencyRatio', t.consistencyRatio, 'None'),
      m('ReconcileDuration', report.durationMs, 'Milliseconds'),
    ];
  });
  // PutMetricData takes at most 1000 data points per call.
  for (let i = 0; i < data.length; i += 1000) {
    await cw.send(new PutMetricDataCommand({ Namespace: 'Replicator', MetricData: data.slice(i, i + 1000) }));
  }
  return data.length;
}

/** The run report as a table, one row per target, and a summary line. */
export function renderReport(report: RunReport): string {
  const table = renderTable(
    ['target', 'checked', 'missing', 'extra', 'different', 'repaired', 'consistency'],
    report.targets.map((t) => [
      t.target,
      t.checked,
      t.missing,
      t.extra,
      t.different,
      t.repaired,
      t.consistencyRatio.toFixed(4),
    ]),
  );
  return `${table}\nreconcile of ${report.pair}: ${report.checked} checked, ${report.mismatched} mismatched, ${report.repaired} repaired in ${(report.durationMs / 1000).toFixed(1)} s`;
}
