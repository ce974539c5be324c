/**
 * Copy Lambda: a thin adapter from SQS batches of S3 envelopes to the copy core, on Powertools'
 * BatchProcessor like apply (each message succeeds or fails on its own; partial batch responses report the
 * failures). Re-sends and dead letters are apply's (functions/shared/messages.ts).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand, type SendMessageCommandInput } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { dynamoClient, requiredEnv, sqsClient } from '../shared/clients';
import type { Envelope } from '../shared/envelope';
import { RetryableApplyError, reasonOf } from '../shared/errors';
import { ALL_TARGETS, ATTEMPT_ATTR, deadLetterRequest, resendRequest, TARGET_ATTR } from '../shared/messages';
import { logger, metricsFor } from '../shared/powertools';
import { s3Client } from '../shared/s3-clients';
import { parseS3Body, type S3Envelope } from '../shared/s3-envelope';
import {
  type CopyDeps,
  type CopyResult,
  type CopyTarget,
  copyEnvelopes,
  copySettingsFromEnv,
  planCopyMessage,
} from './core';
import { S3SourceBucket, S3TargetBucket, S3TombstoneStore } from './s3-store';

interface TargetEnv {
  readonly id: string;
  readonly region: string;
  readonly bucket: string;
  readonly roleArn?: string;
  readonly externalId?: string;
  readonly storageClass?: string;
}

const PAIR = requiredEnv('PAIR_NAME');
const QUEUE_URL = requiredEnv('QUEUE_URL');
const DLQ_URL = requiredEnv('DLQ_URL');
const MAX_ATTEMPTS = Number(process.env.MAX_ATTEMPTS ?? '5');
const TARGETS = JSON.parse(requiredEnv('TARGETS')) as TargetEnv[];
const SETTINGS = copySettingsFromEnv(process.env);
const SQS = sqsClient();
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
const METRICS = new Map<string, Metrics>(TARGETS.map((t) => [t.id, metricsFor({ Pair: PAIR, Target: t.id })]));
const PAIR_METRICS = metricsFor({ Pair: PAIR });
const processor = new BatchProcessor(EventType.SQS);
logger.appendKeys({ pair: PAIR });

function emit(result: CopyResult): void {
  for (const [targetId, r] of result) {
    const m = METRICS.get(targetId)!;
    if (r.applied.length > 0) {
      m.addMetric('ReplicatedItems', MetricUnit.Count, r.applied.length);
      m.addMetric(
        'ReplicatedBytes',
        MetricUnit.Bytes,
        r.applied.reduce((s, a) => s + a.bytes, 0),
      );
      for (const a of r.applied) {
        m.addMetric('ReplicationLatency', MetricUnit.Milliseconds, a.latencyMs);
        m.addMetric('DeliveryLatency', MetricUnit.Milliseconds, a.deliveryMs);
      }
      const unverified = r.applied.filter((a) => a.unverified).length;
      if (unverified > 0) m.addMetric('UnverifiedCopies', MetricUnit.Count, unverified);
    }
    if (r.stale.length > 0) m.addMetric('StaleSkipped', MetricUnit.Count, r.stale.length);
    if (r.failed.length > 0) m.addMetric('ApplyErrors', MetricUnit.Count, r.failed.length);
  }
}

async function send(input: SendMessageCommandInput): Promise<void> {
  await SQS.send(new SendMessageCommand(input));
}

async function deadLetter(
  body: string,
  targetId: string,
  reason: string,
  errorName: string,
  attempt: number,
  count: number,
) {
  await send(deadLetterRequest(DLQ_URL, { body, pair: PAIR, targetId, reason, errorName, attempt }));
  (METRICS.get(targetId) ?? PAIR_METRICS).addMetric('DeadLettered', MetricUnit.Count, count);
  logger.error('dead-lettered', { target: targetId, envelopes: count, reason, attempt });
}

async function copyMessage(record: SQSRecord): Promise<void> {
  const attempt =
    Number(record.messageAttributes[ATTEMPT_ATTR]?.stringValue ?? '0') +
    Number(record.attributes.ApproximateReceiveCount);
  let envelopes: S3Envelope[];
  try {
    envelopes = parseS3Body(record.body);
  } catch (err) {
    // Cannot be copied as it is, ever: to the DLQ with the parse error, the body kept as it came.
    await deadLetter(record.body, ALL_TARGETS, reasonOf(err), 'MalformedEnvelopeError', attempt, 1);
    return;
  }
  const only = record.messageAttributes[TARGET_ATTR]?.stringValue;
  const targets = only ? COPY_TARGETS.filter((t) => t.id === only) : COPY_TARGETS;
  if (targets.length === 0) {
    await deadLetter(
      record.body,
      only ?? ALL_TARGETS,
      `unknown target "${only}" for pair ${PAIR}`,
      'UnknownTarget',
      attempt,
      envelopes.length,
    );
    return;
  }
  const result = await copyEnvelopes(envelopes, targets, DEPS);
  emit(result);
  const plan = planCopyMessage(envelopes, result, attempt, MAX_ATTEMPTS);
  if (plan.retryWhole) {
    const first = [...result.values()].flatMap((r) => r.failed)[0];
    throw new RetryableApplyError(
      `every envelope failed (attempt ${attempt}): ${reasonOf(first?.error)}`,
      first?.error,
    );
  }
  for (const r of plan.resend) {
    // resendRequest only serializes the envelopes: the S3 shape passes through unchanged.
    await send(
      resendRequest(QUEUE_URL, { envelopes: r.envelopes as unknown as Envelope[], targetId: r.targetId, attempt }),
    );
    logger.warn('re-sent failed envelopes', { target: r.targetId, envelopes: r.envelopes.length, attempt });
  }
  for (const d of plan.deadLetter) {
    await deadLetter(JSON.stringify(d.envelopes), d.targetId, d.reason, d.errorName, attempt, d.envelopes.length);
  }
}

/** Lambda entry point (SQS event source, ReportBatchItemFailures). */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  try {
    return await processPartialResponse(event, copyMessage, processor, { context, throwOnFullBatchFailure: false });
  } finally {
    // Only emitters that hold metrics: an empty flush makes Powertools warn on every invocation.
    for (const m of [...METRICS.values(), PAIR_METRICS]) if (m.hasStoredMetrics()) m.publishStoredMetrics();
  }
};
