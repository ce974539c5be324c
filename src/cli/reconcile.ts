/**
 * `replicator reconcile PAIR`: runs the pair type's reconcile now, in this process, against the configured
 * source and targets (real AWS or the local cloud), with the same dependency factory as the deployed function
 * (through the CLI's pair-type registry), loops until the run is complete, optionally repairs through the
 * pair's queue, publishes the run's metrics and returns the run report.
 *
 * The CLI uses the caller's credentials for every region: a target's `role` is not assumed. The run's state
 * is kept in memory (not in the pair's state table), so an on-demand run never disturbs a scheduled one.
 */
import { CloudWatchClient, type MetricDatum, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { METRICS, METRICS_NAMESPACE, pairResourceNames, RECONCILE_METRICS } from '../../functions/contract';
import type { CheckpointStore, ReconcileCheckpoint } from '../../functions/engine/checkpoint';
import { type RunReport, reconcileMetricValues } from '../../functions/engine/reconcile-run';
import { DynamoReportStore } from '../../functions/engine/state-table';
import { type PairConfig, RECONCILE_DEFAULTS } from '../../lib/config';
import { clientConfig } from './aws';
import { driverOf } from './pair-types/registry';
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
  /** Keep the run's report in the pair's state table, where `status` reads it. @default true */
  readonly saveReport?: boolean;
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

/** Runs one reconcile of a pair (of any type) to completion. */
export async function reconcilePair(o: ReconcilePairOptions): Promise<ReconcilePairResult> {
  const { pair } = o;
  const sourceClient = { region: o.sourceRegion, ...(o.endpoint ? { endpoint: o.endpoint } : {}) };
  let queueUrl: string | undefined;
  if (o.repair) {
    const sqs = new SQSClient(clientConfig(sourceClient));
    queueUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: pairResourceNames(pair.name).queue }))).QueueUrl!;
  }
  const store = new MemoryCheckpointStore((cp) => {
    o.onProgress?.(Object.values(cp.counts).reduce((n, c) => n + c.checked, 0));
  });
  const run = await driverOf(pair).reconcileRunner(pair, {
    sourceRegion: o.sourceRegion,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    ...(queueUrl ? { queueUrl } : {}),
    repair: o.repair ?? false,
    deleteExtra: o.deleteExtra ?? pair.deleteExtra ?? RECONCILE_DEFAULTS.deleteExtra,
    segments: o.segments ?? RECONCILE_DEFAULTS.segments,
    readRate: o.readRate ?? RECONCILE_DEFAULTS.readRate,
    store,
  });

  const sliceMs = o.sliceMs ?? 2000;
  let slices = 0;
  let report: RunReport;
  for (;;) {
    slices++;
    const r = await run(Date.now() + sliceMs);
    report = r.report;
    if (r.complete) break;
  }
  report = { ...report, trigger: 'cli' };
  const metricsPublished = o.publishMetrics === false ? 0 : await publishMetrics(report, sourceClient);
  // Kept where the scheduled runs keep theirs, so `status` shows the last run whoever ran it.
  if (o.saveReport !== false) {
    const dynamo = new DynamoDBClient(clientConfig(sourceClient));
    await new DynamoReportStore(dynamo, pairResourceNames(pair.name).stateTable).saveLatest(report);
  }
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
    const values = reconcileMetricValues(report, t);
    return RECONCILE_METRICS.map(
      (name): MetricDatum => ({
        MetricName: name,
        Dimensions: dims,
        Timestamp: timestamp,
        Value: values[name],
        Unit: METRICS[name].unit,
      }),
    );
  });
  // PutMetricData takes at most 1000 data points per call.
  for (let i = 0; i < data.length; i += 1000) {
    await cw.send(new PutMetricDataCommand({ Namespace: METRICS_NAMESPACE, MetricData: data.slice(i, i + 1000) }));
  }
  return data.length;
}

/** The run report as a table, one row per target, and a summary line. */
export function renderReport(report: RunReport): string {
  const table = renderTable(
    ['target', 'checked', 'missing', 'extra', 'different', 'lost deletes', 'repaired', 'consistency'],
    report.targets.map((t) => [
      t.target,
      t.checked,
      t.missing,
      t.extra,
      t.different,
      t.lostDeletes ?? 0,
      t.repaired,
      t.consistencyRatio.toFixed(4),
    ]),
  );
  return `${table}\nreconcile of ${report.pair}: ${report.checked} checked, ${report.mismatched} mismatched, ${report.repaired} repaired in ${(report.durationMs / 1000).toFixed(1)} s`;
}
