/**
 * The backfill function's invocation, whatever the pair type: one job message (batch size 1) of the pair's
 * backfill queue, run by engine/backfill-job.ts. A pair type brings only how its run is built for a job.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { ENV } from '../contract';
import {
  BackfillJobError,
  type BackfillJobMessage,
  type JobInvocationSummary,
  JobStore,
  jobCheckpointStore,
  jobLeaseUntil,
  parseJobMessage,
  runJobMessage,
} from './backfill-job';
import type { CheckpointStore } from './checkpoint';
import { dynamoClient, type Env, requiredEnv, sqsClient } from './clients';
import { logger } from './logger';
import type { ReconcileResult } from './reconcile-run';
import { BACKFILL_REPORT_KEY, DynamoReportStore } from './state-table';

/**
 * Builds a job's run (the pair type's backfill run, with the job's targets, rate and shards); `pageHalvings`
 * is how often this message was delivered before (each earlier invocation died, e.g. timed out mid-page), for
 * the run's page size (`backfillPageSize` in settings.ts).
 */
export type JobRunner = (
  job: BackfillJobMessage,
  store: CheckpointStore,
  delivery: { readonly pageHalvings: number },
) => Promise<(deadlineMs: number) => Promise<ReconcileResult>>;

/** Earlier deliveries of a message: its receive count less one (0 when SQS does not say). */
export function earlierDeliveries(record: Pick<SQSRecord, 'attributes'>): number {
  const n = Number(record.attributes?.ApproximateReceiveCount);
  return Number.isInteger(n) && n > 1 ? n - 1 : 0;
}

/** The backfill function's handler for a pair type. */
export function backfillHandler(runner: JobRunner, env: Env = process.env) {
  const client = dynamoClient({ region: requiredEnv('AWS_REGION', env) });
  const table = requiredEnv(ENV.STATE_TABLE, env);
  const jobs = new JobStore(client, table);
  const reports = new DynamoReportStore(client, table, Date.now, BACKFILL_REPORT_KEY);
  const jobQueueUrl = requiredEnv(ENV.BACKFILL_QUEUE_URL, env);
  return async (event: SQSEvent, context: Pick<Context, 'getRemainingTimeInMillis'>) => {
    const out: JobInvocationSummary[] = [];
    for (const record of event.Records) {
      let job: BackfillJobMessage;
      try {
        job = parseJobMessage(record.body);
      } catch (err) {
        // Thrown: SQS delivers it again and, after the receive limit, the backfill DLQ keeps it (alarmed).
        if (err instanceof BackfillJobError) logger.error('backfill job message refused', { reason: err.message });
        throw err;
      }
      // Gone by the time SQS delivers a timed-out message again (jobLeaseUntil).
      const checkpoints = jobCheckpointStore(
        client,
        table,
        job.jobId,
        jobLeaseUntil(Date.now(), context.getRemainingTimeInMillis()),
      );
      const pageHalvings = earlierDeliveries(record);
      if (pageHalvings > 0) {
        logger.warn('backfill job message delivered again: its earlier invocation died; smaller pages', {
          jobId: job.jobId,
          part: job.part,
          pageHalvings,
        });
      }
      out.push(
        await runJobMessage(job, {
          jobs,
          checkpoints,
          reports,
          sqs: sqsClient(),
          jobQueueUrl,
          remainingMs: () => context.getRemainingTimeInMillis(),
          run: await runner(job, checkpoints, { pageHalvings }),
        }),
      );
    }
    return out;
  };
}
