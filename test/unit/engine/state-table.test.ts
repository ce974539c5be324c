/** The reconcile run's state in the pair's state table: the checkpoint store. */
import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { newCheckpoint } from '../../../functions/engine/checkpoint';
import type { RunReport } from '../../../functions/engine/reconcile-run';
import {
  BACKFILL_CHECKPOINT_KEY,
  BACKFILL_REPORT_KEY,
  CHECKPOINT_KEY,
  CHECKPOINT_LEASE_MS,
  DynamoCheckpointStore,
  DynamoReportStore,
} from '../../../functions/engine/state-table';

const ddb = mockClient(DynamoDBClient);
beforeEach(() => ddb.reset());

describe('DynamoCheckpointStore', () => {
  it('saves the run state as JSON in the state table and loads it back', async () => {
    const store = new DynamoCheckpointStore(new DynamoDBClient({}), 'replicator-orders-state', () => 42, {
      owner: 'me',
    });
    const cp = newCheckpoint('orders', ['eu'], 2, 1000);
    ddb.on(PutItemCommand).resolves({});
    await store.save(cp);
    expect(ddb).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'replicator-orders-state',
      Item: {
        pk: { S: CHECKPOINT_KEY },
        state: { S: JSON.stringify(cp) },
        updatedAt: { N: '42' },
        owner: { S: 'me' },
        leaseUntil: { N: String(42 + CHECKPOINT_LEASE_MS) },
      },
    });
    ddb.on(GetItemCommand).resolves({ Item: { pk: { S: CHECKPOINT_KEY }, state: { S: JSON.stringify(cp) } } });
    expect(await store.load()).toEqual(cp);
  });

  it("takes the checkpoint only when no other holder's lease runs, and stops when another holds it", async () => {
    const store = new DynamoCheckpointStore(new DynamoDBClient({}), 'replicator-orders-state', () => 42, {
      owner: 'me',
    });
    ddb.on(PutItemCommand).rejects(
      Object.assign(new Error('The conditional request failed'), {
        name: 'ConditionalCheckFailedException',
      }),
    );
    await expect(store.save(newCheckpoint('orders', ['eu'], 1, 0))).rejects.toThrow(
      /another run of this pair holds the checkpoint "reconcile#checkpoint" in replicator-orders-state/,
    );
    expect(ddb).toHaveReceivedCommandWith(PutItemCommand, {
      ConditionExpression: 'attribute_not_exists(#owner) OR #owner = :me OR #lease < :now',
      ExpressionAttributeValues: { ':me': { S: 'me' }, ':now': { N: '42' } },
    });
  });

  it('keeps a backfill under its own key, and gives the lease up on release (only its own)', async () => {
    const store = new DynamoCheckpointStore(new DynamoDBClient({}), 't', () => 7, {
      owner: 'me',
      key: BACKFILL_CHECKPOINT_KEY,
      leaseMs: 60_000,
    });
    ddb.on(PutItemCommand).resolves({});
    await store.save(newCheckpoint('orders', ['eu'], 1, 0, 'backfill'));
    expect(ddb).toHaveReceivedCommandWith(PutItemCommand, {
      Item: expect.objectContaining({ pk: { S: BACKFILL_CHECKPOINT_KEY }, leaseUntil: { N: String(7 + 60_000) } }),
    });
    ddb
      .on(UpdateItemCommand)
      .resolvesOnce({})
      .rejects(Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' }));
    await store.release();
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, {
      Key: { pk: { S: BACKFILL_CHECKPOINT_KEY } },
      UpdateExpression: 'SET #lease = :zero',
      ConditionExpression: '#owner = :me',
    });
    // Another holder took it meanwhile: nothing to give up, no error.
    await expect(store.release()).resolves.toBeUndefined();
  });

  it('says who holds the checkpoint, under its own key', async () => {
    const store = new DynamoCheckpointStore(new DynamoDBClient({}), 't', () => 7, { key: BACKFILL_CHECKPOINT_KEY });
    ddb
      .on(GetItemCommand)
      .resolvesOnce({ Item: { owner: { S: 'job:j1:x' } } })
      .resolves({});
    expect(await store.holder()).toBe('job:j1:x');
    expect(await store.holder()).toBeUndefined();
    expect(ddb).toHaveReceivedCommandWith(GetItemCommand, { Key: { pk: { S: BACKFILL_CHECKPOINT_KEY } } });
  });

  it("clears a finished run's checkpoint only while it holds it", async () => {
    const store = new DynamoCheckpointStore(new DynamoDBClient({}), 't', () => 7, { owner: 'me' });
    ddb.on(DeleteItemCommand).resolves({});
    await store.clear();
    expect(ddb).toHaveReceivedCommandWith(DeleteItemCommand, {
      TableName: 't',
      Key: { pk: { S: CHECKPOINT_KEY } },
      ConditionExpression: 'attribute_not_exists(#owner) OR #owner = :me OR #lease < :now',
    });
  });

  it('loads nothing before the first run', async () => {
    ddb.on(GetItemCommand).resolves({});
    expect(await new DynamoCheckpointStore(new DynamoDBClient({}), 't').load()).toBeUndefined();
  });
});

describe('DynamoReportStore', () => {
  it('reads back the latest report under its own key, or nothing', async () => {
    const store = new DynamoReportStore(new DynamoDBClient({}), 't', () => 7, BACKFILL_REPORT_KEY);
    const report = { pair: 'orders', complete: true } as RunReport;
    ddb
      .on(GetItemCommand)
      .resolvesOnce({ Item: { report: { S: JSON.stringify(report) } } })
      .resolves({});
    expect(await store.latest()).toEqual(report);
    expect(await store.latest()).toBeUndefined();
    expect(ddb).toHaveReceivedCommandWith(GetItemCommand, {
      Key: { pk: { S: BACKFILL_REPORT_KEY } },
      ConsistentRead: true,
    });
  });
});
