/**
 * The capture side of every pair type's capture Lambda: a batch of source records (stream records, S3 event
 * messages) turned into envelopes by the pair type, packed into as few SQS messages as the limits allow, sent
 * to the pair queue, and the records whose envelopes could not be enqueued reported as batch item failures.
 *
 * Not built on Powertools' BatchProcessor on purpose: that processes one record at a time, while capture packs
 * many records into each SQS message (fewer requests per item). Failures are still reported per record, so
 * the event source retries only those (a stream from the first failed record); envelopes sent again are
 * duplicates that apply and copy ignore (same version: rule 3).
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { logger } from './logger';
import { type CaptureBatch, type PackOptions, packMessages, sendMessages } from './queue';

/** What a capture handler reports back to its event source (DynamoDB stream or SQS: the same shape). */
export interface CaptureResponse {
  readonly batchItemFailures: { readonly itemIdentifier: string }[];
}

/** How one capture function sends. */
export interface CaptureSink {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly pack: PackOptions;
}

/** Packs and sends a batch's envelopes, logs what happened, and returns the records to retry. */
export async function enqueueCaptured(
  batch: CaptureBatch,
  records: number,
  sink: CaptureSink,
): Promise<CaptureResponse> {
  const messages = packMessages(batch.envelopes, sink.pack);
  const sent = await sendMessages(sink.sqs, sink.queueUrl, messages);
  for (const bad of batch.invalid)
    logger.error('record cannot be captured', { record: bad.recordId, reason: bad.reason });
  if (sent.failed.length > 0) {
    logger.warn('messages not enqueued', { records: sent.failed.length, reason: sent.failed[0]?.reason });
  }
  logger.info('captured', {
    records,
    envelopes: sent.sentEnvelopes,
    messages: sent.sentMessages,
    requests: sent.requests,
    skipped: batch.skipped.length,
    failed: sent.failed.length + batch.invalid.length,
  });
  const failedIds = new Set([...batch.invalid, ...sent.failed].map((f) => f.recordId));
  return { batchItemFailures: [...failedIds].map((itemIdentifier) => ({ itemIdentifier })) };
}
