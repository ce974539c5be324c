/** DynamoDB pairs' stores: version-guarded target writes, consistent source reads, and table tombstones. */
import {
  BatchGetItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  DynamoSourceReader,
  DynamoTargetStore,
  TABLE_TOMBSTONE_PREFIX,
  TableTombstoneStore,
} from '../../../functions/dynamodb/store';
import { TOMBSTONE_TTL_SECONDS } from '../../../functions/engine/tombstones';
import { streamVersion } from '../../../functions/engine/version';

const ddb = mockClient(DynamoDBClient);
beforeEach(() => ddb.reset());
afterEach(() => {
  vi.useRealTimers();
});

/** An error as the SDK throws it: a name and the HTTP status in `$metadata`. */
function ddbError(name: string, status = 400): Error {
  return Object.assign(new Error(`${name} from the mock`), { name, $metadata: { httpStatusCode: status } });
}

const conditionFailed = () => ddbError('ConditionalCheckFailedException');
const throttled = () => ddbError('ProvisionedThroughputExceededException');

const TABLE = 'orders-eu';
const STATE = 'replicator-orders-state';
const V1 = streamVersion(1_700_000_000, '100');
const V2 = streamVersion(1_700_000_001, '200');
const key = { pk: { S: 'order#1' }, sk: { N: '7' } };
const store = () => new DynamoTargetStore(new DynamoDBClient({}), TABLE);

/** The condition of rule 1 on `rep:v`, exactly as every guarded write must carry it. */
const newerGuard = (version: string) => ({
  ConditionExpression: 'attribute_not_exists(#v) OR #v < :v',
  ExpressionAttributeNames: { '#v': 'rep:v' },
  ExpressionAttributeValues: { ':v': { S: version } },
});

describe('DynamoTargetStore.putIfNewer', () => {
  it('writes the image with its key, version and origin, only over an absent or older version', async () => {
    ddb.on(PutItemCommand).resolves({});
    const image = { ...key, total: { N: '12.5' }, blob: { B: 'AQI=' } };
    expect(await store().putIfNewer(key, image, V1, 'us-east-1')).toBe('applied');
    expect(ddb).toHaveReceivedCommandTimes(PutItemCommand, 1);
    expect(ddb.commandCalls(PutItemCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Item: {
        pk: { S: 'order#1' },
        sk: { N: '7' },
        total: { N: '12.5' },
        // Envelope JSON carries binary as base64; the SDK wants the bytes.
        blob: { B: Buffer.from([1, 2]) },
        'rep:v': { S: V1 },
        'rep:o': { S: 'us-east-1' },
      },
      ...newerGuard(V1),
    });
  });

  it("lets the envelope's version, origin and key win over the image's own", async () => {
    ddb.on(PutItemCommand).resolves({});
    const image = { pk: { S: 'stale' }, sk: { N: '7' }, 'rep:v': { S: '0' }, 'rep:o': { S: 'ap-south-1' } };
    await store().putIfNewer(key, image, V1, 'us-east-1');
    expect(ddb).toHaveReceivedCommandWith(PutItemCommand, {
      Item: { pk: { S: 'order#1' }, sk: { N: '7' }, 'rep:v': { S: V1 }, 'rep:o': { S: 'us-east-1' } },
    });
  });

  it('treats a failed version condition as stale, not an error', async () => {
    ddb.on(PutItemCommand).rejects(conditionFailed());
    expect(await store().putIfNewer(key, key, V1, 'us-east-1')).toBe('stale');
  });

  it('rethrows any other failure so the message is retried', async () => {
    ddb.on(PutItemCommand).rejects(throttled());
    await expect(store().putIfNewer(key, key, V1, 'us-east-1')).rejects.toThrow(/ProvisionedThroughputExceeded/);
  });

  it('does not take a 400 of another name for a lost condition', async () => {
    ddb.on(PutItemCommand).rejects(ddbError('ValidationException'));
    await expect(store().putIfNewer(key, key, V1, 'us-east-1')).rejects.toThrow(/ValidationException/);
  });
});

describe('DynamoTargetStore.deleteIfOlder', () => {
  it('deletes the key only over an absent or older version', async () => {
    ddb.on(DeleteItemCommand).resolves({});
    expect(await store().deleteIfOlder(key, V1)).toBe('applied');
    expect(ddb.commandCalls(DeleteItemCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: key,
      ...newerGuard(V1),
    });
  });

  it('treats a failed version condition as stale: the target holds a newer or equal version', async () => {
    ddb.on(DeleteItemCommand).rejects(conditionFailed());
    expect(await store().deleteIfOlder(key, V1)).toBe('stale');
  });

  it('rethrows any other failure', async () => {
    ddb.on(DeleteItemCommand).rejects(ddbError('InternalServerError', 500));
    await expect(store().deleteIfOlder(key, V1)).rejects.toThrow(/InternalServerError/);
  });
});

