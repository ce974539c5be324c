/**
 * S3 capture Lambda: a thin adapter from the events queue (S3 notifications → SQS) to the S3 capture core.
 *
 * Like DynamoDB capture, not built on Powertools' BatchProcessor: envelopes of many messages are packed
 * together. Failures are still reported per message (ReportBatchItemFailures), so SQS redelivers only the
 * event messages whose envelopes were not enqueued; their re-sent envelopes are duplicates the copier ignores.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { sendMessages } from '../capture/core';
import { requiredEnv, sqsClient } from '../shared/clients';
import { logger } from '../shared/powertools';
import { buildS3Envelopes, packS3Messages, type S3CaptureOptions } from './core';

const QUEUE_URL = requiredEnv('QUEUE_URL');
const OPTIONS: S3CaptureOptions = {
  pair: requiredEnv('PAIR_NAME'),
  origin: requiredEnv('ORIGIN_REGION'),
  bucket: requiredEnv('SOURCE_BUCKET'),
  prefix: process.env.PREFIX || undefined,
  suffix: process.env.SUFFIX || undefined,
  envelopesPerMessage: Number(process.env.ENVELOPES_PER_MESSAGE ?? '25'),
};
const SQS = sqsClient();
logger.appendKeys({ pair: OPTIONS.pair });

/** Lambda entry point (SQS event source on the events queue, ReportBatchItemFailures). */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const batch = buildS3Envelopes(event.Records, OPTIONS);
  const messages = packS3Messages(batch.envelopes, OPTIONS);
  const sent = await sendMessages(SQS, QUEUE_URL, messages);
  for (const bad of batch.invalid) logger.error('event message cannot be captured', bad);
  if (sent.failed.length > 0)
    logger.warn('messages not enqueued', { records: sent.failed.length, reason: sent.failed[0]?.reason });
  logger.info('captured', {
    messages: event.Records.length,
    envelopes: sent.sentEnvelopes,
    sent: sent.sentMessages,
    requests: sent.requests,
    skipped: batch.skipped.length,
    failed: sent.failed.length + batch.invalid.length,
  });
  const failedIds = new Set([...batch.invalid, ...sent.failed].map((f) => f.recordId));
  return { batchItemFailures: [...failedIds].map((itemIdentifier) => ({ itemIdentifier })) };
};
