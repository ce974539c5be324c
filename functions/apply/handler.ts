/**
 * Apply Lambda: wires the DynamoDB apply core to the shared SQS message handling (parse, apply to the
 * message's targets, metrics, re-send / dead-letter / retry).
 */
import type { AttributeFilter } from '../shared/attributes';
import { dynamoClient, requiredEnv, sqsClient, type TableTargetEnv } from '../shared/clients';
import { parseBody } from '../shared/envelope';
import { messageHandler } from '../shared/message-handler';
import { type ApplyDeps, type ApplyTarget, applyEnvelopes } from './core';
import { DynamoSourceReader, DynamoTargetStore, DynamoTombstoneStore } from './dynamo-store';

const TARGETS = JSON.parse(requiredEnv('TARGETS')) as TableTargetEnv[];
const APPLY_TARGETS: ApplyTarget[] = TARGETS.map((t) => ({
  id: t.id,
  store: new DynamoTargetStore(dynamoClient(t), t.table),
}));
const DEPS: ApplyDeps = {
  targets: APPLY_TARGETS,
  tombstones: new DynamoTombstoneStore(dynamoClient({ region: requiredEnv('AWS_REGION') }), requiredEnv('STATE_TABLE')),
  source: new DynamoSourceReader(dynamoClient({ region: requiredEnv('SOURCE_REGION') }), requiredEnv('SOURCE_TABLE')),
  filter: process.env.FILTER ? (JSON.parse(process.env.FILTER) as AttributeFilter) : undefined,
};

/** Lambda entry point (SQS event source, ReportBatchItemFailures). */
export const handler = messageHandler({
  pair: requiredEnv('PAIR_NAME'),
  queueUrl: requiredEnv('QUEUE_URL'),
  dlqUrl: requiredEnv('DLQ_URL'),
  maxAttempts: Number(process.env.MAX_ATTEMPTS ?? '5'),
  targets: APPLY_TARGETS,
  sqs: sqsClient(),
  parse: parseBody,
  apply: (envelopes, targets) => applyEnvelopes(envelopes, targets, DEPS),
});
