/**
 * The stream poller's Lambda semantics (partial batch responses, bisect, retries, record age, on-failure
 * records) against an in-memory stream, plus the pure pieces of the runtime: event shapes, filters, EMF,
 * schedules and queue URL rewriting. No moto needed.
 */
import type { DynamoDBStreamsClient, _Record as StreamRecord } from '@aws-sdk/client-dynamodb-streams';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { FunctionInfo, MappingInfo } from '../../../src/local/discovery';
import { emfToMetricData, parseEmfLine } from '../../../src/local/emf';
import { passesFilters, sqsFilterView } from '../../../src/local/event-filter';
import type { InvocationOutcome } from '../../../src/local/function-pool';
import {
  DynamoDbStreamPoller,
  firstFailedIndex,
  type LambdaDynamoDbRecord,
  toLambdaDynamoDbRecord,
  toLambdaSqsRecord,
} from '../../../src/local/pollers';
import { localizeQueueUrls, rateToMs } from '../../../src/local/runtime';

const STREAM_ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/T/stream/2026-01-01T00:00:00.000';
const QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:failures';

function mapping(overrides: Partial<MappingInfo> = {}): MappingInfo {
  return {
    stackName: 'S',
    region: 'eu-west-1',
    logicalId: 'Esm',
    uuid: 'u',
    kind: 'dynamodb',
    eventSourceArn: STREAM_ARN,
    functionName: 'fn',
    batchSize: 10,
    maximumBatchingWindowSeconds: 0,
    startingPosition: 'TRIM_HORIZON',
    startingPositionTimestamp: undefined,
    reportBatchItemFailures: true,
    bisectBatchOnFunctionError: true,
    maximumRetryAttempts: 2,
    maximumRecordAgeSeconds: -1,
    onFailureDestination: QUEUE_ARN,
    enabled: true,
    filterPatterns: [],
    maximumConcurrency: undefined,
    parallelizationFactor: 1,
    tumblingWindowSeconds: undefined,
    ...overrides,
  };
}

