import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseS3Body } from '../../functions/s3/envelope';
import { sqsRecord } from '../helpers/factories';
import { MOTO_PUT_BODY, s3EventRecord, s3Notification, s3TestEvent } from '../helpers/s3-factories';

const sqs = mockClient(SQSClient);
type Handler = (e: SQSEvent) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
let handler: Handler;
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/replicator-datasets';

beforeAll(async () => {
  vi.stubEnv('QUEUE_URL', QUEUE);
  vi.stubEnv('PAIR_NAME', 'datasets');
  vi.stubEnv('ORIGIN_REGION', 'us-east-1');
  vi.stubEnv('SOURCE_BUCKET', 'training-data');
  vi.stubEnv('PREFIX', 'datasets/');
  vi.stubEnv('SUFFIX', '');
  vi.stubEnv('ENVELOPES_PER_MESSAGE', '2');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = (await import('../../functions/s3/capture-handler')) as unknown as { handler: Handler });
});
beforeEach(() => sqs.reset());

const sentEnvelopes = () =>
  sqs
    .commandCalls(SendMessageBatchCommand)
    .flatMap((c) => c.args[0].input.Entries ?? [])
    .flatMap((e) => parseS3Body(e.MessageBody!));

describe('S3 capture handler', () => {
  it('packs the events of several notifications into messages sent with one SendMessageBatch', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const records = [0, 1, 2].map((i) => sqsRecord(s3Notification(s3EventRecord({ rawKey: `datasets/k+${i}` }))));
    const res = await handler({ Records: records });
    expect(res.batchItemFailures).toEqual([]);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: QUEUE });
    const entries = sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input.Entries!;
    expect(entries.map((e) => parseS3Body(e.MessageBody!).length)).toEqual([2, 1]);
    expect(sentEnvelopes().map((e) => e.key.key)).toEqual(['datasets/k 0', 'datasets/k 1', 'datasets/k 2']);
  });

  it('succeeds on s3:TestEvent and on events outside the prefix without sending anything', async () => {
    const res = await handler({
      Records: [sqsRecord(s3TestEvent()), sqsRecord(s3Notification(s3EventRecord({ rawKey: 'models/x' })))],
    });
    expect(res.batchItemFailures).toEqual([]);
    expect(sqs).not.toHaveReceivedCommand(SendMessageBatchCommand);
  });

  it('reads moto notifications', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const body = MOTO_PUT_BODY.replace('a+b%2Fc', 'datasets%2Fa+b%2Fc');
    await handler({ Records: [sqsRecord(body)] });
    expect(sentEnvelopes()[0]?.key.key).toBe('datasets/a b/c+d%e/ü.txt');
  });

  it('reports a malformed message and every message SQS did not accept, by message id', async () => {
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false, Message: 'try again' }],
    });
    const bad = sqsRecord('{"Records": "nope"}');
    const ok = [0, 1, 2].map((i) => sqsRecord(s3Notification(s3EventRecord({ rawKey: `datasets/${i}` }))));
    const res = await handler({ Records: [bad, ...ok] });
    expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([bad.messageId, ok[2]!.messageId].sort());
  });
});
