/**
 * Backfill Lambda of S3 pairs (the pair's backfill queue): one job message's share of the backfill, then the
 * job's next message (engine/backfill-job.ts).
 */
import { backfillHandler } from '../engine/backfill-handler';
import { logger } from '../engine/logger';
import { onlyTargets } from '../engine/settings';
import { lambdaClients, reconcileDeps, reconcileSettings } from './deps';
import { runS3Reconcile } from './reconcile';

const SETTINGS = reconcileSettings();
logger.appendKeys({ pair: SETTINGS.pair });

/** Lambda entry point (SQS, batch size 1). */
export const handler = backfillHandler(async (job, store, { pageHalvings }) => {
  const deps = reconcileDeps(
    {
      ...SETTINGS,
      mode: 'backfill',
      repair: true,
      deleteExtra: false,
      targets: onlyTargets(SETTINGS.targets, job.targets),
      itemRate: job.rate,
      pageHalvings,
      shards: job.shards,
    },
    lambdaClients,
    store,
  );
  return (deadlineMs) => runS3Reconcile(deps, { deadlineMs });
});
