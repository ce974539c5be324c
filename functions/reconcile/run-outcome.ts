/**
 * What both reconcile handlers (DynamoDB and S3 pairs) do after an invocation: a finished run publishes its
 * counts per target as metrics, leaves its report in the state table and clears the checkpoint; an
 * unfinished one keeps the checkpoint for the next invocation. Either way the invocation returns a summary.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logger, metricsFor } from '../shared/powertools';
import { type ReconcileResult, type RunReport, type TargetReport, type TargetSummary, targetSummary } from './core';

import type { DynamoReportStore } from './report-store';

/** Time kept back from the invocation's remaining time for saving, publishing and returning. */
export const DEADLINE_MARGIN_MS = 20_000;

/** What one invocation returns. */
export interface ReconcileSummary {
  readonly pair: string;
  readonly complete: boolean;
  /** Pages (chunks) checked in this invocation. */
  readonly pages: number;
  readonly invocations: number;
  readonly checked: number;
  readonly mismatched: number;
  readonly repaired: number;
  readonly consistencyRatio: number;
  readonly durationMs: number;
  readonly targets: readonly TargetSummary[];
}

/**
 * What a run found on a target and did not repair: all it found with repair off; with repair on, extras the
 * pair does not let it delete. The "mismatched after repair" alarm watches this.
 */
export function unrepaired(t: Pick<TargetReport, 'missing' | 'extra' | 'different' | 'repaired'>): number {
  return Math.max(0, t.missing + t.extra + t.different - t.repaired);
}

/** Publishes a finished run's metrics per target (EMF; namespace Replicator, dimensions Pair and Target). */
export function publishReport(report: RunReport): void {
  for (const t of report.targets) {
    const m = metricsFor({ Pair: report.pair, Target: t.target });
    m.addMetric('ReconcileChecked', MetricUnit.Count, t.checked);
    m.addMetric('ReconcileMismatched', MetricUnit.Count, t.missing + t.extra + t.different);
    m.addMetric('ReconcileMissing', MetricUnit.Count, t.missing);
    m.addMetric('ReconcileExtra', MetricUnit.Count, t.extra);
    m.addMetric('ReconcileRepaired', MetricUnit.Count, t.repaired);
    m.addMetric('ReconcileUnrepaired', MetricUnit.Count, unrepaired(t));
    m.addMetric('ConsistencyRatio', MetricUnit.NoUnit, t.consistencyRatio);
    m.addMetric('ReconcileDuration', MetricUnit.Milliseconds, report.durationMs);
    m.publishStoredMetrics();
  }
}

/** Finishes an invocation: publish and store a complete run, log either way, and summarize. */
export async function finishInvocation(result: ReconcileResult, reports: DynamoReportStore): Promise<ReconcileSummary> {
  const { report } = result;
  if (result.complete) {
    publishReport(report);
    await reports.saveLatest(report);
    await reports.clearCheckpoint();
    logger.info('reconcile run finished', {
      checked: report.checked,
      mismatched: report.mismatched,
      repaired: report.repaired,
      consistencyRatio: report.consistencyRatio,
      invocations: report.invocations,
    });
  } else {
    logger.info('reconcile run continues next invocation', { pages: result.pages, checked: report.checked });
  }
  return {
    pair: report.pair,
    complete: result.complete,
    pages: result.pages,
    invocations: report.invocations,
    checked: report.checked,
    mismatched: report.mismatched,
    repaired: report.repaired,
    consistencyRatio: report.consistencyRatio,
    durationMs: report.durationMs,
    targets: report.targets.map(targetSummary),
  };
}
