/**
 * DynamoDB pairs' stores: target tables written with version-guarded conditional writes, and consistent reads
 * of the source. The apply path (apply.ts) adapts them to the engine's convergence algorithm.
 */
import { DeleteItemCommand, type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { WriteOutcome } from '../engine/convergence';
import { DynamoTombstoneStore } from '../engine/tombstones';
import {
  type AttrMap,
  fromSdkMap,
  ORIGIN_ATTR,
  toSdkMap,
  VERSION_ATTR,
  withoutReplicationAttributes,
} from './attributes';
import { isConditionFailure } from './errors';

/** Prefix of table keys' tombstones in the pair's state table. */
export const TABLE_TOMBSTONE_PREFIX = 'tomb#';

/** One target table, reached through version-guarded writes. */
export interface TableStore {
  /** Writes the item if the target holds no newer or equal version of it. */
  putIfNewer(key: AttrMap, image: AttrMap, version: string, origin: string): Promise<WriteOutcome>;
  /** Deletes the item if the target holds no newer or equal version of it. */
  deleteIfOlder(key: AttrMap, version: string): Promise<WriteOutcome>;
  /** Deletes the item only if it is exactly this version (undoing a put that a newer delete overtook). */
  deleteIfVersion(key: AttrMap, version: string): Promise<void>;
}

/** Reads the source's current item (for fetch envelopes, whose image was too large for SQS). */
export interface SourceReader {
  get(key: AttrMap): Promise<AttrMap | undefined>;
}

/** The condition of rule 1: the target takes a write only if it holds no newer or equal version. */
function newerGuard(version: string) {
  return {
    ConditionExpression: 'attribute_not_exists(#v) OR #v < :v',
    ExpressionAttributeNames: { '#v': VERSION_ATTR },
    ExpressionAttributeValues: { ':v': { S: version } },
  };
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
export class DynamoTargetStore implements TableStore {
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

/** Table keys' tombstones in the pair's state table (`pk` = tomb#<key hash>, `version`, `ttl`). */
export class TableTombstoneStore extends DynamoTombstoneStore {
  constructor(client: DynamoDBClient, table: string, nowSeconds?: () => number) {
    super(client, table, TABLE_TOMBSTONE_PREFIX, nowSeconds);
  }
}