describe('DynamoTargetStore.deleteIfVersion', () => {
  it('deletes the key only while it holds exactly this version', async () => {
    ddb.on(DeleteItemCommand).resolves({});
    await store().deleteIfVersion(key, V1);
    expect(ddb.commandCalls(DeleteItemCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: key,
      ConditionExpression: '#v = :v',
      ExpressionAttributeNames: { '#v': 'rep:v' },
      ExpressionAttributeValues: { ':v': { S: V1 } },
    });
  });

  it('swallows a lost condition: the item was already replaced or removed', async () => {
    ddb.on(DeleteItemCommand).rejects(conditionFailed());
    await expect(store().deleteIfVersion(key, V1)).resolves.toBeUndefined();
  });

  it('rethrows any other failure', async () => {
    ddb.on(DeleteItemCommand).rejects(throttled());
    await expect(store().deleteIfVersion(key, V1)).rejects.toThrow(/ProvisionedThroughputExceeded/);
  });
});

describe('DynamoSourceReader', () => {
  it("reads the source item consistently, without Replicator's own attributes", async () => {
    ddb.on(GetItemCommand).resolves({
      Item: { ...key, blob: { B: new Uint8Array([1, 2]) }, 'rep:v': { S: V1 }, 'rep:o': { S: 'eu-west-1' } },
    });
    const item = await new DynamoSourceReader(new DynamoDBClient({}), 'orders').get(key);
    expect(ddb.commandCalls(GetItemCommand)[0]?.args[0].input).toEqual({
      TableName: 'orders',
      Key: key,
      ConsistentRead: true,
    });
    expect(item).toEqual({ ...key, blob: { B: 'AQI=' } });
  });

  it('answers undefined when the source no longer has the item', async () => {
    ddb.on(GetItemCommand).resolves({});
    expect(await new DynamoSourceReader(new DynamoDBClient({}), 'orders').get(key)).toBeUndefined();
  });

  it('rethrows a failed read', async () => {
    ddb.on(GetItemCommand).rejects(ddbError('AccessDeniedException'));
    await expect(new DynamoSourceReader(new DynamoDBClient({}), 'orders').get(key)).rejects.toThrow(/AccessDenied/);
  });
});

describe('TableTombstoneStore.record', () => {
  const NOW = 1_700_000_000;
  const tombstones = () => new TableTombstoneStore(new DynamoDBClient({}), STATE, () => NOW);

  it('keeps tombstones for 15 days: SQS retention (14) plus one', () => {
    expect(TOMBSTONE_TTL_SECONDS).toBe(15 * 24 * 3600);
  });

  it('records the delete under tomb#<hash> with a TTL, keeping only the newest version', async () => {
    ddb.on(UpdateItemCommand).resolves({});
    await tombstones().record('k3yH4sh', V1);
    expect(TABLE_TOMBSTONE_PREFIX).toBe('tomb#');
    expect(ddb.commandCalls(UpdateItemCommand)[0]?.args[0].input).toEqual({
      TableName: STATE,
      Key: { pk: { S: 'tomb#k3yH4sh' } },
      UpdateExpression: 'SET #ver = :v, #ttl = :ttl',
      ConditionExpression: 'attribute_not_exists(#ver) OR #ver < :v',
      ExpressionAttributeNames: { '#ver': 'version', '#ttl': 'ttl' },
      ExpressionAttributeValues: { ':v': { S: V1 }, ':ttl': { N: String(NOW + 15 * 24 * 3600) } },
    });
  });

  it('defaults its clock to the current time in whole seconds', async () => {
    vi.useFakeTimers({ now: Date.UTC(2025, 0, 1, 0, 0, 0, 900) });
    ddb.on(UpdateItemCommand).resolves({});
    await new TableTombstoneStore(new DynamoDBClient({}), STATE).record('h', V1);
    const ttl = Date.UTC(2025, 0, 1) / 1000 + TOMBSTONE_TTL_SECONDS;
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, {
      ExpressionAttributeValues: { ':v': { S: V1 }, ':ttl': { N: String(ttl) } },
    });
  });

  it('treats a failed condition as done: an equal or newer tombstone is already there', async () => {
    ddb.on(UpdateItemCommand).rejects(conditionFailed());
    await expect(tombstones().record('h', V1)).resolves.toBeUndefined();
  });

  it('rethrows any other failure, so a delete is never applied without its tombstone', async () => {
    ddb.on(UpdateItemCommand).rejects(throttled());
    await expect(tombstones().record('h', V1)).rejects.toThrow(/ProvisionedThroughputExceeded/);
  });
});

