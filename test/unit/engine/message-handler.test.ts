/**
 * The engine's SQS batch adapter, with the memory pair type: what every apply-like function (DynamoDB apply,
 * S3 copy) gets from it. Per message: dead-letter what can never apply, apply to the targets the message is
 * meant for, publish each target's metrics from the catalogue, re-send the failed envelopes per target, and
 * report a message that failed everywhere for a retry.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { converge } from '../../../functions/engine/convergence';
import { parseEnvelopes } from '../../../functions/engine/envelope';
import { messageHandler } from '../../../functions/engine/message-handler';
import {
  ATTEMPT_ATTR,
  ERROR_ATTR,
  ERROR_NAME_ATTR,
  PAIR_ATTR,
  REPAIR_ATTR,
  TARGET_ATTR,
} from '../../../functions/engine/queue';
import {
  type MemoryEnvelope,
  MemoryStore,
  memoryEnvelope,
  memoryKeySpace,
  memoryTargets,
} from '../../helpers/engine-memory';
import { sqsRecord } from '../../helpers/factories';
import { MemoryTombstones } from '../../helpers/memory-stores';

// The logger is built when its module loads, before any hook runs.
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

const sqs = mockClient(SQSClient);
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/replicator-p';
const DLQ = `${QUEUE}-dlq`;
const context = { getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

function setup() {
  const stores = [new MemoryStore(), new MemoryStore()];
  const targets = memoryTargets(stores);
  const deps = { keys: memoryKeySpace(new Map()), tombstones: new MemoryTombstones(), concurrency: 4 };
  const handler = messageHandler<MemoryEnvelope, (typeof targets)[number]>({
    pair: 'p',
    queueUrl: QUEUE,
    dlqUrl: DLQ,
    maxAttempts: 3,
    targets,
    sqs: new SQSClient({}),
    parse: (body) =>
      parseEnvelopes<MemoryEnvelope>(body, { safeParse: (v: unknown) => ({ success: true, data: v }) } as never),
    apply: (envelopes, only) => converge(envelopes, only, deps),
  });
  const run = (...records: ReturnType<typeof sqsRecord>[]) => handler({ Records: records } as SQSEvent, context);
  return { stores, run };
}

const added = () =>
  vi.mocked(Metrics.prototype.addMetric).mock.calls.map(([name, unit, value]) => ({ name, unit, value }));

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  vi.spyOn(Metrics.prototype, 'addMetric');
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm' });
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('messageHandler', () => {
  it('applies a message to every target and publishes their metrics in the catalogue units', async () => {
    const { stores, run } = setup();
    const r = await run(sqsRecord(JSON.stringify(memoryEnvelope('a', 1, 'xy'))));
    expect(r.batchItemFailures).toEqual([]);
    for (const s of stores) expect(s.values().get('a')).toBe('xy');
    expect(added()).toEqual(
      expect.arrayContaining([
        { name: 'ReplicatedItems', unit: 'Count', value: 1 },
        { name: 'ReplicatedBytes', unit: 'Bytes', value: 2 },
        { name: 'ReplicationLatency', unit: 'Milliseconds', value: expect.any(Number) },
        { name: 'DeliveryLatency', unit: 'Milliseconds', value: expect.any(Number) },
      ]),
    );
  });

  it('dead-letters a body that is not JSON at once, keeping the body and the reason', async () => {
    const { run } = setup();
    const r = await run(sqsRecord('not json'));
    expect(r.batchItemFailures).toEqual([]);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: DLQ,
      MessageBody: 'not json',
      MessageAttributes: expect.objectContaining({
        [PAIR_ATTR]: { DataType: 'String', StringValue: 'p' },
        [TARGET_ATTR]: { DataType: 'String', StringValue: 'all' },
        [ERROR_NAME_ATTR]: { DataType: 'String', StringValue: 'MalformedEnvelopeError' },
        [ERROR_ATTR]: {
          DataType: 'String',
          StringValue: expect.stringMatching(/^MalformedEnvelopeError: body is not JSON/),
        },
      }),
    });
  });

  it('dead-letters a message meant for a target the pair does not have', async () => {
    const { run } = setup();
    await run(sqsRecord(JSON.stringify(memoryEnvelope('a', 1, 'x')), { attributes: { [TARGET_ATTR]: 'gone' } }));
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: DLQ,
      MessageAttributes: expect.objectContaining({
        [ERROR_NAME_ATTR]: { DataType: 'String', StringValue: 'UnknownTarget' },
      }),
    });
  });

  it('applies a re-sent message only to the target it names', async () => {
    const { stores, run } = setup();
    await run(sqsRecord(JSON.stringify(memoryEnvelope('a', 1, 'x')), { attributes: { [TARGET_ATTR]: 't1' } }));
    expect(stores[0]!.values().size).toBe(0);
    expect(stores[1]!.values().get('a')).toBe('x');
  });

  it('re-sends only the failed envelopes to the failing target, with backoff, keeping the repair mark', async () => {
    const { stores, run } = setup();
    stores[1]!.putIfNewer = async () => Promise.reject(Object.assign(new Error('slow down'), { name: 'Throttling' }));
    const e = memoryEnvelope('a', 1, 'x');
    const r = await run(sqsRecord(JSON.stringify(e), { attributes: { [REPAIR_ATTR]: 'true' } }));
    expect(r.batchItemFailures).toEqual([]);
    expect(stores[0]!.values().get('a')).toBe('x');
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: QUEUE,
      MessageBody: JSON.stringify(e),
      DelaySeconds: 2,
      MessageAttributes: {
        [TARGET_ATTR]: { DataType: 'String', StringValue: 't1' },
        [ATTEMPT_ATTR]: { DataType: 'Number', StringValue: '1' },
        [REPAIR_ATTR]: { DataType: 'String', StringValue: 'true' },
      },
    });
    // A repair is not a new write: no ReplicationLatency for it.
    expect(added().map((m) => m.name)).not.toContain('ReplicationLatency');
  });

  it('reports a message that failed retryably on every target, so SQS delivers it again', async () => {
    const { stores, run } = setup();
    for (const s of stores) s.putIfNewer = async () => Promise.reject(new Error('unreachable'));
    const record = sqsRecord(JSON.stringify(memoryEnvelope('a', 1, 'x')));
    const r = await run(record);
    expect(r.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(sqs).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it("dead-letters a target's envelopes once their attempts reach maxAttempts, naming the last error", async () => {
    const { stores, run } = setup();
    stores[0]!.putIfNewer = async () => Promise.reject(Object.assign(new Error('slow down'), { name: 'Throttling' }));
    await run(sqsRecord(JSON.stringify(memoryEnvelope('a', 1, 'x')), { receiveCount: 3 }));
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: DLQ,
      MessageAttributes: expect.objectContaining({
        [TARGET_ATTR]: { DataType: 'String', StringValue: 't0' },
        [ERROR_ATTR]: {
          DataType: 'String',
          StringValue: 'attempts exhausted (3 of 3); last error: Throttling: slow down',
        },
      }),
    });
    expect(added()).toContainEqual({ name: 'DeadLettered', unit: 'Count', value: 1 });
  });

  it('dead-letters poison at once, on the first attempt', async () => {
    const { stores, run } = setup();
    stores[0]!.putIfNewer = async () => Promise.reject(Object.assign(new Error('never'), { name: 'Poison' }));
    await run(sqsRecord(JSON.stringify(memoryEnvelope('a', 1, 'x'))));
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: DLQ,
      MessageAttributes: expect.objectContaining({
        [ERROR_NAME_ATTR]: { DataType: 'String', StringValue: 'Poison' },
      }),
    });
  });
});
