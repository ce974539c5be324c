/**
 * The reconcile Lambda's invocation, whatever the pair type: continue (or start) the pair's run until the
 * invocation's time is nearly up, then finish it (engine/reconcile-run.ts `finishInvocation`).
 */
import type { Context } from 'aws-lambda';
import { ENV } from '../contract';
import { dynamoClient, type Env, requiredEnv } from './clients';
import { DEADLINE_MARGIN_MS, finishInvocation, type ReconcileResult, type ReconcileSummary } from './reconcile-run';
import { DynamoCheckpointStore, DynamoReportStore } from './state-table';

/** The pair's checkpoint and report stores in its state table (in the function's region). */
export function stateStores(env: Env = process.env): {
  checkpoints: DynamoCheckpointStore;
  reports: DynamoReportStore;
} {
  const client = dynamoClient({ region: requiredEnv('AWS_REGION', env) });
  const table = requiredEnv(ENV.STATE_TABLE, env);
  return { checkpoints: new DynamoCheckpointStore(client, table), reports: new DynamoReportStore(client, table) };
}

/** Runs one invocation's share of the run, stopping `DEADLINE_MARGIN_MS` before the function's timeout. */
export async function reconcileInvocation(
  context: Pick<Context, 'getRemainingTimeInMillis'>,
  stores: { readonly checkpoints: DynamoCheckpointStore; readonly reports: DynamoReportStore },
  run: (deadlineMs: number) => Promise<ReconcileResult>,
): Promise<ReconcileSummary> {
  const result = await run(Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS);
  return finishInvocation(result, stores);
}
