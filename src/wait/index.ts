/**
 * `waitForReplication`: synchronous commits on top of asynchronous replication. Given a pair and what the
 * caller wrote (DynamoDB keys, S3 keys with their ETags, or every object under a prefix), it returns when every
 * target holds that version or a newer one, reading the targets directly (never the queues: one read per
 * target and attempt, with backoff), or throws a {@link ReplicationTimeoutError} naming the targets that lag.
 *
 * ```ts
 * await putCheckpoint(...);                        // the checkpoint's objects under ckpt/step-1000/
 * await waitForReplication({ pair, sourceRegion, prefix: 'ckpt/step-1000/', timeoutMs: 120_000 });
 * await commitManifest(...);                       // only now: every region holds the checkpoint
 * ```
 */
import type { DynamoPairConfig, PairConfig, S3PairConfig } from '../../lib/config';
import { dynamoCheckers, type ItemVersion } from './dynamodb';
import { type TargetChecker, type WaitResult, type WaitTiming, WaitUsageError, waitUntilHeld } from './engine';
import { type ObjectVersion, s3Checkers } from './s3';

export type { ItemVersion } from './dynamodb';
export { type LaggingTarget, ReplicationTimeoutError, type WaitResult, WaitUsageError } from './engine';
export type { ObjectVersion } from './s3';

/** Options of {@link waitForReplication}. */
export interface WaitOptions extends WaitTiming {
  readonly pair: PairConfig;
  /** Region of the pair's source. */
  readonly sourceRegion: string;
  /** AWS endpoint override (e.g. the local cloud). @default - the SDK's endpoints */
  readonly endpoint?: string;
  /** DynamoDB pairs: the items written (keys, and the items or `writtenAt`). */
  readonly items?: readonly ItemVersion[];
  /** S3 pairs: the objects written, with the ETags S3 returned. */
  readonly objects?: readonly ObjectVersion[];
  /** S3 pairs: every object under this prefix, as the source holds it when the wait starts. */
  readonly prefix?: string;
  /** Only these targets (ids). @default - every target of the pair */
  readonly targets?: readonly string[];
}

/** Each pair type's checkers (a mapped type: a new pair type is a compile error until it has its own). */
const CHECKERS: {
  readonly [K in PairConfig['type']]: (
    pair: Extract<PairConfig, { type: K }>,
    o: WaitOptions,
  ) => Promise<{ checkers: TargetChecker[]; keys: number }>;
} = {
  dynamodb: (pair: DynamoPairConfig, o) => {
    if (o.objects || o.prefix !== undefined)
      throw new WaitUsageError(`pair "${pair.name}" is a table pair: give items`);
    return dynamoCheckers(pair, { ...o, items: o.items ?? [] });
  },
  s3: (pair: S3PairConfig, o) => {
    if (o.items) throw new WaitUsageError(`pair "${pair.name}" is a bucket pair: give objects or a prefix`);
    return s3Checkers(pair, o);
  },
};

/** Waits until every target of the pair holds what the caller wrote (or newer); see the module's comment. */
export async function waitForReplication(o: WaitOptions): Promise<WaitResult> {
  const make = CHECKERS[o.pair.type] as (
    pair: PairConfig,
    o: WaitOptions,
  ) => Promise<{
    checkers: TargetChecker[];
    keys: number;
  }>;
  const { checkers, keys } = await make(o.pair, o);
  if (checkers.length === 0)
    throw new WaitUsageError(`pair "${o.pair.name}" has no target ${o.targets?.join(', ') ?? ''}`);
  return waitUntilHeld(checkers, keys, o);
}
