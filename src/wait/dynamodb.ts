/**
 * `wait` for DynamoDB pairs: a target holds the wanted version of an item when its copy has the item's
 * canonical checksum (the pair's attribute filter applied, `rep:` attributes ignored), or a version (`rep:v`,
 * whose first 15 digits are the change's stream time in ms) from after the caller's write. A deleted item is
 * held when the target has no item. Up to 100 keys cost one BatchGetItem per target and attempt.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  DynamoDBClient,
  GetItemCommand,
} from '@aws-sdk/client-dynamodb';
import { canonicalKey, fromSdkMap, VERSION_ATTR } from '../../functions/dynamodb/attributes';
import { itemChecksum, keyOf } from '../../functions/dynamodb/checksum';
import { keyNamesOf } from '../../functions/dynamodb/deps';
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
  const source = new DynamoDBClient(clientConfig({ region: o.sourceRegion, endpoint: o.endpoint }));
  const keyNames = await keyNamesOf(source, pair.source.table);
  const wanted = new Map<string, { key: SdkMap; sum: string | null; writtenAt?: number }>();
  for (const v of o.items) {
    const key = keyOf(fromSdkMap(v.key), keyNames);
    if (!key || Object.keys(v.key).length !== keyNames.length) {
      throw new WaitUsageError(
        `key ${JSON.stringify(v.key)} is not a key of ${pair.source.table} (${keyNames.join(', ')})`,
      );
    }
    let item = v.item;
    if (item === undefined) {
      item =
        (await source.send(new GetItemCommand({ TableName: pair.source.table, Key: v.key, ConsistentRead: true })))
          .Item ?? null;
    }
    wanted.set(canonicalKey(key), {
      key: v.key,
      sum: item === null ? null : itemChecksum(fromSdkMap(item), { keyNames, filter: pair.filter }),
      ...(v.writtenAt !== undefined ? { writtenAt: v.writtenAt } : {}),
    });
  }

  const targets = tableTargetsEnv(pair).filter((t) => !o.targets || o.targets.includes(t.id));
  const checkers = targets.map((t): TargetChecker => {
    const client = new DynamoDBClient(targetClientConfig(t, o.endpoint));
    const pending = new Map(wanted);
    return {
      target: t.id,
      async check() {
        for (const batch of chunks([...pending.entries()], 100)) {
          const res: BatchGetItemCommandOutput = await client.send(
            new BatchGetItemCommand({ RequestItems: { [t.table]: { Keys: batch.map(([, w]) => w.key) } } }),
          );
          const found = new Map<string, SdkMap>();
          for (const it of res.Responses?.[t.table] ?? []) {
            const k = keyOf(fromSdkMap(it), keyNames);
            if (k) found.set(canonicalKey(k), it);
          }
          const unprocessed = new Set(
            (res.UnprocessedKeys?.[t.table]?.Keys ?? []).map((k) => canonicalKey(keyOf(fromSdkMap(k), keyNames)!)),
          );
          for (const [ck, want] of batch) {
            if (unprocessed.has(ck)) continue;
            const there = found.get(ck);
            const version = there?.[VERSION_ATTR]?.S;
            const newer =
              want.writtenAt !== undefined && version !== undefined && Number(version.slice(0, 15)) > want.writtenAt;
            const same =
              want.sum === null
                ? there === undefined
                : there !== undefined && itemChecksum(fromSdkMap(there)) === want.sum;
            if (same || newer) pending.delete(ck);
          }
        }
        return pending.size;
      },
    };
  });
  return { checkers, keys: wanted.size };
}
