/**
 * Apply Lambda of DynamoDB pairs (SQS event source on the pair queue, ReportBatchItemFailures): the engine's
 * message handler over the table apply path (apply.ts), with the dependencies of deps.ts.
 */
import { messageHandler } from '../engine/message-handler';
import { applyDeps } from './deps';

/** Lambda entry point. */
export const handler = messageHandler(applyDeps());
