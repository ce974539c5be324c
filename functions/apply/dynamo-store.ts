/**
 * The apply core's stores on DynamoDB: version-guarded writes on targets, tombstones in the pair's state
 * table, consistent reads of the source.
 */
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  type AttrMap,
  fromSdkMap,
  ORIGIN_ATTR,
  toSdkMap,
  VERSION_ATTR,
  withoutReplicationAttributes,
} from '../shared/attributes';
import type { SourceReader, TargetStore, TombstoneStore, WriteOutcome } from './core';

/** The condition of rule 1: the target takes a write only if it holds no newer or equal version. */
function newerGuard(version: string) {
  return {
    ConditionExpression: 'attribute_not_exists(#v) OR #v < :v',
    ExpressionAttributeNames: { '#v': VERSION_ATTR },
    ExpressionAttributeValues: { ':v': { S: version } },
  };
}

function isConditionFailure(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    (err as { name?: string } | null)?.name === 'ConditionalCheckFailedException'
  );
}

/** Runs a version-guarded write: a failed condition means the target already holds a newer version. */
async function guarded(write: () => Promise<unknown>): Promise<WriteOutcome> {
  try {
    await write();
    return 'applied';
  } catch (err) {
    if (isConditionFailure(err)) return 'stale';
    throw err;
  }
}

/** A target table written with conditional PutItem/DeleteItem guarded by `rep:v`. */
export class DynamoTargetStore implements TargetStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async putIfNewer(key: AttrMap, image: AttrMap, version: string, origin: string): Promise<WriteOutcome> {
    return guarded(() =>
      this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: toSdkMap({ ...image, ...key, [VERSION_ATTR]: { S: version }, [ORIGIN_ATTR]: { S: origin } }),
          ...newerGuard(version),
        }),
      ),
    );
  }

  async deleteIfOlder(key: AttrMap, version: string): Promise<WriteOutcome> {
    return guarded(() =>
      this.client.send(new DeleteItemCommand({ TableName: this.table, Key: toSdkMap(key), ...newerGuard(version) })),
    );
  }

  async deleteIfVersion(key: AttrMap, version: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: toSdkMap(key),
          ConditionExpression: '#v = :v',
          ExpressionAttributeNames: { '#v': VERSION_ATTR },
          ExpressionAttributeValues: { ':v': { S: version } },
        }),
      );
    } catch (err) {
      // Already replaced by a newer version or already gone: nothing of ours left to undo.
      if (!isConditionFailure(err)) throw err;
    }
  }
}

/** How long a tombstone outlives its delete: SQS's longest retention (14 days) plus a day. */
export const TOMBSTONE_TTL_SECONDS = 15 * 24 * 3600;

/** Prefix of DynamoDB items' tombstones in the state table. */
export const TOMBSTONE_PREFIX = 'tomb#';

/** Partition key of a key's tombstone in the state table. */
export function tombstoneKey(hash: string, prefix = TOMBSTONE_PREFIX): string {
  return `${prefix}${hash}`;
}

/**
 * Tombstones in the pair's state table (`pk` = prefix + key hash, `version`, `ttl`). Pair types keep theirs
 * under their own prefix, so one state table can hold both.
 */
export class DynamoTombstoneStore implements TombstoneStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
    private readonly prefix: string = TOMBSTONE_PREFIX,
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
      if (!isConditionFailure(err)) throw err;
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

/** Consistent reads of the source table, without Replicator's own attributes. */
export class DynamoSourceReader implements SourceReader {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async get(key: AttrMap): Promise<AttrMap | undefined> {
    const res = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: toSdkMap(key), ConsistentRead: true }),
    );
    return res.Item ? withoutReplicationAttributes(fromSdkMap(res.Item)) : undefined;
  }
}
