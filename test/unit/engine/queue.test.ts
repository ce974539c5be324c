/**
 * The engine's queue module: packing envelopes of any pair type into messages, batching the sends, repairs,
 * and the fate of a message after apply/copy (planMessage).
 */
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { buildEnvelopes, type CaptureOptions } from '../../../functions/dynamodb/capture';
import { parseTableBody } from '../../../functions/dynamodb/envelope';
import { buildRepairEnvelopes } from '../../../functions/dynamodb/repair';
import {
  ATTEMPT_ATTR,
  deadLetterRequest,
  ERROR_ATTR,
  ERROR_NAME_ATTR,
  enqueueRepairs,
  PAIR_ATTR,
  packMessages,
  planBatches,
  planMessage,
  REPAIR_ATTR,
  resendRequest,
  SINCE_ATTR,
  SQS_MAX_BYTES,
  TARGET_ATTR,
} from '../../../functions/engine/queue';
import { buildS3Envelopes } from '../../../functions/s3/capture';
import { parseS3Body } from '../../../functions/s3/envelope';
import { envelope, streamRecord } from '../../helpers/factories';
import { eventMessage, S3_CAPTURE_OPTS, s3Envelope, s3EventRecord, s3Notification } from '../../helpers/s3-factories';
import { s3Error } from '../../helpers/s3-memory-stores';

const opts: CaptureOptions = { pair: 'orders', origin: 'us-east-1', envelopesPerMessage: 25, now: () => 42 };
const key = { pk: { S: 'a' }, sk: { S: '1' } };
const OPTS = S3_CAPTURE_OPTS;
const msg = eventMessage;

describe('planMessage', () => {
  const e1 = envelope({ key, seq: 1 });
  const e2 = envelope({ key: { pk: { S: 'b' } }, seq: 2 });
  const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
  const invalid = Object.assign(new Error('bad item'), { name: 'ValidationException' });
  const integrity = Object.assign(new Error('copy does not match'), { name: 'IntegrityError' });
  const NOW = 1_780_000_000_000;
  const HOUR = 3_600_000;
  // random() = 0.999...: the ceiling of the full-jitter window, so the delays read plainly.
  const policy = { maxAttempts: 5, retryForMs: 24 * HOUR, random: () => 0.9999 };
  const failed = (error: unknown, site = 'target t (dynamodb)') => ({ envelope: e1, error, poison: false, site });

  it('re-sends a message whose every envelope failed once, with the first backoff step', () => {
    const result = new Map([['t', { applied: [], stale: [], failed: [failed(throttled)] }]]);
    expect(planMessage([e1], result, { attempt: 1, now: NOW }, policy)).toEqual({
      deadLetter: [],
      resend: [
        {
          targetId: 't',
          envelopes: [e1],
          delaySeconds: 2,
          reason: 'target t (dynamodb): ThrottlingException: slow down',
        },
      ],
    });
  });

  it('re-sends one message for every target when every envelope failed on every target', () => {
    const result = new Map([
      ['t1', { applied: [], stale: [], failed: [failed(throttled)] }],
      ['t2', { applied: [], stale: [], failed: [failed(throttled)] }],
    ]);
    const plan = planMessage([e1], result, { attempt: 3, now: NOW }, policy);
    expect(plan.resend).toEqual([{ envelopes: [e1], delaySeconds: 8, reason: expect.any(String) }]);
  });

  it('re-sends only the failed envelopes, per failed target, when the rest succeeded', () => {
    const result = new Map([
      [
        't1',
        {
          applied: [{ envelope: e1, bytes: 1, latencyMs: 1, deliveryMs: 1 }],
          stale: [],
          failed: [{ envelope: e2, error: throttled, poison: false }],
        },
      ],
      [
        't2',
        {
          applied: [
            { envelope: e1, bytes: 1, latencyMs: 1, deliveryMs: 1 },
            { envelope: e2, bytes: 1, latencyMs: 1, deliveryMs: 1 },
          ],
          stale: [],
          failed: [],
        },
      ],
    ]);
    expect(planMessage([e1, e2], result, { attempt: 2, now: NOW }, policy)).toEqual({
      deadLetter: [],
      resend: [{ targetId: 't1', envelopes: [e2], delaySeconds: 4, reason: 'ThrottlingException: slow down' }],
    });
  });

  it('dead-letters poison at once with what failed and what it said', () => {
    const result = new Map([
      [
        't',
        {
          applied: [],
          stale: [],
          failed: [{ envelope: e1, error: invalid, poison: true, site: 'target t (dynamodb)' }],
        },
      ],
    ]);
    const plan = planMessage([e1], result, { attempt: 1, now: NOW }, policy);
    expect(plan.deadLetter).toEqual([
      {
        targetId: 't',
        envelopes: [e1],
        reason: 'target t (dynamodb): ValidationException: bad item',
        errorName: 'ValidationException',
      },
    ]);
  });

  it('keeps retrying a transient failure past maxAttempts for as long as retryFor allows', () => {
    const result = new Map([['t', { applied: [], stale: [], failed: [failed(throttled)] }]]);
    const plan = planMessage([e1], result, { attempt: 9, since: NOW - 23 * HOUR, now: NOW }, policy);
    expect(plan.deadLetter).toEqual([]);
    // The step is capped at SQS's 15 minutes.
    expect(plan.resend[0]?.delaySeconds).toBe(512);
    const later = planMessage([e1], result, { attempt: 99, since: NOW - 23 * HOUR, now: NOW }, policy);
    expect(later.resend[0]?.delaySeconds).toBe(900);
  });

  it('dead-letters a transient failure once retryFor has passed, with the attempts and how long it failed', () => {
    const result = new Map([['t', { applied: [], stale: [], failed: [failed(throttled)] }]]);
    const plan = planMessage([e1], result, { attempt: 60, since: NOW - 25 * HOUR, now: NOW }, policy);
    expect(plan.deadLetter[0]?.reason).toBe(
      'attempts exhausted (60 of 5, failing for 1 d 1 h, retryFor 1 d); last error: target t (dynamodb): ThrottlingException: slow down',
    );
    expect(plan.resend).toEqual([]);
  });

  it('dead-letters a failure that is about the data (not the service) once maxAttempts run out', () => {
    const result = new Map([['t', { applied: [], stale: [], failed: [failed(integrity)] }]]);
    const plan = planMessage([e1], result, { attempt: 5, since: NOW - 60_000, now: NOW }, policy);
    expect(plan.deadLetter[0]?.reason).toBe(
      'attempts exhausted (5 of 5, failing for 1 min); last error: target t (dynamodb): IntegrityError: copy does not match',
    );
  });

  it('gives every envelope maxAttempts attempts, even with a retryFor of 0', () => {
    const result = new Map([['t', { applied: [], stale: [], failed: [failed(throttled)] }]]);
    expect(planMessage([e1], result, { attempt: 4, now: NOW }, { ...policy, retryForMs: 0 }).deadLetter).toEqual([]);
    expect(planMessage([e1], result, { attempt: 5, now: NOW }, { ...policy, retryForMs: 0 }).deadLetter).toHaveLength(
      1,
    );
  });
});

