/** The reconcile run's state in the pair's state table: the checkpoint store. */
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { newCheckpoint } from '../../../functions/engine/checkpoint';
import { CHECKPOINT_KEY, DynamoCheckpointStore } from '../../../functions/engine/state-table';

const ddb = mockClient(DynamoDBClient);
beforeEach(() => ddb.reset());

describe('DynamoCheckpointStore', () => {
  it('saves the run state as JSON in the state table and loads it back', async () => {
    const store = new DynamoCheckpointStore(new DynamoDBClient({}), 'replicator-orders-state', () => 42);
    const cp = newCheckpoint('orders', ['eu'], 2, 1000);
    ddb.on(PutItemCommand).resolves({});
    await store.save(cp);
    expect(ddb).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'replicator-orders-state',
      Item: { pk: { S: CHECKPOINT_KEY }, state: { S: JSON.stringify(cp) }, updatedAt: { N: '42' } },
    });
    ddb.on(GetItemCommand).resolves({ Item: { pk: { S: CHECKPOINT_KEY }, state: { S: JSON.stringify(cp) } } });
    expect(await store.load()).toEqual(cp);
  });

  it('loads nothing before the first run', async () => {
    ddb.on(GetItemCommand).resolves({});
    expect(await new DynamoCheckpointStore(new DynamoDBClient({}), 't').load()).toBeUndefined();
  });
});
