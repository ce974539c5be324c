/**
 * Reconcile Lambda of DynamoDB pairs (EventBridge schedule): continues, or starts, the pair's reconcile run
 * until the invocation's time is nearly up. A finished run publishes its counts per target as metrics, leaves
 * its report in the state table and clears the checkpoint; an unfinished one keeps the checkpoint, and the
 * next scheduled invocation continues from it.
 */
import type { Context } from 'aws-lambda';
import { logger } from '../engine/logger';
import { reconcileInvocation, stateStores } from '../engine/reconcile-handler';
import type { ReconcileSummary } from '../engine/reconcile-run';
import { lambdaClients, reconcileDeps, reconcileSettings } from './deps';
import { runReconcile } from './reconcile';

const SETTINGS = reconcileSettings();
const stores = stateStores();
logger.appendKeys({ pair: SETTINGS.pair });

/** Lambda entry point (EventBridge scheduled event; its content is not used). */
export async function handler(_event: unknown, context: Context): Promise<ReconcileSummary> {
  const deps = await reconcileDeps(SETTINGS, lambdaClients, stores.checkpoints);
  return reconcileInvocation(context, stores, (deadlineMs) => runReconcile(deps, { deadlineMs }));
}
