/**
 * Copy Lambda: wires the S3 copy core to the shared SQS message handling (parse, copy to the message's
 * targets, metrics, re-send / dead-letter / retry), the same as DynamoDB's apply.
 */
import { dynamoClient, requiredEnv, sqsClient } from '../shared/clients';
import { messageHandler } from '../shared/message-handler';
import { type BucketTargetEnv, s3Client } from '../shared/s3-clients';
import { parseS3Body } from '../shared/s3-envelope';
import { type CopyDeps, type CopyTarget, copyEnvelopes, copySettingsFromEnv } from './core';
import { S3SourceBucket, S3TargetBucket, S3TombstoneStore } from './s3-store';

const TARGETS = JSON.parse(requiredEnv('TARGETS')) as BucketTargetEnv[];
const SETTINGS = copySettingsFromEnv(process.env);
const SOURCE = new S3SourceBucket(s3Client({ region: requiredEnv('SOURCE_REGION') }), requiredEnv('SOURCE_BUCKET'));
const COPY_TARGETS: CopyTarget[] = TARGETS.map((t) => ({
  id: t.id,
  bucket: new S3TargetBucket(s3Client(t), t.bucket, SOURCE, {
    storageClass: t.storageClass,
    // A role of another account may not read the source's tags: copy them explicitly.
    copyTagsExplicitly: t.roleArn !== undefined,
    partConcurrency: SETTINGS.concurrency,
  }),
}));
const DEPS: CopyDeps = {
  source: SOURCE,
  tombstones: new S3TombstoneStore(dynamoClient({ region: requiredEnv('AWS_REGION') }), requiredEnv('STATE_TABLE')),
  settings: SETTINGS,
};
/** Lambda entry point (SQS event source, ReportBatchItemFailures). */
export const handler = messageHandler({
  pair: requiredEnv('PAIR_NAME'),
  queueUrl: requiredEnv('QUEUE_URL'),
  dlqUrl: requiredEnv('DLQ_URL'),
  maxAttempts: Number(process.env.MAX_ATTEMPTS ?? '5'),
  targets: COPY_TARGETS,
  sqs: sqsClient(),
  parse: parseS3Body,
  apply: (envelopes, targets) => copyEnvelopes(envelopes, targets, DEPS),
});