describe('packMessages', () => {
  const records = Array.from({ length: 60 }, (_, i) =>
    streamRecord({ eventName: 'INSERT', keys: { pk: { S: `k${i}` } }, newImage: { pk: { S: `k${i}` } } }),
  );

  it('packs up to envelopesPerMessage envelopes per message, in stream order', () => {
    const { envelopes } = buildEnvelopes(records, opts);
    const messages = packMessages(envelopes, opts);
    expect(messages.map((m) => m.envelopeCount)).toEqual([25, 25, 10]);
    const all = messages.flatMap((m) => parseTableBody(m.body));
    expect(all.map((e) => e.key.pk)).toEqual(records.map((r) => r.dynamodb?.Keys?.pk));
  });

  it('sends a lone envelope as an object, several as an array', () => {
    const { envelopes } = buildEnvelopes(records.slice(0, 2), opts);
    expect(packMessages(envelopes.slice(0, 1), opts)[0]!.body.startsWith('{')).toBe(true);
    expect(packMessages(envelopes, opts)[0]!.body.startsWith('[')).toBe(true);
  });

  it('never builds a message over the SQS size limit', () => {
    const big = Array.from({ length: 10 }, (_, i) =>
      streamRecord({
        eventName: 'INSERT',
        keys: { pk: { S: `b${i}` } },
        newImage: { pk: { S: `b${i}` }, d: { S: 'y'.repeat(100_000) } },
      }),
    );
    const messages = packMessages(buildEnvelopes(big, opts).envelopes, opts);
    for (const m of messages) expect(m.bytes).toBeLessThanOrEqual(SQS_MAX_BYTES);
    expect(messages.reduce((s, m) => s + m.envelopeCount, 0)).toBe(10);
  });
});

describe('planBatches', () => {
  it('puts at most 10 messages and 256 KiB in one SendMessageBatch call', () => {
    const msgs = Array.from({ length: 25 }, () => ({ body: 'x', bytes: 60_000, recordIds: ['1'], envelopeCount: 1 }));
    const batches = planBatches(msgs);
    for (const b of batches) {
      expect(b.length).toBeLessThanOrEqual(10);
      expect(b.reduce((s, m) => s + m.bytes, 0)).toBeLessThanOrEqual(SQS_MAX_BYTES);
    }
    expect(batches.flat()).toHaveLength(25);
  });
});

