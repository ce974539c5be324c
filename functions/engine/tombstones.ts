/**
 * Tombstones, whatever the pair type: the newest delete version of each key, kept in the pair's state table
 * (never in a target, DESIGN rule 5) so a late, older put can see that a delete overtook it (rule 2).
 */
import { BatchGetItemCommand, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { nameOf } from './errors';
import { isNewer } from './version';

/** The pair's tombstones: the newest delete version of each key (in the pair's state table). */
export interface TombstoneStore {
  /** Records a delete of the key at this version (keeps the newest one). */
  record(hash: string, version: string): Promise<void>;
  /** Newest tombstone version per key hash, read consistently; keys without a tombstone are absent. */
  newest(hashes: readonly string[]): Promise<Map<string, string>>;
}

/**
 * Of a target's extras (in the target, not in the source), the lost deletes, whatever the pair type: those whose
 * key has a tombstone newer than the target's copy (its version; none for a copy Replicator did not write). By
 * key hash, the tombstone's version, which the repair deletes at. None without a tombstone store.
 */
export async function lostDeletes(
  tombstones: Pick<TombstoneStore, 'newest'> | undefined,
  extras: readonly { readonly hash: string; readonly version?: string | undefined }[],
): Promise<Map<string, string>> {
  const lost = new Map<string, string>();
  if (!tombstones || extras.length === 0) return lost;
  const tombs = await tombstones.newest(extras.map((x) => x.hash));
  for (const x of extras) {
    const tomb = tombs.get(x.hash);
    if (tomb !== undefined && isNewer(tomb, x.version)) lost.set(x.hash, tomb);
  }
  return lost;
}

/** How long a tombstone outlives its delete: SQS's longest retention (14 days) plus a day. */
export const TOMBSTONE_TTL_SECONDS = 15 * 24 * 3600;

/** Partition key of a key's tombstone in the state table, under its pair type's prefix. */
export function tombstoneKey(hash: string, prefix: string): string {
  return `${prefix}${hash}`;
}

/**
 * Tombstones in the pair's state table (`pk` = prefix + key hash, `version`, `ttl`). Each pair type keeps
 * its own under its own prefix (`tomb#` for tables, `s3tomb#` for objects).
 */
export class DynamoTombstoneStore implements TombstoneStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly prefix: string,
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  async record(hash: string, version: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: { S: tombstoneKey(hash, this.prefix) } },
          UpdateExpression: 'SET #ver = :v, #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(#ver) OR #ver < :v',
          ExpressionAttributeNames: { '#ver': 'version', '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':v': { S: version },
            ':ttl': { N: String(this.nowSeconds() + TOMBSTONE_TTL_SECONDS) },
          },
        }),
      );
    } catch (err) {
      // An equal or newer tombstone is already there: that is what we wanted.
      if (nameOf(err) !== 'ConditionalCheckFailedException') throw err;
    }
  }

  async newest(hashes: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < hashes.length; i += 100) {
      let keys = hashes.slice(i, i + 100).map((h) => ({ pk: { S: tombstoneKey(h, this.prefix) } }));
      for (let round = 0; keys.length > 0; round++) {
        if (round > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** round)));
        if (round > 8) throw new Error(`BatchGetItem left ${keys.length} keys unprocessed after ${round} rounds`);
        const res = await this.client.send(
          new BatchGetItemCommand({
            RequestItems: {
              [this.table]: {
                Keys: keys,
                ConsistentRead: true,
                ProjectionExpression: 'pk, #ver',
                ExpressionAttributeNames: { '#ver': 'version' },
              },
            },
          }),
        );
        for (const item of res.Responses?.[this.table] ?? []) {
          const pk = item.pk?.S;
          const version = item.version?.S;
          if (pk?.startsWith(this.prefix) && version) out.set(pk.slice(this.prefix.length), version);
        }
        keys = (res.UnprocessedKeys?.[this.table]?.Keys ?? []) as typeof keys;
      }
    }
    return out;
  }
}