const fn = { functionName: 'fn', functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:fn' } as FunctionInfo;

function record(i: number, created = new Date()): StreamRecord {
  return {
    eventID: `e${i}`,
    eventName: 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: created,
      Keys: { pk: { S: `k${i}` } },
      NewImage: { pk: { S: `k${i}` }, blob: { B: new Uint8Array([1, 2, 3]) } },
      SequenceNumber: String(1000 + i),
      SizeBytes: 10,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

/** Runs a poller over `records` until the stream is drained; returns invocations and on-failure records. */
async function drain(
  records: StreamRecord[],
  m: MappingInfo,
  handler: (keys: string[]) => { throws?: boolean; failed?: string[] },
) {
  let served = false;
  const streams = {
    send: async (command: { constructor: { name: string } }) => {
      switch (command.constructor.name) {
        case 'DescribeStreamCommand':
          return { StreamDescription: { Shards: [{ ShardId: 'shard-1' }] } };
        case 'GetShardIteratorCommand':
          return { ShardIterator: 'it' };
        default: {
          const out = served ? [] : records;
          served = true;
          return { Records: out, NextShardIterator: 'it' };
        }
      }
    },
  } as unknown as DynamoDBStreamsClient;
  const sent: Record<string, unknown>[] = [];
  const sqs = {
    send: async (command: { constructor: { name: string }; input: { MessageBody?: string } }) => {
      if (command.constructor.name === 'GetQueueUrlCommand') return { QueueUrl: 'http://localhost/q' };
      sent.push(JSON.parse(command.input.MessageBody ?? '{}'));
      return {};
    },
  } as unknown as SQSClient;
  const invocations: string[][] = [];
  const invoke = async (event: unknown): Promise<InvocationOutcome> => {
    const recs = (event as { Records: LambdaDynamoDbRecord[] }).Records;
    const keys = recs.map((r) => String((r.dynamodb.Keys as { pk: { S: string } }).pk.S));
    invocations.push(keys);
    const result = handler(keys);
    const base = { requestId: `r${invocations.length}`, durationMs: 1 };
    if (result.throws) return { ok: false, error: { errorType: 'Error', errorMessage: 'boom' }, ...base };
    const seq = (k: string) =>
      recs.find((r) => (r.dynamodb.Keys as { pk: { S: string } }).pk.S === k)?.dynamodb.SequenceNumber;
    return {
      ok: true,
      result: { batchItemFailures: (result.failed ?? []).map((k) => ({ itemIdentifier: seq(k) })) },
      ...base,
    };
  };
  const poller = new DynamoDbStreamPoller({ mapping: m, fn, invoke, sqs: () => sqs, log: () => undefined }, streams);
  poller.start();
  const expected = records.length;
  const deadline = Date.now() + 10_000;
  while (poller.stats.recordsDelivered + poller.stats.recordsToDestination < expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await poller.stop();
  return { invocations, sent, stats: poller.stats };
}

const keys = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `k${from + i}`);

describe('DynamoDbStreamPoller', () => {
  it('checkpoints before a reported failure and bisects until the failing record is alone', async () => {
    const { invocations, sent } = await drain(
      Array.from({ length: 10 }, (_, i) => record(i)),
      mapping(),
      (k) => ({ failed: k.filter((x) => x === 'k4') }),
    );
    expect(invocations).toEqual([
      keys(0, 9),
      keys(4, 6),
      keys(4, 5),
      ['k4'],
      ['k4'],
      ['k4'],
      ['k5'],
      ['k6'],
      keys(7, 9),
    ]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3, functionArn: fn.functionArn },
      responseContext: { statusCode: 200, executedVersion: '$LATEST' },
      version: '1.0',
      DDBStreamBatchInfo: {
        shardId: 'shard-1',
        startSequenceNumber: '1004',
        endSequenceNumber: '1004',
        batchSize: 1,
        streamArn: STREAM_ARN,
      },
    });
  });

  it('retries a whole failing batch and then sends all of it to the destination without bisect', async () => {
    const { invocations, sent } = await drain(
      [record(0), record(1), record(2)],
      mapping({ bisectBatchOnFunctionError: false, reportBatchItemFailures: false, maximumRetryAttempts: 1 }),
      (k) => ({ throws: k.includes('k1') }),
    );
    expect(invocations).toEqual([keys(0, 2), keys(0, 2)]);
    expect(sent[0]).toMatchObject({
      responseContext: { functionError: 'Unhandled' },
      DDBStreamBatchInfo: { startSequenceNumber: '1000', endSequenceNumber: '1002', batchSize: 3 },
    });
  });

  it('sends records older than MaximumRecordAgeInSeconds to the destination without invoking', async () => {
    const old = new Date(Date.now() - 120_000);
    const { invocations, sent } = await drain(
      [record(0, old), record(1)],
      mapping({ maximumRecordAgeSeconds: 60 }),
      () => ({}),
    );
    expect(invocations).toEqual([['k1']]);
    expect(sent[0]).toMatchObject({
      requestContext: { condition: 'RecordAgeExceeded' },
      DDBStreamBatchInfo: { batchSize: 1 },
    });
  });

  it('honours the batch size', async () => {
    const { invocations } = await drain(
      Array.from({ length: 5 }, (_, i) => record(i)),
      mapping({ batchSize: 2 }),
      () => ({}),
    );
    expect(invocations).toEqual([keys(0, 1), keys(2, 3), ['k4']]);
  });
});

/** A one-shard stream whose iterators honour TRIM_HORIZON and AFTER_SEQUENCE_NUMBER; records can be added. */
function growingStream(records: StreamRecord[]) {
  const iterators: string[] = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, string> }) => {
      switch (command.constructor.name) {
        case 'DescribeStreamCommand':
          return { StreamDescription: { Shards: [{ ShardId: 'shard-1' }] } };
        case 'GetShardIteratorCommand': {
          const { ShardIteratorType: type, SequenceNumber: after } = command.input;
          iterators.push(type === 'AFTER_SEQUENCE_NUMBER' ? `${type} ${after}` : String(type));
          return { ShardIterator: type === 'AFTER_SEQUENCE_NUMBER' ? String(after) : '0' };
        }
        default: {
          const after = Number(command.input.ShardIterator);
          const out = records.filter((r) => Number(r.dynamodb?.SequenceNumber) > after);
          const last = out.at(-1)?.dynamodb?.SequenceNumber ?? String(after);
          return { Records: out, NextShardIterator: last };
        }
      }
    },
  } as unknown as DynamoDBStreamsClient;
  return { client, iterators };
}

