import { Metrics } from '@aws-lambda-powertools/metrics';
import { BatchGetItemCommand, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  type CopyObjectCommandInput,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type HeadObjectCommandInput,
  type HeadObjectOutput,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { s3KeyHash } from '../../functions/s3/envelope';
import { sqsRecord } from '../helpers/factories';
import { s3Envelope } from '../helpers/s3-factories';
import { s3Error } from '../helpers/s3-memory-stores';

const s3 = mockClient(S3Client);
const ddb = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);
type Handler = (e: SQSEvent, c: Context) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
let handler: Handler;
const context = { functionName: 'replicator-datasets-copy', getRemainingTimeInMillis: () => 60_000 } as Context;
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/replicator-datasets';
const DLQ = `${QUEUE}-dlq`;
const EU = 'eu-west-1/training-data-eu';
const AP = 'ap-northeast-1/training-data-ap';
const MiB = 1024 * 1024;
const addMetric = vi.spyOn(Metrics.prototype, 'addMetric');

beforeAll(async () => {
  vi.stubEnv('PAIR_NAME', 'datasets');
  vi.stubEnv('QUEUE_URL', QUEUE);
  vi.stubEnv('DLQ_URL', DLQ);
  vi.stubEnv('STATE_TABLE', 'replicator-datasets-state');
  vi.stubEnv('SOURCE_BUCKET', 'training-data');
  vi.stubEnv('SOURCE_REGION', 'us-east-1');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('MAX_ATTEMPTS', '3');
  vi.stubEnv('MULTIPART_THRESHOLD', String(5 * MiB));
  vi.stubEnv('PART_SIZE', String(5 * MiB));
  vi.stubEnv('COPY_CONCURRENCY', '2');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  vi.stubEnv(
    'TARGETS',
    JSON.stringify([
      { id: EU, region: 'eu-west-1', bucket: 'training-data-eu', storageClass: 'STANDARD_IA' },
      {
        id: AP,
        region: 'ap-northeast-1',
        bucket: 'training-data-ap',
        roleArn: 'arn:aws:iam::222222222222:role/replicator-target',
        externalId: 'ext',
      },
    ]),
  );
  ({ handler } = (await import('../../functions/s3/copy-handler')) as unknown as { handler: Handler });
});

/**
 * A small fake of S3 behind the mock: objects by "bucket/key" (and "bucket/key?versionId=…" for versions).
 * CopyObject decodes its CopySource as S3 does, so a wrongly encoded one finds nothing.
 */
let objects: Map<string, HeadObjectOutput>;
let corruptCopies = false;

/** A source object's HEAD: every header a copy must carry, two tags, and a CRC32 when given. */
function sourceObject(body: { size: number; md5: string; crc: string }, extra: Partial<HeadObjectOutput> = {}) {
  return {
    ContentLength: body.size,
    ETag: `"${body.md5}"`,
    ChecksumCRC32: body.crc,
    ContentType: 'application/x-parquet',
    CacheControl: 'max-age=60',
    ContentDisposition: 'attachment',
    ContentEncoding: 'gzip',
    ContentLanguage: 'en',
    Expires: new Date('2030-01-01T00:00:00Z'),
    Metadata: { owner: 'ml-team' },
    TagCount: 2,
    LastModified: new Date(1_780_000_000_000),
    ...extra,
  } as HeadObjectOutput;
}

function put(bucket: string, key: string, o: HeadObjectOutput, versionId?: string) {
  objects.set(`${bucket}/${key}${versionId ? `?versionId=${versionId}` : ''}`, o);
}

function resolveCopySource(copySource: string): HeadObjectOutput | undefined {
  const [path, query] = copySource.split('?');
  const [bucket, ...rest] = path!.split('/');
  const key = rest.map(decodeURIComponent).join('/');
  const versionId = query ? new URLSearchParams(query.replace(/\+/g, '%2B')).get('versionId') : null;
  return objects.get(`${bucket}/${key}${versionId ? `?versionId=${versionId}` : ''}`);
}

