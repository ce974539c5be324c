/**
 * Reconcile Lambda (DynamoDB pairs, EventBridge schedule): continues, or starts, the pair's reconcile run
 * until the invocation's time is nearly up. A finished run publishes its counts per target as metrics,
 * leaves its report in the state table and clears the checkpoint; an unfinished one keeps the checkpoint,
 * and the next scheduled invocation continues from it.
 */

import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import type { AttributeFilter } from '../shared/attributes';
import { dynamoClient, requiredEnv, sqsClient, type TableTargetEnv } from '../shared/clients';
import { logger } from '../shared/powertools';
import { ReadBudget } from './budget';
import { type ReconcileDeps, runReconcile } from './core';
import { DynamoCheckpointStore, DynamoTableReader } from './dynamo-reader';
import { enqueueRepairs } from './repair';
import { DynamoReportStore } from './report-store';
import { DEADLINE_MARGIN_MS, finishInvocation, type ReconcileSummary } from './run-outcome';

export { DEADLINE_MARGIN_MS, type ReconcileSummary };

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
  return finishInvocation(result, reports);
}
