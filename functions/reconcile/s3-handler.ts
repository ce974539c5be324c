/**
 * Reconcile Lambda of S3 pairs (EventBridge schedule): continues, or starts, the pair's reconcile run until
 * the invocation's time is nearly up; what happens after is the DynamoDB reconciler's (run-outcome.ts).
 */
import type { Context } from 'aws-lambda';
import { type ChecksumAlgorithm, copySettingsFromEnv } from '../copy/core';
import { S3TombstoneStore } from '../copy/s3-store';
import { dynamoClient, requiredEnv, sqsClient } from '../shared/clients';
import { logger } from '../shared/powertools';
import { type BucketTargetEnv, s3Client } from '../shared/s3-clients';
import { ReadBudget } from './budget';
import { DynamoCheckpointStore } from './dynamo-reader';
import { enqueueRepairs } from './repair';
import { DynamoReportStore } from './report-store';
import { DEADLINE_MARGIN_MS, finishInvocation, type ReconcileSummary } from './run-outcome';
import { runS3Reconcile, type S3ReconcileDeps } from './s3-core';
import { S3BucketReader } from './s3-reader';

const RECHECK_DELAY_MS = Number(process.env.RECHECK_DELAY_MS ?? '5000');
const PAIR = requiredEnv('PAIR_NAME');
const SOURCE_REGION = requiredEnv('SOURCE_REGION');
const QUEUE_URL = requiredEnv('QUEUE_URL');
const TARGETS = JSON.parse(requiredEnv('TARGETS')) as BucketTargetEnv[];
const PREFIX = process.env.PREFIX || undefined;
const SUFFIX = process.env.SUFFIX || undefined;
const REPAIR = process.env.REPAIR === 'true';
const DELETE_EXTRA = process.env.DELETE_EXTRA === 'true';
/** S3 requests per second over the whole run (the config's readRate). */
const READ_RATE = Number(process.env.READ_RATE ?? '100');
const CHECKSUM: ChecksumAlgorithm = copySettingsFromEnv(process.env).checksumAlgorithm;

const stateClient = dynamoClient({ region: requiredEnv('AWS_REGION') });
const STATE_TABLE = requiredEnv('STATE_TABLE');
const checkpoints = new DynamoCheckpointStore(stateClient, STATE_TABLE);
const reports = new DynamoReportStore(stateClient, STATE_TABLE);
const tombstones = new S3TombstoneStore(stateClient, STATE_TABLE);
const source = new S3BucketReader(s3Client({ region: SOURCE_REGION }), requiredEnv('SOURCE_BUCKET'));
const targets = TARGETS.map((t) => ({ id: t.id, bucket: new S3BucketReader(s3Client(t), t.bucket) }));
logger.appendKeys({ pair: PAIR });

/** Lambda entry point (EventBridge scheduled event; its content is not used). */
export async function handler(_event: unknown, context: Context): Promise<ReconcileSummary> {
  const deps: S3ReconcileDeps = {
    pair: PAIR,
    origin: SOURCE_REGION,
    ...(PREFIX ? { prefix: PREFIX } : {}),
    ...(SUFFIX ? { suffix: SUFFIX } : {}),
    source,
    targets,
    store: checkpoints,
    tombstones,
    checksumAlgorithm: CHECKSUM,
    budget: new ReadBudget({ readRate: READ_RATE }),
    repair: REPAIR,
    deleteExtra: DELETE_EXTRA,
    enqueue: async (targetId, envelopes) => {
      await enqueueRepairs(sqsClient(), QUEUE_URL, envelopes, { pair: PAIR, origin: SOURCE_REGION, targetId });
    },
    recheckDelayMs: RECHECK_DELAY_MS,
  };
  const result = await runS3Reconcile(deps, {
    deadlineMs: Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS,
  });
  return finishInvocation(result, reports);
}