describe('planMessage with S3 envelopes', () => {
  it('re-sends only the failed envelopes, to the failed target', () => {
    const e1 = s3Envelope({ key: 'a' });
    const e2 = s3Envelope({ key: 'b' });
    const error = s3Error('SlowDown', 503);
    const applied = (envelope: typeof e1) => ({ envelope, bytes: 1, latencyMs: 1, deliveryMs: 1, unverified: false });
    const result = new Map([
      ['t1', { applied: [applied(e1)], stale: [], failed: [{ envelope: e2, error, poison: false }] }],
      ['t2', { applied: [applied(e1), applied(e2)], stale: [], failed: [] }],
    ]);
    expect(
      planMessage([e1, e2], result, { attempt: 1, now: 0 }, { maxAttempts: 5, retryForMs: 0, random: () => 0 }),
    ).toEqual({
      deadLetter: [],
      resend: [{ targetId: 't1', envelopes: [e2], delaySeconds: 0, reason: 'SlowDown (HTTP 503): SlowDown' }],
    });
  });
});

describe('packMessages with S3 envelopes', () => {
  it('packs envelopes like DynamoDB capture, and the bodies parse back as S3 envelopes', () => {
    const records = Array.from({ length: 5 }, (_, i) => s3EventRecord({ rawKey: `k${i}` }));
    const { envelopes } = buildS3Envelopes([msg(s3Notification(...records))], OPTS);
    const messages = packMessages(envelopes, { ...OPTS, envelopesPerMessage: 2 });
    expect(messages.map((m) => m.envelopeCount)).toEqual([2, 2, 1]);
    expect(messages.flatMap((m) => parseS3Body(m.body)).map((e) => e.key.key)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
  });
});

describe('enqueueRepairs', () => {
  const sqs = mockClient(SQSClient);
  beforeEach(() => sqs.reset());
  const envelopes = buildRepairEnvelopes(
    Array.from({ length: 30 }, (_, i) => ({
      kind: 'missing' as const,
      key: { pk: { S: `k${i}` } },
      sourceItem: { pk: { S: `k${i}` } },
    })),
    { pair: 'orders', origin: 'us-east-1', keyNames: ['pk'], readAt: 1_780_000_000_999 },
  );

  it('packs the envelopes into messages and sends them like capture', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const r = await enqueueRepairs(new SQSClient({}), 'https://q', envelopes, { pair: 'orders' });
    expect(r).toEqual({ messages: 2, requests: 1 });
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: 'https://q' });
    const bodies = sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input.Entries!.map((e) => e.MessageBody!);
    expect(bodies.flatMap((b) => parseTableBody(b))).toEqual(envelopes);
  });

  it('fails if a message was not accepted', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Failed: [{ Id: '1', Code: 'Throttled', SenderFault: false }] });
    await expect(enqueueRepairs(new SQSClient({}), 'https://q', envelopes, { pair: 'orders' })).rejects.toThrow(
      /5 repair envelope\(s\) not enqueued \(Throttled/,
    );
  });

  it('sends nothing for no envelopes', async () => {
    expect(await enqueueRepairs(new SQSClient({}), 'https://q', [], { pair: 'orders' })).toEqual({
      messages: 0,
      requests: 0,
    });
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });
});

describe('re-send and dead-letter requests', () => {
  it('re-sends to one target after its delay, with the attempts, the first failure and the repair mark', () => {
    const e = envelope({ key, seq: 1 });
    expect(
      resendRequest('https://q', {
        envelopes: [e],
        targetId: 't1',
        attempt: 2,
        since: 42,
        delaySeconds: 3,
        repair: true,
      }),
    ).toEqual({
      QueueUrl: 'https://q',
      MessageBody: JSON.stringify(e),
      DelaySeconds: 3,
      MessageAttributes: {
        [TARGET_ATTR]: { DataType: 'String', StringValue: 't1' },
        [ATTEMPT_ATTR]: { DataType: 'Number', StringValue: '2' },
        [SINCE_ATTR]: { DataType: 'Number', StringValue: '42' },
        [REPAIR_ATTR]: { DataType: 'String', StringValue: 'true' },
      },
    });
    // Several envelopes travel as an array, one as an object (what capture sends too); no target: every target.
    const both = resendRequest('https://q', { envelopes: [e, e], attempt: 1, since: 42, delaySeconds: 0 });
    expect(both.MessageBody).toBe(JSON.stringify([e, e]));
    expect(both.MessageAttributes?.[TARGET_ATTR]).toBeUndefined();
  });

  it('dead-letters a body with its pair, target, reason, error name and attempts', () => {
    expect(
      deadLetterRequest('https://dlq', {
        body: 'b',
        pair: 'orders',
        targetId: 'eu-west-1/orders',
        reason: 'ValidationException: too big',
        errorName: 'ValidationException',
        attempt: 1,
      }),
    ).toEqual({
      QueueUrl: 'https://dlq',
      MessageBody: 'b',
      MessageAttributes: {
        [PAIR_ATTR]: { DataType: 'String', StringValue: 'orders' },
        [TARGET_ATTR]: { DataType: 'String', StringValue: 'eu-west-1/orders' },
        [ERROR_ATTR]: { DataType: 'String', StringValue: 'ValidationException: too big' },
        [ERROR_NAME_ATTR]: { DataType: 'String', StringValue: 'ValidationException' },
        [ATTEMPT_ATTR]: { DataType: 'Number', StringValue: '1' },
      },
    });
  });
});
