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
  SINCE_ATTR,
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
    retry: { maxAttempts: 3, retryForMs: 0, random: () => 0.9999 },
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

  it('dead-letters a body that is not JSON at once, keeping the body, with a reason that does not quote it', async () => {
    const { run } = setup();
    const r = await run(sqsRecord('SENTINEL-4711 not json'));
    expect(r.batchItemFailures).toEqual([]);
    // The body travels as the message body only: JSON.parse's own message would quote its start.
    const reason = sqs
      .commandCalls(SendMessageCommand)
      .map((c) => c.args[0].input.MessageAttributes?.[ERROR_ATTR]?.StringValue)
      .join(' ');
    expect(reason).toBe('MalformedEnvelopeError: body is not JSON (22 bytes)');
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: DLQ,
      MessageBody: 'SENTINEL-4711 not json',
      MessageAttributes: expect.objectContaining({
        [PAIR_ATTR]: { DataType: 'String', StringValue: 'p' },
        [TARGET_ATTR]: { DataType: 'String', StringValue: 'all' },
        [ERROR_NAME_ATTR]: { DataType: 'String', StringValue: 'MalformedEnvelopeError' },
        [ERROR_ATTR]: {
          DataType: 'String',
          StringValue: 'MalformedEnvelopeError: body is not JSON (22 bytes)',
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
        [SINCE_ATTR]: { DataType: 'Number', StringValue: expect.stringMatching(/^\d{13}$/) },
        [REPAIR_ATTR]: { DataType: 'String', StringValue: 'true' },
      },
    });
    // A repair is not a new write: no ReplicationLatency for it.
    expect(added().map((m) => m.name)).not.toContain('ReplicationLatency');
  });

  it('re-sends a message that failed on every target once, with its own backoff instead of the visibility timeout', async () => {
    const { stores, run } = setup();
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    for (const s of stores) s.putIfNewer = async () => Promise.reject(reset);
    const e = memoryEnvelope('a', 1, 'x');
    const r = await run(sqsRecord(JSON.stringify(e), { receiveCount: 2 }));
    expect(r.batchItemFailures).toEqual([]);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: QUEUE,
      MessageBody: JSON.stringify(e),
      DelaySeconds: 4,
      MessageAttributes: {
        [ATTEMPT_ATTR]: { DataType: 'Number', StringValue: '2' },
        [SINCE_ATTR]: { DataType: 'Number', StringValue: expect.any(String) },
      },
    });
  });

  it('leaves the message to SQS when its re-send cannot be sent', async () => {
    const { stores, run } = setup();
    for (const s of stores) s.putIfNewer = async () => Promise.reject(new Error('unreachable'));
    sqs.on(SendMessageCommand).rejects(Object.assign(new Error('queue gone'), { name: 'QueueDoesNotExist' }));
    const record = sqsRecord(JSON.stringify(memoryEnvelope('a', 1, 'x')));
    const r = await run(record);
    expect(r.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
  });

  it('stops trying a target whose writes failed transiently three messages in a row, and re-sends its envelopes', async () => {
    const { stores, run } = setup();
    let calls = 0;
    stores[1]!.putIfNewer = async () => {
      calls++;
      return Promise.reject(Object.assign(new Error('unavailable'), { $metadata: { httpStatusCode: 503 } }));
    };
    for (let i = 0; i < 5; i++) await run(sqsRecord(JSON.stringify(memoryEnvelope(`k${i}`, 1, 'x'))));
    expect(calls).toBe(3);
    expect(stores[0]!.values().size).toBe(5);
    // Every message's envelope for t1 was re-sent, the last two without a request to the target.
    const resends = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(resends).toHaveLength(5);
    for (const input of resends) expect(input.MessageAttributes?.[TARGET_ATTR]?.StringValue).toBe('t1');
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
          StringValue:
            'attempts exhausted (3 of 3, failing for 0 s, retryFor 0 s); last error: target t0 (memory): Throttling: slow down',
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