describe('DynamoDbStreamPoller across a redeploy', () => {
  it('goes on after the records the poller before it was done with, as a Lambda mapping does across an update', async () => {
    const records = Array.from({ length: 4 }, (_, i) => record(i));
    const stream = growingStream(records);
    const seen: string[] = [];
    const run = async (resumeAfter: Record<string, string> | undefined, until: number) => {
      const invoke = async (event: unknown): Promise<InvocationOutcome> => {
        for (const r of (event as { Records: LambdaDynamoDbRecord[] }).Records) {
          seen.push(String((r.dynamodb.Keys as { pk: { S: string } }).pk.S));
        }
        return { ok: true, result: {}, requestId: 'r', durationMs: 1 };
      };
      const poller = new DynamoDbStreamPoller(
        { mapping: mapping({ batchSize: 3 }), fn, invoke, sqs: () => ({}) as SQSClient, log: () => undefined },
        stream.client,
        resumeAfter,
      );
      poller.start();
      const deadline = Date.now() + 10_000;
      while (seen.length < until && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await poller.stop();
      return poller.position();
    };
    const first = await run(undefined, 4);
    expect(first).toEqual({ 'shard-1': '1003' });
    records.push(record(4), record(5));
    const second = await run(first, 6);
    expect(seen).toEqual(keys(0, 5));
    expect(second).toEqual({ 'shard-1': '1005' });
    expect(stream.iterators).toEqual(['TRIM_HORIZON', 'AFTER_SEQUENCE_NUMBER 1003']);
  });
});

describe('event shapes', () => {
  it('builds a Lambda DynamoDB record: epoch seconds, base64 binaries, the stack region and the stream ARN', () => {
    const created = new Date('2026-01-02T03:04:05.678Z');
    const lambda = toLambdaDynamoDbRecord(record(1, created), 'eu-west-1', STREAM_ARN);
    expect(lambda).toEqual({
      eventID: 'e1',
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'eu-west-1',
      dynamodb: {
        ApproximateCreationDateTime: 1767323045,
        Keys: { pk: { S: 'k1' } },
        NewImage: { pk: { S: 'k1' }, blob: { B: 'AQID' } },
        SequenceNumber: '1001',
        SizeBytes: 10,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      eventSourceARN: STREAM_ARN,
    });
  });

  it('builds a Lambda SQS record with message attributes in Lambda shape', () => {
    const lambda = toLambdaSqsRecord(
      {
        MessageId: 'm',
        ReceiptHandle: 'h',
        Body: 'b',
        MD5OfBody: 'md5',
        Attributes: {
          ApproximateReceiveCount: '2',
          SentTimestamp: '1',
          SenderId: 's',
          ApproximateFirstReceiveTimestamp: '2',
        },
        MessageAttributes: {
          color: { DataType: 'String', StringValue: 'red' },
          raw: { DataType: 'Binary', BinaryValue: new Uint8Array([255]) },
        },
      },
      'arn:aws:sqs:eu-west-1:123456789012:q',
    );
    expect(lambda).toEqual({
      messageId: 'm',
      receiptHandle: 'h',
      body: 'b',
      attributes: {
        ApproximateReceiveCount: '2',
        SentTimestamp: '1',
        SenderId: 's',
        ApproximateFirstReceiveTimestamp: '2',
      },
      messageAttributes: {
        color: { stringValue: 'red', stringListValues: [], binaryListValues: [], dataType: 'String' },
        raw: { binaryValue: '/w==', stringListValues: [], binaryListValues: [], dataType: 'Binary' },
      },
      md5OfBody: 'md5',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:q',
      awsRegion: 'eu-west-1',
    });
  });

  it('treats an unknown or empty itemIdentifier as a failure of the whole batch', () => {
    const ok = (batchItemFailures: unknown): InvocationOutcome => ({
      ok: true,
      result: { batchItemFailures },
      requestId: 'r',
      durationMs: 1,
    });
    expect(firstFailedIndex(ok([]), ['a', 'b'], true)).toBe(-1);
    expect(firstFailedIndex(ok([{ itemIdentifier: 'b' }]), ['a', 'b'], true)).toBe(1);
    expect(firstFailedIndex(ok([{ itemIdentifier: 'x' }]), ['a', 'b'], true)).toBe(0);
    expect(firstFailedIndex(ok([{ itemIdentifier: '' }]), ['a', 'b'], true)).toBe(0);
    expect(firstFailedIndex(ok([{ itemIdentifier: 'b' }]), ['a', 'b'], false)).toBe(-1);
  });
});

describe('filters, EMF, schedules and queue URLs', () => {
  it('matches Lambda filter patterns on stream records and JSON SQS bodies', () => {
    const rec = toLambdaDynamoDbRecord(record(1), 'eu-west-1', STREAM_ARN);
    expect(passesFilters([{ eventName: ['INSERT'] }], rec)).toBe(true);
    expect(passesFilters([{ eventName: ['REMOVE'] }], rec)).toBe(false);
    expect(passesFilters([{ dynamodb: { Keys: { pk: { S: [{ prefix: 'k' }] } } } }], rec)).toBe(true);
    expect(passesFilters([{ dynamodb: { NewImage: { gone: { S: [{ exists: false }] } } } }], rec)).toBe(true);
    expect(passesFilters([{ body: { n: [{ numeric: ['>', 5] }] } }], sqsFilterView({ body: '{"n": 7}' }))).toBe(true);
    expect(passesFilters([{ body: { n: [{ 'anything-but': [7] }] } }], sqsFilterView({ body: '{"n": 7}' }))).toBe(
      false,
    );
    expect(passesFilters([], rec)).toBe(true);
  });

  it('turns an EMF line into PutMetricData data, one datum per metric and dimension set', () => {
    const line = JSON.stringify({
      _aws: {
        Timestamp: 1_767_323_045_000,
        CloudWatchMetrics: [
          { Namespace: 'N', Dimensions: [['service'], []], Metrics: [{ Name: 'Lag', Unit: 'Milliseconds' }] },
        ],
      },
      service: 'svc',
      Lag: [5, 7],
    });
    const emf = parseEmfLine(line);
    expect(parseEmfLine('{"level":"INFO","message":"hi"}')).toBeUndefined();
    expect(emfToMetricData(emf!)).toEqual([
      {
        namespace: 'N',
        data: [
          {
            MetricName: 'Lag',
            Dimensions: [{ Name: 'service', Value: 'svc' }],
            Timestamp: new Date(1_767_323_045_000),
            Unit: 'Milliseconds',
            Values: [5, 7],
          },
          {
            MetricName: 'Lag',
            Dimensions: [],
            Timestamp: new Date(1_767_323_045_000),
            Unit: 'Milliseconds',
            Values: [5, 7],
          },
        ],
      },
    ]);
  });

  it('reads rate expressions and leaves cron to the caller', () => {
    expect(rateToMs('rate(1 minute)')).toBe(60_000);
    expect(rateToMs('rate(5 minutes)')).toBe(300_000);
    expect(rateToMs('rate(2 hours)')).toBe(7_200_000);
    expect(rateToMs('rate(1 day)')).toBe(86_400_000);
    expect(rateToMs('cron(0 12 * * ? *)')).toBeUndefined();
  });

  it('rewrites real-AWS queue URLs in an environment to the local endpoint', () => {
    expect(
      localizeQueueUrls(
        { Q: 'https://sqs.eu-west-1.amazonaws.com/123456789012/my-queue', T: 'table', U: 'https://example.com/x' },
        'http://localhost:4566/',
      ),
    ).toEqual({ Q: 'http://localhost:4566/123456789012/my-queue' });
  });
});
