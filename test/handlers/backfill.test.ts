import { readFileSync } from 'node:fs';
import {
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseTableBody } from '../../functions/dynamodb/envelope';
import { streamVersion } from '../../functions/engine/version';
import { type DynamoPairConfig, parseConfig } from '../../lib/config';
import { DYNAMODB_CLI } from '../../src/cli/pair-types/dynamodb';
import { backfill } from '../../src/cli/pair-types/dynamodb-backfill';
import { progressBar } from '../../src/cli/table';

const ddb = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);
const pair = parseConfig(JSON.parse(readFileSync(`${__dirname}/../../replication.config.json`, 'utf8')))
  .pairs[0] as DynamoPairConfig;
const NOW = 1_780_000_000_700;

beforeEach(() => {
  ddb.reset();
  sqs.reset();
  ddb.on(DescribeTableCommand).resolves({
    Table: {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      ItemCount: 3,
    },
  });
  sqs.on(GetQueueUrlCommand).resolves({ QueueUrl: 'https://q/replicator-orders' });
  sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  ddb.on(PutItemCommand).resolves({});
  ddb.on(DeleteItemCommand).resolves({});
});

const item = (i: number) => ({ pk: { S: `k${i}` }, sk: { S: '1' }, v: { N: String(i) }, 'rep:v': { S: 'x' } });

describe('backfill', () => {
  it('sends every item as a put one second older than its read, without rep: attributes, and checkpoints', async () => {
    ddb.on(GetItemCommand).resolves({});
    ddb
      .on(ScanCommand)
      .resolvesOnce({ Items: [item(1), item(2)], LastEvaluatedKey: { pk: { S: 'k2' }, sk: { S: '1' } } })
      .resolves({ Items: [item(3)] });
    const r = await backfill({
      pair,
      sourceRegion: 'us-east-1',
      dynamo: new DynamoDBClient({}),
      sqs: new SQSClient({}),
      segments: 1,
      now: () => NOW,
    });
    expect(r.items).toBe(3);
    const envelopes = sqs
      .commandCalls(SendMessageBatchCommand)
      .flatMap((c) => c.args[0].input.Entries!.flatMap((e) => parseTableBody(e.MessageBody!)));
    expect(envelopes.map((e) => e.key.pk)).toEqual([{ S: 'k1' }, { S: 'k2' }, { S: 'k3' }]);
    for (const e of envelopes) {
      expect(e.version).toBe(streamVersion(1_779_999_999, '0'));
      expect(e.image).not.toHaveProperty('rep:v');
    }
    // A change written after the read has a version of at least the read's second.
    expect(streamVersion(Math.floor(NOW / 1000), '1') > envelopes[0]!.version).toBe(true);
    const checkpoints = ddb.commandCalls(PutItemCommand).map((c) => c.args[0].input.Item);
    expect(checkpoints.map((i) => i?.done?.BOOL)).toEqual([false, true]);
    expect(checkpoints[0]?.lastKey?.S).toBe(JSON.stringify({ pk: { S: 'k2' }, sk: { S: '1' } }));
  });

  it('resumes a segment from its checkpoint and skips finished segments', async () => {
    ddb
      .on(GetItemCommand, { Key: { pk: { S: 'backfill#2#0' } } })
      .resolves({ Item: { pk: { S: 'backfill#2#0' }, done: { BOOL: true } } });
    ddb.on(GetItemCommand, { Key: { pk: { S: 'backfill#2#1' } } }).resolves({
      Item: {
        pk: { S: 'backfill#2#1' },
        done: { BOOL: false },
        lastKey: { S: JSON.stringify({ pk: { S: 'k5' }, sk: { S: '1' } }) },
      },
    });
    ddb.on(ScanCommand).resolves({ Items: [item(6)] });
    const r = await backfill({
      pair,
      sourceRegion: 'us-east-1',
      dynamo: new DynamoDBClient({}),
      sqs: new SQSClient({}),
      segments: 2,
    });
    expect(r).toMatchObject({ items: 1, resumedSegments: 1, doneSegments: 1, segments: 2 });
    expect(ddb).toHaveReceivedCommandTimes(ScanCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(ScanCommand, {
      Segment: 1,
      TotalSegments: 2,
      ExclusiveStartKey: { pk: { S: 'k5' }, sk: { S: '1' } },
    });
  });

  it('says a backfill whose every segment is done is already complete, and how to start over', async () => {
    ddb.on(GetItemCommand).resolves({ Item: { done: { BOOL: true } } });
    const o = { pair, sourceRegion: 'us-east-1', dynamo: new DynamoDBClient({}), sqs: new SQSClient({}), segments: 2 };
    expect(await backfill(o)).toMatchObject({ items: 0, doneSegments: 2, segments: 2 });
    expect(ddb).toHaveReceivedCommandTimes(ScanCommand, 0);
    const { line } = await DYNAMODB_CLI.backfill(pair, o);
    expect(line).toBe(
      'backfill of orders is already complete (all 2 segment(s) done by an earlier run); run with --restart to copy every item again',
    );
  });

  it('fails, naming the count, when items cannot be enqueued (a rerun resumes)', async () => {
    ddb.on(GetItemCommand).resolves({});
    ddb.on(ScanCommand).resolves({ Items: [item(1)] });
    sqs.on(SendMessageBatchCommand).rejects(new Error('queue gone'));
    await expect(
      backfill({
        pair,
        sourceRegion: 'us-east-1',
        dynamo: new DynamoDBClient({}),
        sqs: new SQSClient({}),
        segments: 1,
      }),
    ).rejects.toThrow(/backfill of orders: 1 item\(s\) not enqueued \(Error: queue gone\); run again to resume/);
    expect(ddb).not.toHaveReceivedCommand(PutItemCommand);
  });
});

describe('progressBar', () => {
  it('fills in proportion to the approximate total', () => {
    expect(progressBar(5, 10, 10)).toBe('[#####.....] 5/~10 items');
  });
});
