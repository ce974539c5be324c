/**
 * Copy Lambda of S3 pairs (SQS event source on the pair queue, ReportBatchItemFailures): the engine's message
 * handler over the S3 copy path (copy.ts), with the dependencies of deps.ts.
 */
import { messageHandler } from '../engine/message-handler';
import { copyDeps } from './deps';

/** Lambda entry point. */
export const handler = messageHandler(copyDeps());
