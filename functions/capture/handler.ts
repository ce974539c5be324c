/**
 * Capture Lambda: a thin adapter from DynamoDB stream batches to the capture core.
 *
 * Not built on Powertools' BatchProcessor on purpose: that processes one record at a time, while capture
 * packs many records into each SQS message (fewer requests per item). Failures are still reported per
 * record, as a partial batch response, so Lambda retries only from the first record not enqueued.
 */
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import type { AttributeFilter } from '../shared/attributes';
import { requiredEnv, sqsClient } from '../shared/clients';
import { logger } from '../shared/powertools';
import { buildEnvelopes, type CaptureOptions, packMessages, sendMessages } from './core';

const QUEUE_URL = requiredEnv('QUEUE_URL');
const OPTIONS: CaptureOptions = {
  pair: requiredEnv('PAIR_NAME'),
  origin: requiredEnv('ORIGIN_REGION'),
  filter: process.env.FILTER ? (JSON.parse(process.env.FILTER) as AttributeFilter) : undefined,
  envelopesPerMessage: Number(process.env.ENVELOPES_PER_MESSAGE ?? '25'),
};
const SQS = sqsClient();
logger.appendKeys({ pair: OPTIONS.pair });

/** Lambda entry point (DynamoDB stream event source, ReportBatchItemFailures). */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const batch = buildEnvelopes(event.Records, OPTIONS);
  const messages = packMessages(batch.envelopes, OPTIONS);
  const sent = await sendMessages(SQS, QUEUE_URL, messages);
  for (const bad of batch.invalid)
    logger.error('record cannot be captured', { sequenceNumber: bad.recordId, reason: bad.reason });
  if (sent.failed.length > 0)
    logger.warn('messages not enqueued', { records: sent.failed.length, reason: sent.failed[0]?.reason });
  logger.info('captured', {
    records: event.Records.length,
    envelopes: sent.sentEnvelopes,
    messages: sent.sentMessages,
    requests: sent.requests,
    skipped: batch.skipped.length,
    failed: sent.failed.length + batch.invalid.length,
  });
  // Lambda restarts from the lowest reported sequence number; records after it are sent again, which
  // apply ignores (same version: rule 3).
  const failedIds = new Set([...batch.invalid, ...sent.failed].map((f) => f.recordId));
  return { batchItemFailures: [...failedIds].map((itemIdentifier) => ({ itemIdentifier })) };
};
