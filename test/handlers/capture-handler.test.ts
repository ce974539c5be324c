import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseTableBody } from '../../functions/dynamodb/envelope';
import { streamRecord } from '../helpers/factories';

const sqs = mockClient(SQSClient);
type Handler = (e: DynamoDBStreamEvent, c?: Context) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
let handler: Handler;

beforeAll(async () => {
  vi.stubEnv('QUEUE_URL', 'https://sqs.us-east-1.amazonaws.com/123456789012/replicator-orders');
  vi.stubEnv('PAIR_NAME', 'orders');
  vi.stubEnv('ORIGIN_REGION', 'us-east-1');
  vi.stubEnv('ENVELOPES_PER_MESSAGE', '2');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = (await import('../../functions/dynamodb/capture-handler')) as unknown as { handler: Handler });
});
beforeEach(() => sqs.reset());

const records = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    streamRecord({
      eventName: 'INSERT',
      keys: { pk: { S: `k${i}` } },
      newImage: { pk: { S: `k${i}` } },
      sequenceNumber: String(100 + i),
    }),
  );

describe('capture handler', () => {
  it('packs records into messages and sends them in one SendMessageBatch call', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const res = await handler({ Records: records(5) });
    expect(res.batchItemFailures).toEqual([]);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
    const entries = sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input.Entries!;
    expect(entries.map((e) => parseTableBody(e.MessageBody!).length)).toEqual([2, 2, 1]);
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, {
      QueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/replicator-orders',
    });
  });

  it('reports every record of a message SQS did not accept', async () => {
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false, Message: 'try again' }],
    });
    const res = await handler({ Records: records(5) });
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: '102' }, { itemIdentifier: '103' }]);
  });

  it('reports the whole batch when SQS cannot be reached', async () => {
    sqs.on(SendMessageBatchCommand).rejects(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));
    const res = await handler({ Records: records(3) });
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['100', '101', '102']);
  });
});
