/**
 * Capture Lambda of S3 pairs (SQS event source on the events queue, ReportBatchItemFailures): S3 notifications
 * → envelopes (capture.ts) → the pair queue (engine/capture.ts). SQS redelivers only the event messages
 * whose envelopes were not enqueued.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { enqueueCaptured } from '../engine/capture';
import { logger } from '../engine/logger';
import { buildS3Envelopes } from './capture';
import { captureDeps } from './deps';

const { options, sink } = captureDeps();
logger.appendKeys({ pair: options.pair });

/** Lambda entry point. */
export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  enqueueCaptured(buildS3Envelopes(event.Records, options), event.Records.length, sink);
