import { BatchGetItemCommand, DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoTableReader } from '../../../functions/dynamodb/reader';

const ddb = mockClient(DynamoDBClient);
beforeEach(() => ddb.reset());
const noSleep = async () => {};
const key = { pk: { S: 'a' } };

describe('DynamoTableReader', () => {
  it('scans one segment page from a start key and reports consumed units', async () => {
    ddb.on(ScanCommand).resolves({
      Items: [{ pk: { S: 'a' }, b: { B: new Uint8Array([1, 2]) } }],
      LastEvaluatedKey: { pk: { S: 'a' } },
      ConsumedCapacity: { CapacityUnits: 0.5 },
    });
    const page = await new DynamoTableReader(new DynamoDBClient({}), 'orders').scanPage(2, 4, key, 50);
    expect(ddb).toHaveReceivedCommandWith(ScanCommand, {
      TableName: 'orders',
      Segment: 2,
      TotalSegments: 4,
      Limit: 50,
      ExclusiveStartKey: { pk: { S: 'a' } },
      ReturnConsumedCapacity: 'TOTAL',
    });
    expect(page).toEqual({ items: [{ pk: { S: 'a' }, b: { B: 'AQI=' } }], lastKey: key, consumedUnits: 0.5 });
  });

  it('retries unprocessed keys of a batch get', async () => {
    ddb
      .on(BatchGetItemCommand)
      .resolvesOnce({
        Responses: { orders: [{ pk: { S: 'a' } }] },
        UnprocessedKeys: { orders: { Keys: [{ pk: { S: 'b' } }] } },
      })
      .resolvesOnce({ Responses: { orders: [{ pk: { S: 'b' } }] } });
    const items = await new DynamoTableReader(new DynamoDBClient({}), 'orders', noSleep).getMany([
      key,
      { pk: { S: 'b' } },
      { pk: { S: 'c' } },
    ]);
    expect(items).toEqual([{ pk: { S: 'a' } }, { pk: { S: 'b' } }]);
    expect(ddb.commandCalls(BatchGetItemCommand)).toHaveLength(2);
  });

  it('fails when keys stay unprocessed', async () => {
    ddb.on(BatchGetItemCommand).resolves({ UnprocessedKeys: { orders: { Keys: [{ pk: { S: 'a' } }] } } });
    await expect(new DynamoTableReader(new DynamoDBClient({}), 'orders', noSleep).getMany([key])).rejects.toThrow(
      /left 1 key\(s\) after 9 rounds/,
    );
  });

  it('re-reads with a consistent GetItem', async () => {
    ddb.on(GetItemCommand).resolves({ Item: { pk: { S: 'a' }, 'rep:v': { S: 'v' } } });
    const item = await new DynamoTableReader(new DynamoDBClient({}), 'orders').getConsistent(key);
    expect(ddb).toHaveReceivedCommandWith(GetItemCommand, { TableName: 'orders', Key: key, ConsistentRead: true });
    expect(item).toEqual({ pk: { S: 'a' }, 'rep:v': { S: 'v' } });
  });
});
