/**
 * Reconcile Lambda (DynamoDB pairs, EventBridge schedule): continues, or starts, the pair's reconcile run
 * until the invocation's time is nearly up. A finished run publishes its counts per target as metrics,
 * leaves its report in the state table and clears the checkpoint; an unfinished one keeps the checkpoint,
 * and the next scheduled invocation continues from it.
 */

import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import type { AttributeFilter } from '../shared/attributes';
import { dynamoClient, requiredEnv, sqsClient, type TableTargetEnv } from '../shared/clients';
import { logger, metricsFor } from '../shared/powertools';
import { ReadBudget } from './budget';
import { type ReconcileDeps, type RunReport, runReconcile } from './core';
import { DynamoCheckpointStore, DynamoTableReader } from './dynamo-reader';
import { enqueueRepairs } from './repair';
import { DynamoReportStore } from './report-store';

/** Time kept back from the invocation's remaining time for saving, publishing and returning. */
export const DEADLINE_MARGIN_MS = 20_000;
/** Wait before re-reading suspects, so writes already in the pair queue can land (RECHECK_DELAY_MS). */
const RECHECK_DELAY_MS = Number(process.env.RECHECK_DELAY_MS ?? '5000');

const PAIR = requiredEnv('PAIR_NAME');
const SOURCE_REGION = requiredEnv('SOURCE_REGION');
const SOURCE_TABLE = requiredEnv('SOURCE_TABLE');
const QUEUE_URL = requiredEnv('QUEUE_URL');
const TARGETS = JSON.parse(requiredEnv('TARGETS')) as TableTargetEnv[];
const FILTER = process.env.FILTER ? (JSON.parse(process.env.FILTER) as AttributeFilter) : undefined;
const REPAIR = process.env.REPAIR === 'true';
const DELETE_EXTRA = process.env.DELETE_EXTRA === 'true';
const READ_RATE = Number(process.env.READ_RATE ?? '100');
const SEGMENTS = Number(process.env.SEGMENTS ?? '4');

const sourceClient = dynamoClient({ region: SOURCE_REGION });
const stateClient = dynamoClient({ region: requiredEnv('AWS_REGION') });
const STATE_TABLE = requiredEnv('STATE_TABLE');
const checkpoints = new DynamoCheckpointStore(stateClient, STATE_TABLE);
const reports = new DynamoReportStore(stateClient, STATE_TABLE);
const source = new DynamoTableReader(sourceClient, SOURCE_TABLE);
const targets = TARGETS.map((t) => ({ id: t.id, reader: new DynamoTableReader(dynamoClient(t), t.table) }));
const metrics = new Map(TARGETS.map((t) => [t.id, metricsFor({ Pair: PAIR, Target: t.id })]));
logger.appendKeys({ pair: PAIR });

let keyNames: Promise<string[]> | undefined;
/** The source table's key attribute names, described once per container (an imported table's too). */
function sourceKeyNames(): Promise<string[]> {
  keyNames ??= sourceClient.send(new DescribeTableCommand({ TableName: SOURCE_TABLE })).then((res) => {
    const names = (res.Table?.KeySchema ?? []).flatMap((k) => (k.AttributeName ? [k.AttributeName] : []));
    if (names.length === 0) throw new Error(`DescribeTable of ${SOURCE_TABLE} returned no key schema`);
    return names;
  });
  // A failed describe is retried by the next invocation rather than cached.
  keyNames.catch(() => {
    keyNames = undefined;
  });
  return keyNames;
}

/** What one invocation returns. */
export interface ReconcileSummary {
  readonly pair: string;
  readonly complete: boolean;
  /** Pages checked in this invocation. */
  readonly pages: number;
  readonly invocations: number;
  readonly checked: number;
  readonly mismatched: number;
  readonly repaired: number;
  readonly consistencyRatio: number;
  readonly durationMs: number;
  readonly targets: readonly {
    readonly target: string;
    readonly checked: number;
    readonly missing: number;
    readonly extra: number;
    readonly different: number;
    readonly repaired: number;
    readonly consistencyRatio: number;
  }[];
}

function publish(report: RunReport): void {
  for (const t of report.targets) {
    const m = metrics.get(t.target) ?? metricsFor({ Pair: PAIR, Target: t.target });
    m.addMetric('ReconcileChecked', MetricUnit.Count, t.checked);
    m.addMetric('ReconcileMismatched', MetricUnit.Count, t.missing + t.extra + t.different);
    m.addMetric('ReconcileMissing', MetricUnit.Count, t.missing);
    m.addMetric('ReconcileExtra', MetricUnit.Count, t.extra);
    m.addMetric('ReconcileRepaired', MetricUnit.Count, t.repaired);
    m.addMetric('ConsistencyRatio', MetricUnit.NoUnit, t.consistencyRatio);
    m.addMetric('ReconcileDuration', MetricUnit.Milliseconds, report.durationMs);
    m.publishStoredMetrics();
  }
}

/** Lambda entry point (EventBridge scheduled event; its content is not used). */
export async function handler(_event: unknown, context: Context): Promise<ReconcileSummary> {
  const deps: ReconcileDeps = {
    pair: PAIR,
    origin: SOURCE_REGION,
    keyNames: await sourceKeyNames(),
    ...(FILTER ? { filter: FILTER } : {}),
    source,
    targets,
    store: checkpoints,
    budget: new ReadBudget({ readRate: READ_RATE }),
    totalSegments: SEGMENTS,
    repair: REPAIR,
    deleteExtra: DELETE_EXTRA,
    enqueue: async (envelopes) => {
      await enqueueRepairs(sqsClient(), QUEUE_URL, envelopes, { pair: PAIR, origin: SOURCE_REGION });
    },
    recheckDelayMs: RECHECK_DELAY_MS,
  };
  const result = await runReconcile(deps, {
    deadlineMs: Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS,
  });
  const { report } = result;
  if (result.complete) {
    publish(report);
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
    pair: PAIR,
    complete: result.complete,
    pages: result.pages,
    invocations: report.invocations,
    checked: report.checked,
    mismatched: report.mismatched,
    repaired: report.repaired,
    consistencyRatio: report.consistencyRatio,
    durationMs: report.durationMs,
    targets: report.targets.map((t) => ({
      target: t.target,
      checked: t.checked,
      missing: t.missing,
      extra: t.extra,
      different: t.different,
      repaired: t.repaired,
      consistencyRatio: t.consistencyRatio,
    })),
  };
}