function fakeS3() {
  s3.on(HeadObjectCommand).callsFake((input: HeadObjectCommandInput) => {
    const o = objects.get(`${input.Bucket}/${input.Key}${input.VersionId ? `?versionId=${input.VersionId}` : ''}`);
    if (!o) throw s3Error('NotFound', 404, 'UnknownError');
    return o;
  });
  s3.on(CopyObjectCommand).callsFake((input: CopyObjectCommandInput) => {
    const src = resolveCopySource(input.CopySource!);
    if (!src) throw s3Error('NoSuchKey', 404, 'The specified key does not exist.');
    put(input.Bucket!, input.Key!, {
      ContentLength: src.ContentLength,
      ETag: src.ETag,
      ChecksumCRC32: corruptCopies ? 'BAD=' : src.ChecksumCRC32,
      Metadata: input.Metadata,
    });
    // As S3 does: the response carries the new object's ETag and the checksum the copy asked for.
    const checksum = corruptCopies ? 'BAD=' : src.ChecksumCRC32;
    return {
      CopyObjectResult: { ETag: src.ETag, ...(input.ChecksumAlgorithm === 'CRC32' ? { ChecksumCRC32: checksum } : {}) },
    };
  });
  s3.on(GetObjectTaggingCommand).resolves({
    TagSet: [
      { Key: 'a', Value: '1' },
      { Key: 'b', Value: 'two words' },
    ],
  });
  s3.on(DeleteObjectCommand).callsFake((input) => {
    objects.delete(`${input.Bucket}/${input.Key}`);
    return {};
  });
}