describe('TableTombstoneStore.newest', () => {
  const tombstones = () => new TableTombstoneStore(new DynamoDBClient({}), STATE);
  const keysOf = (hashes: string[]) => hashes.map((h) => ({ pk: { S: `tomb#${h}` } }));

  it('reads tombstones consistently and answers their versions by key hash', async () => {
    ddb.on(BatchGetItemCommand).resolves({
      Responses: { [STATE]: [{ pk: { S: 'tomb#a' }, version: { S: V1 } }] },
    });
    const found = await tombstones().newest(['a', 'b']);
    expect(found).toEqual(new Map([['a', V1]]));
    expect(ddb.commandCalls(BatchGetItemCommand)[0]?.args[0].input).toEqual({
      RequestItems: {
        [STATE]: {
          Keys: keysOf(['a', 'b']),
          ConsistentRead: true,
          ProjectionExpression: 'pk, #ver',
          ExpressionAttributeNames: { '#ver': 'version' },
        },
      },
    });
  });

  it('ignores items outside its prefix and items without a version', async () => {
    ddb.on(BatchGetItemCommand).resolves({
      Responses: {
        [STATE]: [
          { pk: { S: 's3tomb#a' }, version: { S: V1 } },
          { pk: { S: 'tomb#b' } },
          { pk: { S: 'tomb#c' }, version: { S: V1 } },
        ],
      },
    });
    expect(await tombstones().newest(['a', 'b', 'c'])).toEqual(new Map([['c', V1]]));
  });

  it('sends nothing for no hashes', async () => {
    expect(await tombstones().newest([])).toEqual(new Map());
    expect(ddb).toHaveReceivedCommandTimes(BatchGetItemCommand, 0);
  });

  it("splits the hashes into batches of 100, BatchGetItem's limit", async () => {
    ddb.on(BatchGetItemCommand).resolves({});
    const hashes = Array.from({ length: 250 }, (_, i) => `h${i}`);
    await tombstones().newest(hashes);
    const sizes = ddb.commandCalls(BatchGetItemCommand).map((c) => c.args[0].input.RequestItems?.[STATE]?.Keys?.length);
    expect(sizes).toEqual([100, 100, 50]);
    expect(ddb).toHaveReceivedNthCommandWith(BatchGetItemCommand, 3, {
      RequestItems: expect.objectContaining({
        [STATE]: expect.objectContaining({ Keys: keysOf(hashes.slice(200)), ConsistentRead: true }),
      }),
    });
  });

  it('retries unprocessed keys, consistently, until every one is read', async () => {
    vi.useFakeTimers();
    ddb
      .on(BatchGetItemCommand)
      .resolvesOnce({
        Responses: { [STATE]: [{ pk: { S: 'tomb#a' }, version: { S: V1 } }] },
        UnprocessedKeys: { [STATE]: { Keys: keysOf(['b']), ConsistentRead: true } },
      })
      .resolvesOnce({ Responses: { [STATE]: [{ pk: { S: 'tomb#b' }, version: { S: V2 } }] } });
    const found = tombstones().newest(['a', 'b', 'c']);
    await vi.runAllTimersAsync();
    expect(await found).toEqual(
      new Map([
        ['a', V1],
        ['b', V2],
      ]),
    );
    expect(ddb).toHaveReceivedCommandTimes(BatchGetItemCommand, 2);
    expect(ddb).toHaveReceivedNthCommandWith(BatchGetItemCommand, 2, {
      RequestItems: {
        [STATE]: {
          Keys: keysOf(['b']),
          ConsistentRead: true,
          ProjectionExpression: 'pk, #ver',
          ExpressionAttributeNames: { '#ver': 'version' },
        },
      },
    });
  });

  it('fails, rather than answer without a tombstone, when keys stay unprocessed', async () => {
    vi.useFakeTimers();
    ddb.on(BatchGetItemCommand).resolves({ UnprocessedKeys: { [STATE]: { Keys: keysOf(['a']) } } });
    const found = expect(tombstones().newest(['a'])).rejects.toThrow(/left 1 keys unprocessed after 9 rounds/);
    await vi.runAllTimersAsync();
    await found;
    expect(ddb).toHaveReceivedCommandTimes(BatchGetItemCommand, 9);
  });

  it('rethrows a failed batch read', async () => {
    ddb.on(BatchGetItemCommand).rejects(throttled());
    await expect(tombstones().newest(['a'])).rejects.toThrow(/ProvisionedThroughputExceeded/);
  });
});
