/**
 * Capture Lambda of DynamoDB pairs (DynamoDB stream event source, ReportBatchItemFailures): stream records →
 * envelopes (capture.ts) → the pair queue (engine/capture.ts). Lambda restarts from the lowest reported
 * sequence number.
 */
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { enqueueCaptured } from '../engine/capture';
import { logger } from '../engine/logger';
import { buildEnvelopes } from './capture';
import { captureDeps } from './deps';

const { options, sink } = captureDeps();
logger.appendKeys({ pair: options.pair });

/** Lambda entry point. */
export const handler = (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> =>
  enqueueCaptured(buildEnvelopes(event.Records, options), event.Records.length, sink);
