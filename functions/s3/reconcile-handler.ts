/**
 * Reconcile Lambda of S3 pairs (EventBridge schedule): continues, or starts, the pair's reconcile run until the
 * invocation's time is nearly up; what happens after is the engine's (engine/reconcile-run.ts).
 */
import type { Context } from 'aws-lambda';
import { logger } from '../engine/logger';
import { reconcileInvocation, stateStores } from '../engine/reconcile-handler';
import type { ReconcileSummary } from '../engine/reconcile-run';
import { lambdaClients, reconcileDeps, reconcileSettings } from './deps';
import { runS3Reconcile } from './reconcile';

const SETTINGS = reconcileSettings();
const stores = stateStores();
logger.appendKeys({ pair: SETTINGS.pair });

/** Lambda entry point (EventBridge scheduled event; its content is not used). */
export async function handler(_event: unknown, context: Context): Promise<ReconcileSummary> {
  const deps = reconcileDeps(SETTINGS, lambdaClients, stores.checkpoints);
  return reconcileInvocation(context, stores, (deadlineMs) => runS3Reconcile(deps, { deadlineMs }));
}
