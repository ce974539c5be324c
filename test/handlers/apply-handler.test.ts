import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { envelope, sqsRecord } from '../helpers/factories';

const ddb = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);
type Handler = (e: SQSEvent, c: Context) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
let handler: Handler;
const context = {
  functionName: 'replicator-orders-apply',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/replicator-orders';
const DLQ = `${QUEUE}-dlq`;

beforeAll(async () => {
  vi.stubEnv('PAIR_NAME', 'orders');
  vi.stubEnv('QUEUE_URL', QUEUE);
  vi.stubEnv('DLQ_URL', DLQ);
  vi.stubEnv('STATE_TABLE', 'replicator-orders-state');
  vi.stubEnv('SOURCE_TABLE', 'orders');
  vi.stubEnv('SOURCE_REGION', 'us-east-1');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('MAX_ATTEMPTS', '3');
  // Transient failures are dead-lettered after MAX_ATTEMPTS here; the retryFor window has tests of its own.
  vi.stubEnv('RETRY_FOR_SECONDS', '0');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  vi.stubEnv(
    'TARGETS',
    JSON.stringify([
      { id: 'eu-west-1/orders', region: 'eu-west-1', table: 'orders' },
      { id: 'ap-northeast-1/orders-replica', region: 'ap-northeast-1', table: 'orders-replica' },
    ]),
  );
  ({ handler } = (await import('../../functions/dynamodb/apply-handler')) as unknown as { handler: Handler });
});
beforeEach(() => {
  // The top of each full-jitter window, so the delays read plainly.
  vi.spyOn(Math, 'random').mockReturnValue(0.9999);
  ddb.reset();
  sqs.reset();
  ddb.on(BatchGetItemCommand).resolves({ Responses: { 'replicator-orders-state': [] } });
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm' });
});

const key = { pk: { S: 'a' }, sk: { S: '1' } };

describe('apply handler', () => {
  it('records ReplicationLatency for a change, but only DeliveryLatency for a repair (its write may be days old)', async () => {
    ddb.on(PutItemCommand).resolves({});
    const addMetric = vi.spyOn(Metrics.prototype, 'addMetric');
    try {
      await handler({ Records: [sqsRecord(JSON.stringify(envelope({ key, seq: 1 })))] }, context);
      const names = () => addMetric.mock.calls.map((c) => c[0]);
      expect(names()).toContain('ReplicationLatency');
      addMetric.mockClear();
      const repair = sqsRecord(JSON.stringify(envelope({ key, seq: 2 })), { attributes: { 'rep-repair': 'true' } });
      await handler({ Records: [repair] }, context);
      expect(names()).toContain('ReplicatedItems');
      expect(names()).toContain('DeliveryLatency');
      expect(names()).not.toContain('ReplicationLatency');
    } finally {
      addMetric.mockRestore();
    }
  });

  it('keeps the repair mark on a re-send of a repair that failed on one target', async () => {
    ddb
      .on(PutItemCommand, { TableName: 'orders' })
      .rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    ddb.on(PutItemCommand, { TableName: 'orders-replica' }).resolves({});
    const repair = sqsRecord(JSON.stringify(envelope({ key })), { attributes: { 'rep-repair': 'true' } });
    await handler({ Records: [repair] }, context);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      MessageAttributes: expect.objectContaining({ 'rep-repair': { DataType: 'String', StringValue: 'true' } }),
    });
  });

  it('writes each target with a version-guarded PutItem and checks the tombstone once', async () => {
    ddb.on(PutItemCommand).resolves({});
    const e = envelope({ key, seq: 1 });
    const res = await handler({ Records: [sqsRecord(JSON.stringify(e))] }, context);
    expect(res.batchItemFailures).toEqual([]);
    expect(ddb).toHaveReceivedCommandTimes(PutItemCommand, 2);
    expect(ddb).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'orders-replica',
      ConditionExpression: 'attribute_not_exists(#v) OR #v < :v',
      ExpressionAttributeNames: { '#v': 'rep:v' },
      ExpressionAttributeValues: { ':v': { S: e.version } },
    });
    expect(ddb).toHaveReceivedCommandTimes(BatchGetItemCommand, 1);
    expect(sqs).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it('records a tombstone before deleting on the targets', async () => {
    ddb.on(UpdateItemCommand).resolves({});
    ddb.on(DeleteItemCommand).resolves({});
    await handler({ Records: [sqsRecord(JSON.stringify(envelope({ op: 'delete', key })))] }, context);
    const order = ddb.calls().map((c) => c.args[0].constructor.name);
    expect(order).toEqual(['UpdateItemCommand', 'DeleteItemCommand', 'DeleteItemCommand']);
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, { TableName: 'replicator-orders-state' });
  });

  it('treats a failed version condition as a stale envelope, not an error', async () => {
    ddb.on(PutItemCommand).rejects(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }));
    const res = await handler({ Records: [sqsRecord(JSON.stringify(envelope({ key })))] }, context);
    expect(res.batchItemFailures).toEqual([]);
    expect(sqs).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it('dead-letters a poison envelope with its reason and does not retry it', async () => {
    ddb
      .on(PutItemCommand)
      .rejects(
        Object.assign(new Error('Item size has exceeded the maximum allowed size'), { name: 'ValidationException' }),
      );
    const res = await handler({ Records: [sqsRecord(JSON.stringify(envelope({ key })))] }, context);
    expect(res.batchItemFailures).toEqual([]);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: DLQ,
      MessageAttributes: expect.objectContaining({
        'rep-error': {
          DataType: 'String',
          StringValue:
            'target eu-west-1/orders (dynamodb): ValidationException: Item size has exceeded the maximum allowed size',
        },
        'rep-target': { DataType: 'String', StringValue: 'eu-west-1/orders' },
      }),
    });
  });

  it('dead-letters a body that is not an envelope, keeping the body', async () => {
    const res = await handler({ Records: [sqsRecord('{"hello":1}')] }, context);
    expect(res.batchItemFailures).toEqual([]);
    const sent = sqs.commandCalls(SendMessageCommand)[0]!.args[0].input;
    expect(sent.QueueUrl).toBe(DLQ);
    expect(sent.MessageBody).toBe('{"hello":1}');
    expect(sent.MessageAttributes?.['rep-error']?.StringValue).toMatch(/envelope 0: v:/);
  });

  it('re-sends only to the failing target when the other target succeeded', async () => {
    ddb
      .on(PutItemCommand, { TableName: 'orders' })
      .rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    ddb.on(PutItemCommand, { TableName: 'orders-replica' }).resolves({});
    const res = await handler({ Records: [sqsRecord(JSON.stringify(envelope({ key })))] }, context);
    expect(res.batchItemFailures).toEqual([]);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: QUEUE,
      DelaySeconds: 2,
      MessageAttributes: {
        'rep-target': { DataType: 'String', StringValue: 'eu-west-1/orders' },
        'rep-attempt': { DataType: 'Number', StringValue: '1' },
        'rep-since': { DataType: 'Number', StringValue: expect.stringMatching(/^\d{13}$/) },
      },
    });
  });

  it('re-sends a message whose every write failed retryably once, for every target, with its own backoff', async () => {
    ddb.on(PutItemCommand).rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    const rec = sqsRecord(JSON.stringify(envelope({ key })));
    const res = await handler({ Records: [rec] }, context);
    expect(res.batchItemFailures).toEqual([]);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    expect(sqs.commandCalls(SendMessageCommand)[0]!.args[0].input).toMatchObject({
      QueueUrl: QUEUE,
      DelaySeconds: 2,
      MessageBody: rec.body,
    });
  });

  it('dead-letters with "attempts exhausted" once the receive count reaches MAX_ATTEMPTS', async () => {
    ddb.on(PutItemCommand).rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    const rec = sqsRecord(JSON.stringify(envelope({ key })), { receiveCount: 3 });
    const res = await handler({ Records: [rec] }, context);
    expect(res.batchItemFailures).toEqual([]);
    const reasons = sqs
      .commandCalls(SendMessageCommand)
      .map((c) => c.args[0].input.MessageAttributes?.['rep-error']?.StringValue);
    expect(reasons).toHaveLength(2);
    for (const r of reasons) {
      expect(r).toMatch(
        /^attempts exhausted \(3 of 3, failing for 0 s, retryFor 0 s\); last error: target (eu-west-1\/orders|ap-northeast-1\/orders-replica) \(dynamodb\): ThrottlingException: slow down$/,
      );
    }
  });

  it('applies a re-sent message only to the target it names', async () => {
    ddb.on(PutItemCommand).resolves({});
    const rec = sqsRecord(JSON.stringify(envelope({ key })), {
      attributes: { 'rep-target': 'ap-northeast-1/orders-replica' },
    });
    await handler({ Records: [rec] }, context);
    expect(ddb).toHaveReceivedCommandTimes(PutItemCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(PutItemCommand, { TableName: 'orders-replica' });
  });
});
