/**
 * `wait` for DynamoDB pairs: a target holds the wanted version of an item when its copy has the item's
 * canonical checksum (the pair's attribute filter applied, `rep:` attributes ignored), or a version (`rep:v`,
 * whose first 15 digits are the change's stream time in ms) from after the caller's write. A deleted item is
 * held when the target has no item. Up to 100 keys cost one BatchGetItem per target and attempt.
 */
import { type AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type AttrMap, canonicalKey, fromSdkMap, VERSION_ATTR } from '../../functions/dynamodb/attributes';
import { itemChecksum, keyOf } from '../../functions/dynamodb/checksum';
import { keyNamesOf } from '../../functions/dynamodb/deps';
import { DynamoTableReader } from '../../functions/dynamodb/reader';
import { chunks } from '../../functions/engine/concurrency';
import type { DynamoPairConfig } from '../../lib/config';
import { tableTargetsEnv } from '../../lib/pair-types/dynamodb-schema';
import { clientConfig, targetClientConfig } from '../cli/aws';
import { type TargetChecker, WaitUsageError } from './engine';

type SdkMap = Record<string, AttributeValue>;

/** What the caller wrote: an item's key, and the item (or null for a delete), or nothing to read it now. */
export interface ItemVersion {
  readonly key: SdkMap;
  /** The item as written; `null` for a delete. @default - the source's item, read once (strongly) at the start */
  readonly item?: SdkMap | null;
  /** When it was written (epoch ms): a target copy of a later change counts as newer. @default - no newer check */
  readonly writtenAt?: number;
}

/** The checkers of a DynamoDB pair's targets for some items. */
export async function dynamoCheckers(
  pair: DynamoPairConfig,
  o: {
    readonly sourceRegion: string;
    readonly endpoint?: string;
    readonly items: readonly ItemVersion[];
    readonly targets?: readonly string[];
  },
): Promise<{ checkers: TargetChecker[]; keys: number }> {
  if (o.items.length === 0) throw new WaitUsageError(`nothing to wait for in pair "${pair.name}": no key`);
  const sourceClient = new DynamoDBClient(clientConfig({ region: o.sourceRegion, endpoint: o.endpoint }));
  const keyNames = await keyNamesOf(sourceClient, pair.source.table);
  const source = new DynamoTableReader(sourceClient, pair.source.table);
  const wanted = new Map<string, { key: AttrMap; sum: string | null; writtenAt?: number }>();
  for (const v of o.items) {
    const key = keyOf(fromSdkMap(v.key), keyNames);
    if (!key || Object.keys(v.key).length !== keyNames.length) {
      throw new WaitUsageError(
        `key ${JSON.stringify(v.key)} is not a key of ${pair.source.table} (${keyNames.join(', ')})`,
      );
    }
    // Without the item, the source's, read once (strongly) now.
    const item = v.item === undefined ? ((await source.getConsistent(key)) ?? null) : v.item && fromSdkMap(v.item);
    wanted.set(canonicalKey(key), {
      key,
      sum: item === null ? null : itemChecksum(item, { keyNames, filter: pair.filter }),
      ...(v.writtenAt !== undefined ? { writtenAt: v.writtenAt } : {}),
    });
  }

  const targets = tableTargetsEnv(pair).filter((t) => !o.targets || o.targets.includes(t.id));
  const checkers = targets.map((t): TargetChecker => {
    // The reconciler's reader: BatchGetItem of up to 100 keys, unprocessed keys asked again with backoff.
    const reader = new DynamoTableReader(new DynamoDBClient(targetClientConfig(t, o.endpoint)), t.table);
    const pending = new Map(wanted);
    return {
      target: t.id,
      async check() {
        for (const batch of chunks([...pending.entries()], 100)) {
          const found = new Map<string, AttrMap>();
          for (const it of await reader.getMany(batch.map(([, w]) => w.key))) {
            const k = keyOf(it, keyNames);
            if (k) found.set(canonicalKey(k), it);
          }
          for (const [ck, want] of batch) {
            const there = found.get(ck);
            const version = there?.[VERSION_ATTR];
            const newer =
              want.writtenAt !== undefined &&
              version !== undefined &&
              'S' in version &&
              Number(version.S.slice(0, 15)) > want.writtenAt;
            const same =
              want.sum === null ? there === undefined : there !== undefined && itemChecksum(there) === want.sum;
            if (same || newer) pending.delete(ck);
          }
        }
        return pending.size;
      },
    };
  });
  return { checkers, keys: wanted.size };
}
