/**
 * DynamoDB's side of the retryable/poison split (engine/errors.ts holds the engine's).
 */
import { nameOf, poisonTest } from '../engine/errors';

/**
 * Whether a DynamoDB (or envelope) error is poison: retrying the same envelope cannot help. ValidationException
 * and SerializationException are the engine's already (its state table is DynamoDB too).
 */
export const isTablePoison = poisonTest(['ItemCollectionSizeLimitExceededException']);

/** Whether a conditional write failed its condition (the target holds a newer or equal version). */
export function isConditionFailure(err: unknown): boolean {
  return nameOf(err) === 'ConditionalCheckFailedException';
}