beforeEach(() => {
  // The top of each full-jitter window, so the delays read plainly.
  vi.spyOn(Math, 'random').mockReturnValue(0.9999);
  s3.reset();
  ddb.reset();
  sqs.reset();
  addMetric.mockClear();
  objects = new Map();
  corruptCopies = false;
  fakeS3();
  ddb.on(BatchGetItemCommand).resolves({ Responses: { 'replicator-datasets-state': [] } });
  ddb.on(UpdateItemCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm' });
});

const KEY = 'datasets/dir one/a+b%c/ü.parquet';
const SMALL = { size: 1234, md5: '0cc175b9c0f1b6a831c399e269772661', crc: 'Q3JjMzI=' };
const metric = (name: string) =>
  addMetric.mock.calls.filter((c) => c[0] === name).reduce((sum, c) => sum + Number(c[2]), 0);

describe('copy handler', () => {
  it('copies a small object with CopyObject: encoded CopySource, the event version, metadata and headers', async () => {
    put('training-data', KEY, sourceObject(SMALL), 'v 1+');
    const e = s3Envelope({ key: KEY, ref: { versionId: 'v 1+' } });
    const res = await handler({ Records: [sqsRecord(JSON.stringify(e))] }, context);
    expect(res.batchItemFailures).toEqual([]);
    expect(s3).toHaveReceivedCommandWith(HeadObjectCommand, {
      Bucket: 'training-data',
      Key: KEY,
      VersionId: 'v 1+',
      ChecksumMode: 'ENABLED',
    });
    expect(s3).toHaveReceivedCommandWith(CopyObjectCommand, {
      Bucket: 'training-data-eu',
      Key: KEY,
      CopySource: 'training-data/datasets/dir%20one/a%2Bb%25c/%C3%BC.parquet?versionId=v%201%2B',
      MetadataDirective: 'REPLACE',
      Metadata: {
        owner: 'ml-team',
        'rep-v': e.version,
        'rep-o': 'us-east-1',
        'rep-e': '0cc175b9c0f1b6a831c399e269772661',
        'rep-m': '1780000000000',
      },
      ContentType: 'application/x-parquet',
      CacheControl: 'max-age=60',
      ContentDisposition: 'attachment',
      ContentEncoding: 'gzip',
      ContentLanguage: 'en',
      Expires: new Date('2030-01-01T00:00:00Z'),
      TaggingDirective: 'COPY',
      StorageClass: 'STANDARD_IA',
      ChecksumAlgorithm: 'CRC32',
      IfNoneMatch: '*',
    });
    // A versioned source is pinned by its version id, not by ETag.
    const input = s3.commandCalls(CopyObjectCommand)[0]!.args[0].input;
    expect(input.CopySourceIfMatch).toBeUndefined();
    expect(objects.get(`training-data-eu/${KEY}`)?.Metadata?.['rep-v']).toBe(e.version);
    expect(metric('ReplicatedItems')).toBe(2);
    expect(metric('ReplicatedBytes')).toBe(2 * 1234);
    expect(metric('UnverifiedCopies')).toBe(0);
    expect(sqs).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it('writes the tags explicitly for a target of another account, and pins an unversioned source by ETag', async () => {
    put('training-data', KEY, sourceObject(SMALL));
    await handler({ Records: [sqsRecord(JSON.stringify(s3Envelope({ key: KEY })))] }, context);
    expect(s3).toHaveReceivedCommandWith(GetObjectTaggingCommand, { Bucket: 'training-data', Key: KEY });
    expect(s3).toHaveReceivedCommandWith(CopyObjectCommand, {
      Bucket: 'training-data-ap',
      TaggingDirective: 'REPLACE',
      Tagging: 'a=1&b=two%20words',
      CopySourceIfMatch: `"${SMALL.md5}"`,
    });
  });

  it('conditions the copy on the ETag the HEAD saw when the target has an older object', async () => {
    put('training-data', KEY, sourceObject(SMALL));
    put('training-data-eu', KEY, { ETag: '"old"', ContentLength: 1, Metadata: { 'rep-v': 's0' } });
    await handler(
      { Records: [sqsRecord(JSON.stringify(s3Envelope({ key: KEY })), { attributes: { 'rep-target': EU } })] },
      context,
    );
    expect(s3).toHaveReceivedCommandWith(CopyObjectCommand, { Bucket: 'training-data-eu', IfMatch: '"old"' });
  });

  it('copies a large object in parallel parts with a full-object checksum, then completes it conditionally', async () => {
    const size = 12 * MiB + 5;
    put('training-data', KEY, sourceObject({ size, md5: 'aaaa-2', crc: 'RnVsbA==' }, { ChecksumType: 'FULL_OBJECT' }));
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'up-1' });
    s3.on(UploadPartCopyCommand).callsFake((input) => ({
      CopyPartResult: { ETag: `"p${input.PartNumber}"`, ChecksumCRC32: `c${input.PartNumber}` },
    }));
    s3.on(CompleteMultipartUploadCommand).callsFake((input) => {
      put(input.Bucket!, input.Key!, {
        ContentLength: size,
        ETag: '"bbbb-3"',
        ChecksumCRC32: 'RnVsbA==',
        ChecksumType: 'FULL_OBJECT',
        Metadata: { 'rep-v': e.version },
      });
      return {};
    });
    const e = s3Envelope({ key: KEY });
    const rec = sqsRecord(JSON.stringify(e), { attributes: { 'rep-target': EU } });
    const res = await handler({ Records: [rec] }, context);
    expect(res.batchItemFailures).toEqual([]);
    expect(s3).toHaveReceivedCommandWith(CreateMultipartUploadCommand, {
      Bucket: 'training-data-eu',
      Key: KEY,
      Metadata: {
        owner: 'ml-team',
        'rep-v': e.version,
        'rep-o': 'us-east-1',
        'rep-e': 'aaaa-2',
        'rep-m': '1780000000000',
      },
      ContentType: 'application/x-parquet',
      Tagging: 'a=1&b=two%20words',
      StorageClass: 'STANDARD_IA',
      ChecksumAlgorithm: 'CRC32',
      ChecksumType: 'FULL_OBJECT',
    });
    const parts = s3.commandCalls(UploadPartCopyCommand).map((c) => c.args[0].input);
    expect(parts.map((p) => [p.PartNumber, p.CopySourceRange]).sort()).toEqual([
      [1, `bytes=0-${5 * MiB - 1}`],
      [2, `bytes=${5 * MiB}-${10 * MiB - 1}`],
      [3, `bytes=${10 * MiB}-${size - 1}`],
    ]);
    for (const p of parts) {
      expect(p).toMatchObject({
        UploadId: 'up-1',
        CopySource: 'training-data/datasets/dir%20one/a%2Bb%25c/%C3%BC.parquet',
        CopySourceIfMatch: '"aaaa-2"',
      });
    }
    expect(s3).toHaveReceivedCommandWith(CompleteMultipartUploadCommand, {
      UploadId: 'up-1',
      ChecksumType: 'FULL_OBJECT',
      IfNoneMatch: '*',
      MultipartUpload: {
        Parts: [
          { PartNumber: 1, ETag: '"p1"', ChecksumCRC32: 'c1' },
          { PartNumber: 2, ETag: '"p2"', ChecksumCRC32: 'c2' },
          { PartNumber: 3, ETag: '"p3"', ChecksumCRC32: 'c3' },
        ],
      },
    });
    expect(s3).not.toHaveReceivedCommand(AbortMultipartUploadCommand);
    expect(metric('UnverifiedCopies')).toBe(0);
  });

  it('aborts the multipart upload when a part fails, copies no more parts, and re-sends the envelope', async () => {
    put('training-data', KEY, sourceObject({ size: 30 * MiB, md5: 'aaaa-6', crc: 'x' }));
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'up-2' });
    s3.on(UploadPartCopyCommand).callsFake((input) => {
      if (input.PartNumber === 2) throw s3Error('InternalError', 500, 'We encountered an internal error.');
      return { CopyPartResult: { ETag: `"p${input.PartNumber}"` } };
    });
    s3.on(AbortMultipartUploadCommand).resolves({});
    const rec = sqsRecord(JSON.stringify(s3Envelope({ key: KEY })), { attributes: { 'rep-target': EU } });
    const res = await handler({ Records: [rec] }, context);
    expect(res.batchItemFailures).toEqual([]);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: QUEUE,
      MessageBody: rec.body,
      MessageAttributes: expect.objectContaining({ 'rep-target': { DataType: 'String', StringValue: EU } }),
    });
    expect(s3).toHaveReceivedCommandWith(AbortMultipartUploadCommand, {
      Bucket: 'training-data-eu',
      Key: KEY,
      UploadId: 'up-2',
    });
    expect(s3).not.toHaveReceivedCommand(CompleteMultipartUploadCommand);
    // Two parts in flight at most: after part 2 fails, at most part 3 was already started.
    expect(s3.commandCalls(UploadPartCopyCommand).length).toBeLessThanOrEqual(3);
  });

  it('counts a source that vanished before the copy as stale, with no DLQ entry', async () => {
    const e = s3Envelope({ key: 'datasets/gone.bin', ref: { versionId: 'v9' } });
    const res = await handler({ Records: [sqsRecord(JSON.stringify(e))] }, context);
    expect(res.batchItemFailures).toEqual([]);
    expect(s3).not.toHaveReceivedCommand(CopyObjectCommand);
    expect(sqs).not.toHaveReceivedCommand(SendMessageCommand);
    expect(metric('StaleSkipped')).toBe(2);
  });

  it('counts a source that vanished between its HEAD and the copy as stale too', async () => {
    put('training-data', KEY, sourceObject(SMALL), 'v1');
    s3.on(CopyObjectCommand).rejects(s3Error('NoSuchVersion', 404, 'The specified version does not exist.'));
    const res = await handler(
      { Records: [sqsRecord(JSON.stringify(s3Envelope({ key: KEY, ref: { versionId: 'v1' } })))] },
      context,
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(sqs).not.toHaveReceivedCommand(SendMessageCommand);
    expect(metric('StaleSkipped')).toBe(2);
  });

  it('verifies a single-part copy from the CopyObject response, without a second HEAD of the target', async () => {
    put('training-data', KEY, sourceObject(SMALL));
    const res = await handler({ Records: [sqsRecord(JSON.stringify(s3Envelope({ key: KEY })))] }, context);
    expect(res.batchItemFailures).toEqual([]);
    const targetHeads = s3.commandCalls(HeadObjectCommand).filter((c) => c.args[0].input.Bucket === 'training-data-eu');
    expect(targetHeads).toHaveLength(1);
    expect(metric('ReplicatedItems')).toBe(2);
    expect(metric('UnverifiedCopies')).toBe(0);
  });

  it('retries a copy whose checksum does not match its source, then dead-letters it with the reason', async () => {
    corruptCopies = true;
    put('training-data', KEY, sourceObject(SMALL));
    const body = JSON.stringify(s3Envelope({ key: KEY }));
    const first = sqsRecord(body);
    expect((await handler({ Records: [first] }, context)).batchItemFailures).toEqual([]);
    // Failed on both targets: one re-send, for both, after its backoff.
    expect(sqs).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, { QueueUrl: QUEUE, DelaySeconds: 2 });
    sqs.resetHistory();

    const last = sqsRecord(body, { receiveCount: 3 });
    expect((await handler({ Records: [last] }, context)).batchItemFailures).toEqual([]);
    const reasons = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(reasons).toHaveLength(2);
    for (const r of reasons) {
      expect(r.QueueUrl).toBe(DLQ);
      expect(r.MessageAttributes?.['rep-error']?.StringValue).toMatch(
        /^attempts exhausted \(3 of 3, failing for 0 s\); last error: target (eu-west-1\/training-data-eu|ap-northeast-1\/training-data-ap) \(s3\): IntegrityError: copy of version s[0-9A-F]{32} does not match its source: CRC32 BAD= on the target, Q3JjMzI= on the source$/,
      );
      expect(r.MessageAttributes?.['rep-error-name']?.StringValue).toBe('IntegrityError');
    }
  });

  it('dead-letters an object S3 will never copy (archived) at once, with its reason', async () => {
    put('training-data', KEY, sourceObject(SMALL, { StorageClass: 'GLACIER' }));
    s3.on(CopyObjectCommand).rejects(s3Error('InvalidObjectState', 403, 'Object is in the GLACIER storage class'));
    const res = await handler({ Records: [sqsRecord(JSON.stringify(s3Envelope({ key: KEY })))] }, context);
    expect(res.batchItemFailures).toEqual([]);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: DLQ,
      MessageAttributes: expect.objectContaining({
        'rep-error': {
          DataType: 'String',
          StringValue: `target ${EU} (s3): InvalidObjectState (HTTP 403): Object is in the GLACIER storage class`,
        },
        'rep-target': { DataType: 'String', StringValue: EU },
      }),
    });
    expect(metric('DeadLettered')).toBe(2);
  });

  it('dead-letters a body that is not an S3 envelope, keeping the body', async () => {
    const res = await handler({ Records: [sqsRecord('{"hello":1}')] }, context);
    expect(res.batchItemFailures).toEqual([]);
    const sent = sqs.commandCalls(SendMessageCommand)[0]!.args[0].input;
    expect(sent).toMatchObject({ QueueUrl: DLQ, MessageBody: '{"hello":1}' });
    expect(sent.MessageAttributes?.['rep-error']?.StringValue).toMatch(/envelope 0: v:/);
  });

  it('re-sends only to the failing target when the other target succeeded', async () => {
    put('training-data', KEY, sourceObject(SMALL));
    s3.on(CopyObjectCommand, { Bucket: 'training-data-ap' }).rejects(
      s3Error('SlowDown', 503, 'Please reduce your request rate.'),
    );
    const e = s3Envelope({ key: KEY });
    const res = await handler({ Records: [sqsRecord(JSON.stringify(e))] }, context);
    expect(res.batchItemFailures).toEqual([]);
    expect(objects.has(`training-data-eu/${KEY}`)).toBe(true);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: QUEUE,
      MessageBody: JSON.stringify(e),
      DelaySeconds: 2,
      MessageAttributes: {
        'rep-target': { DataType: 'String', StringValue: AP },
        'rep-attempt': { DataType: 'Number', StringValue: '1' },
        'rep-since': { DataType: 'Number', StringValue: expect.stringMatching(/^\d{13}$/) },
      },
    });
  });

  it('skips a copy the target already holds (same version): a duplicate changes nothing', async () => {
    put('training-data', KEY, sourceObject(SMALL));
    const e = s3Envelope({ key: KEY });
    put('training-data-eu', KEY, {
      ContentLength: 1234,
      ETag: `"${SMALL.md5}"`,
      ChecksumCRC32: SMALL.crc,
      Metadata: { 'rep-v': e.version },
    });
    await handler({ Records: [sqsRecord(JSON.stringify(e), { attributes: { 'rep-target': EU } })] }, context);
    expect(s3).not.toHaveReceivedCommand(CopyObjectCommand);
    expect(metric('StaleSkipped')).toBe(1);
  });

  it('records the tombstone, then deletes an older target object conditionally on its ETag', async () => {
    put('training-data-eu', KEY, { ETag: '"old"', ContentLength: 3, Metadata: { 'rep-v': 's0' } });
    const e = s3Envelope({ op: 'delete', key: KEY });
    const res = await handler(
      { Records: [sqsRecord(JSON.stringify(e), { attributes: { 'rep-target': EU } })] },
      context,
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: 'replicator-datasets-state',
      Key: { pk: { S: `s3tomb#${s3KeyHash(KEY)}` } },
      ExpressionAttributeValues: expect.objectContaining({ ':v': { S: e.version } }),
    });
    expect(s3).toHaveReceivedCommandWith(DeleteObjectCommand, {
      Bucket: 'training-data-eu',
      Key: KEY,
      IfMatch: '"old"',
    });
    expect(metric('ReplicatedItems')).toBe(1);
  });

  it('counts a copy verified by size only as UnverifiedCopies', async () => {
    // Uploaded in parts, without a checksum: a multipart ETag and nothing else to compare.
    put('training-data', KEY, sourceObject({ ...SMALL, md5: 'abc-2', crc: '' }));
    await handler(
      { Records: [sqsRecord(JSON.stringify(s3Envelope({ key: KEY })), { attributes: { 'rep-target': EU } })] },
      context,
    );
    expect(metric('ReplicatedItems')).toBe(1);
    expect(metric('UnverifiedCopies')).toBe(1);
  });
});
