/**
 * Typed event factories (after Powertools' tests/helpers/factories.ts): DynamoDB stream records, SQS
 * records and envelopes, with just enough defaults to read well in tests.
 */
import type { DynamoDBRecord, SQSRecord } from 'aws-lambda';
import type { AttrMap } from '../../functions/dynamodb/attributes';
import type { TableEnvelope } from '../../functions/dynamodb/envelope';
import { streamVersion } from '../../functions/engine/version';

let seq = 1_000;

/** A stream record as Lambda delivers it. */
export function streamRecord(opts: {
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  keys: AttrMap;
  newImage?: AttrMap;
  oldImage?: AttrMap;
  sequenceNumber?: string;
  createdAtSeconds?: number;
}): DynamoDBRecord {
  const sequenceNumber = opts.sequenceNumber ?? String(seq++);
  return {
    eventID: `ev-${sequenceNumber}`,
    eventName: opts.eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000',
    dynamodb: {
      ApproximateCreationDateTime: opts.createdAtSeconds ?? 1_780_000_000,
      Keys: opts.keys as never,
      NewImage: opts.newImage as never,
      OldImage: opts.oldImage as never,
      SequenceNumber: sequenceNumber,
      SizeBytes: 100,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

/** A put or delete envelope for `orders`. */
export function envelope(opts: {
  op?: 'put' | 'delete';
  key?: AttrMap;
  image?: AttrMap | null;
  seq?: number;
  timeSeconds?: number;
  origin?: string;
}): TableEnvelope {
  const key = opts.key ?? { pk: { S: 'a' }, sk: { S: '1' } };
  const op = opts.op ?? 'put';
  return {
    v: 1,
    pair: 'orders',
    op,
    key,
    image: op === 'delete' ? null : opts.image === undefined ? { ...key, qty: { N: '1' } } : opts.image,
    version: streamVersion(opts.timeSeconds ?? 1_780_000_000, String(opts.seq ?? seq++)),
    origin: opts.origin ?? 'us-east-1',
    capturedAt: 1_780_000_000_500,
  };
}

/** An SQS record as Lambda delivers it. */
export function sqsRecord(
  body: string,
  opts: { receiveCount?: number; attributes?: Record<string, string> } = {},
): SQSRecord {
  const id = `msg-${seq++}`;
  return {
    messageId: id,
    receiptHandle: `rh-${id}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(opts.receiveCount ?? 1),
      SentTimestamp: '1780000000000',
      SenderId: 'AIDA',
      ApproximateFirstReceiveTimestamp: '1780000000001',
    },
    messageAttributes: Object.fromEntries(
      Object.entries(opts.attributes ?? {}).map(([k, v]) => [
        k,
        { stringValue: v, stringListValues: [], binaryListValues: [], dataType: 'String' },
      ]),
    ),
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:replicator-orders',
    awsRegion: 'us-east-1',
  };
}
