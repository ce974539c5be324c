/** S3 pairs' stores: the source bucket, conditional copies and deletes on target buckets, and object tombstones. */
import { BatchGetItemCommand, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { RetryableApplyError } from '../../../functions/engine/errors';
import { TOMBSTONE_TTL_SECONDS } from '../../../functions/engine/tombstones';
import { type CopyPlan, type CopySettings, planCopy, type SourceObject } from '../../../functions/s3/copy';
import { SourceChangedError } from '../../../functions/s3/errors';
import {
  copySource,
  headObject,
  S3SourceBucket,
  S3TargetBucket,
  S3TombstoneStore,
  taggingHeader,
} from '../../../functions/s3/store';
import { s3Error } from '../../helpers/s3-memory-stores';

const s3 = mockClient(S3Client);
const ddb = mockClient(DynamoDBClient);
beforeEach(() => {
  s3.reset();
  ddb.reset();
});

const MiB = 1024 * 1024;
const SOURCE = 'photos';
const TARGET = 'photos-eu';
const KEY = 'albums/summer 2024/beach+sun.jpg';
const ENCODED_KEY = 'albums/summer%202024/beach%2Bsun.jpg';
const ETAG = '"0cc175b9c0f1b6a831c399e269772661"';
const VERSION = `s${'0'.repeat(16)}0192A6F3C4D5E6F7`;
const EXPIRES = new Date('2030-01-01T00:00:00Z');
/** What the copier hands every copy: the source's user metadata plus Replicator's `rep-v` and `rep-o`. */
const METADATA = { owner: 'ana', 'rep-v': VERSION, 'rep-o': 'us-east-1' };

/** A source object as S3SourceBucket.head describes it: every header a REPLACE copy must restate. */
function sourceObject(over: Partial<SourceObject> = {}): SourceObject {
  return {
    key: KEY,
    size: 1024,
    etag: ETAG,
    checksums: { CRC32: 'NSRBwg==' },
    headers: {
      contentType: 'image/jpeg',
      cacheControl: 'max-age=60',
      contentDisposition: 'inline',
      contentEncoding: 'identity',
      contentLanguage: 'en',
      expires: EXPIRES,
      websiteRedirectLocation: '/albums/latest',
    },
    metadata: { owner: 'ana' },
    tagCount: 0,
    ...over,
  };
}

/** The source's headers as CopyObject and CreateMultipartUpload name them. */
const HEADER_PARAMS = {
  ContentType: 'image/jpeg',
  CacheControl: 'max-age=60',
  ContentDisposition: 'inline',
  ContentEncoding: 'identity',
  ContentLanguage: 'en',
  Expires: EXPIRES,
  WebsiteRedirectLocation: '/albums/latest',
};

const single: CopyPlan = { mode: 'single', checksumAlgorithm: 'CRC32' };
const settings: CopySettings = {
  multipartThreshold: 5 * MiB,
  partSize: 5 * MiB,
  concurrency: 8,
  checksumAlgorithm: 'CRC32C',
  createFirst: true,
};
/** Three parts: two of 5 MiB and a last one of 2 MiB. */
const multipart = planCopy(12 * MiB, settings) as Extract<CopyPlan, { mode: 'multipart' }>;

const sourceClient = new S3Client({});
const targetClient = new S3Client({});
const sourceBucket = () => new S3SourceBucket(sourceClient, SOURCE);
const targetBucket = (options = {}) => new S3TargetBucket(targetClient, TARGET, sourceBucket(), options);

describe('copySource', () => {
  it('encodes the key segment by segment, keeping slashes as separators', () => {
    expect(copySource(SOURCE, KEY)).toBe(`${SOURCE}/${ENCODED_KEY}`);
  });

  it('encodes %, + and unicode so S3 decodes them back to the same key', () => {
    const key = 'r%C3%A9sum%/a+b/日本/é.txt';
    const encoded = copySource('b', key);
    expect(encoded).toBe('b/r%25C3%25A9sum%25/a%2Bb/%E6%97%A5%E6%9C%AC/%C3%A9.txt');
    expect(decodeURIComponent(encoded.slice('b/'.length))).toBe(key);
  });

  it('names the version, encoded, when given', () => {
    expect(copySource('b', 'k', '3/L4kqtJl+cz=')).toBe('b/k?versionId=3%2FL4kqtJl%2Bcz%3D');
  });

  it('names no version for an unversioned object', () => {
    expect(copySource('b', 'a/b')).toBe('b/a/b');
  });
});

describe('taggingHeader', () => {
  it('writes tags as URL query parameters, encoded', () => {
    expect(
      taggingHeader([
        { Key: 'team', Value: 'maps & routes' },
        { Key: 'cost=center', Value: '4+2' },
      ]),
    ).toBe('team=maps%20%26%20routes&cost%3Dcenter=4%2B2');
  });

  it('writes an empty value and no tags as empty strings', () => {
    expect(taggingHeader([{ Key: 'flag' }])).toBe('flag=');
    expect(taggingHeader([])).toBe('');
  });
});

describe('headObject', () => {
  it("describes the current version with its checksums and Replicator's rep-v", async () => {
    s3.on(HeadObjectCommand).resolves({
      ContentLength: 1024,
      ETag: ETAG,
      ChecksumCRC32: 'NSRBwg==',
      ChecksumSHA256: 'n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=',
      ChecksumType: 'FULL_OBJECT',
      ServerSideEncryption: 'aws:kms',
      Metadata: { owner: 'ana', 'rep-v': VERSION },
    });
    const found = await headObject(targetClient, TARGET, KEY);
    expect(s3.commandCalls(HeadObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: TARGET,
      Key: KEY,
      ChecksumMode: 'ENABLED',
    });
    expect(found).toStrictEqual({
      size: 1024,
      etag: ETAG,
      checksums: { CRC32: 'NSRBwg==', SHA256: 'n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=' },
      checksumType: 'FULL_OBJECT',
      sse: 'aws:kms',
      version: VERSION,
    });
  });

  it('gives no version to an object Replicator did not write', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: 5, ETag: ETAG, Metadata: { owner: 'ana' } });
    expect(await headObject(targetClient, TARGET, KEY)).toStrictEqual({ size: 5, etag: ETAG, checksums: {} });
  });

  it('reads which source object a copy was made from (rep-e, rep-m): what `wait` asks a target', async () => {
    s3.on(HeadObjectCommand).resolves({
      ContentLength: 12,
      ETag: '"aaaa-3"',
      Metadata: { 'rep-v': VERSION, 'rep-e': 'bbbb-2', 'rep-m': '1780000000000' },
    });
    expect(await headObject(targetClient, TARGET, KEY)).toMatchObject({
      etag: '"aaaa-3"',
      version: VERSION,
      copiedFrom: { etag: 'bbbb-2', lastModified: 1_780_000_000_000 },
    });
  });

  it('answers undefined when a delete marker is current', async () => {
    s3.on(HeadObjectCommand).resolves({ DeleteMarker: true, Metadata: { 'rep-v': VERSION } });
    expect(await headObject(targetClient, TARGET, KEY)).toBeUndefined();
  });

  it('answers undefined for a 404', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    expect(await headObject(targetClient, TARGET, KEY)).toBeUndefined();
  });

  it('rethrows a 403: without s3:ListBucket a missing key is not proven missing', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('Forbidden', 403));
    await expect(headObject(targetClient, TARGET, KEY)).rejects.toThrow(/Forbidden/);
  });
});

describe('S3SourceBucket', () => {
  it('HEADs the event’s version and describes everything a copy restates', async () => {
    s3.on(HeadObjectCommand).resolves({
      ContentLength: 1024,
      ETag: ETAG,
      ChecksumCRC32: 'NSRBwg==',
      LastModified: new Date('2024-06-01T12:00:00Z'),
      ...HEADER_PARAMS,
      Metadata: { owner: 'ana' },
      TagCount: 2,
    });
    const found = await sourceBucket().head(KEY, '3/L4kqtJl');
    expect(s3.commandCalls(HeadObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: SOURCE,
      Key: KEY,
      VersionId: '3/L4kqtJl',
      ChecksumMode: 'ENABLED',
    });
    expect(found).toStrictEqual(
      sourceObject({ versionId: '3/L4kqtJl', lastModified: Date.parse('2024-06-01T12:00:00Z'), tagCount: 2 }),
    );
  });

  it('describes an unversioned object without version, headers, metadata or tags it does not have', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: 0, ETag: ETAG });
    expect(await sourceBucket().head(KEY)).toStrictEqual({
      size: 0,
      etag: ETAG,
      checksums: {},
      key: KEY,
      headers: {},
      metadata: {},
      tagCount: 0,
    });
  });

  it('answers undefined when the object is gone or a delete marker is current', async () => {
    s3.on(HeadObjectCommand).rejectsOnce(s3Error('NotFound', 404)).resolvesOnce({ DeleteMarker: true });
    expect(await sourceBucket().head(KEY)).toBeUndefined();
    expect(await sourceBucket().head(KEY)).toBeUndefined();
  });

  it('rethrows a 403', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('Forbidden', 403));
    await expect(sourceBucket().head(KEY)).rejects.toThrow(/Forbidden/);
  });

  it('reads the tags of the object version as a Tagging header', async () => {
    s3.on(GetObjectTaggingCommand).resolves({
      TagSet: [
        { Key: 'team', Value: 'maps' },
        { Key: 'stage', Value: 'raw data' },
      ],
    });
    const tags = await sourceBucket().tagging(sourceObject({ versionId: 'v1', tagCount: 2 }));
    expect(tags).toBe('team=maps&stage=raw%20data');
    expect(s3).toHaveReceivedCommandWith(GetObjectTaggingCommand, { Bucket: SOURCE, Key: KEY, VersionId: 'v1' });
  });
});

describe('S3TargetBucket.head', () => {
  it("HEADs the target bucket, not the source's", async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: 3, ETag: ETAG, Metadata: { 'rep-v': VERSION } });
    expect(await targetBucket().head(KEY)).toStrictEqual({ size: 3, etag: ETAG, checksums: {}, version: VERSION });
    expect(s3).toHaveReceivedCommandWith(HeadObjectCommand, { Bucket: TARGET, Key: KEY });
  });
});

describe('S3TargetBucket.copy (one CopyObject)', () => {
  it('copies a new object with REPLACE metadata, the source’s headers, COPY tagging and If-None-Match', async () => {
    s3.on(CopyObjectCommand).resolves({});
    await targetBucket().copy(sourceObject(), single, METADATA, { ifNoneMatch: true });
    expect(s3).toHaveReceivedCommandTimes(CopyObjectCommand, 1);
    expect(s3.commandCalls(CopyObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: TARGET,
      Key: KEY,
      CopySource: `${SOURCE}/${ENCODED_KEY}`,
      MetadataDirective: 'REPLACE',
      Metadata: METADATA,
      ...HEADER_PARAMS,
      TaggingDirective: 'COPY',
      ChecksumAlgorithm: 'CRC32',
      IfNoneMatch: '*',
      // An unversioned source is pinned by the ETag its HEAD saw.
      CopySourceIfMatch: ETAG,
    });
  });

  it('conditions the copy on the ETag the target held', async () => {
    s3.on(CopyObjectCommand).resolves({});
    await targetBucket().copy(sourceObject(), single, METADATA, { ifMatch: '"target-etag"' });
    const input = s3.commandCalls(CopyObjectCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ IfMatch: '"target-etag"' });
    expect(input).not.toHaveProperty('IfNoneMatch');
  });

  it('pins a versioned source by its version id in CopySource, not by its ETag', async () => {
    s3.on(CopyObjectCommand).resolves({});
    await targetBucket().copy(sourceObject({ versionId: 'v+1' }), single, METADATA, { ifNoneMatch: true });
    const input = s3.commandCalls(CopyObjectCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ CopySource: `${SOURCE}/${ENCODED_KEY}?versionId=v%2B1` });
    expect(input).not.toHaveProperty('CopySourceIfMatch');
  });

  it('names the configured storage class, and none by default', async () => {
    s3.on(CopyObjectCommand).resolves({});
    await targetBucket().copy(sourceObject(), single, METADATA, { ifNoneMatch: true });
    await targetBucket({ storageClass: 'STANDARD_IA' }).copy(sourceObject(), single, METADATA, { ifNoneMatch: true });
    const [byDefault, configured] = s3.commandCalls(CopyObjectCommand).map((c) => c.args[0].input);
    expect(byDefault).not.toHaveProperty('StorageClass');
    expect(configured).toMatchObject({ StorageClass: 'STANDARD_IA' });
  });

  it("writes the source's tags explicitly (REPLACE), read with the source's client, when copyTagsExplicitly", async () => {
    s3.on(CopyObjectCommand).resolves({});
    s3.on(GetObjectTaggingCommand).resolves({ TagSet: [{ Key: 'team', Value: 'maps' }] });
    const source = sourceObject({ tagCount: 1 });
    await targetBucket({ copyTagsExplicitly: true }).copy(source, single, METADATA, { ifNoneMatch: true });
    expect(s3).toHaveReceivedCommandWith(CopyObjectCommand, { TaggingDirective: 'REPLACE', Tagging: 'team=maps' });
    // The target's role (another account) may not read the source's tags: the source's own client does.
    expect(s3.commandCalls(GetObjectTaggingCommand)[0]?.thisValue).toBe(sourceClient);
  });

  it('writes no tags (REPLACE without Tagging) for an untagged source when copyTagsExplicitly', async () => {
    s3.on(CopyObjectCommand).resolves({});
    await targetBucket({ copyTagsExplicitly: true }).copy(sourceObject(), single, METADATA, { ifNoneMatch: true });
    const input = s3.commandCalls(CopyObjectCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ TaggingDirective: 'REPLACE' });
    expect(input).not.toHaveProperty('Tagging');
    expect(s3).toHaveReceivedCommandTimes(GetObjectTaggingCommand, 0);
  });

  it('does not read tags when they are copied by TaggingDirective COPY (the default)', async () => {
    s3.on(CopyObjectCommand).resolves({});
    await targetBucket().copy(sourceObject({ tagCount: 3 }), single, METADATA, { ifNoneMatch: true });
    expect(s3).toHaveReceivedCommandWith(CopyObjectCommand, { TaggingDirective: 'COPY' });
    expect(s3).toHaveReceivedCommandTimes(GetObjectTaggingCommand, 0);
  });

  it('answers what the copy wrote: ETag, checksums, checksum type and encryption', async () => {
    s3.on(CopyObjectCommand).resolves({
      CopyObjectResult: { ETag: ETAG, ChecksumCRC32: 'NSRBwg==', ChecksumType: 'FULL_OBJECT' },
      ServerSideEncryption: 'aws:kms',
    });
    expect(await targetBucket().copy(sourceObject(), single, METADATA, { ifNoneMatch: true })).toStrictEqual({
      written: { etag: ETAG, checksums: { CRC32: 'NSRBwg==' }, checksumType: 'FULL_OBJECT', sse: 'aws:kms' },
    });
  });

  it('answers done when the response names no ETag, leaving verification to a HEAD', async () => {
    s3.on(CopyObjectCommand).resolves({});
    expect(await targetBucket().copy(sourceObject(), single, METADATA, { ifNoneMatch: true })).toBe('done');
  });

  it('answers a 412 as a conflict when the source is unchanged: the target moved on', async () => {
    s3.on(CopyObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    s3.on(HeadObjectCommand, { Bucket: SOURCE }).resolves({ ContentLength: 1024, ETag: ETAG });
    expect(await targetBucket().copy(sourceObject(), single, METADATA, { ifMatch: '"t"' })).toBe('conflict');
    expect(s3).toHaveReceivedCommandWith(HeadObjectCommand, { Bucket: SOURCE, Key: KEY });
  });

  it("throws SourceChangedError on a 412 when the source's ETag moved on", async () => {
    s3.on(CopyObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    s3.on(HeadObjectCommand, { Bucket: SOURCE }).resolves({ ContentLength: 1024, ETag: '"newer"' });
    const copy = targetBucket().copy(sourceObject(), single, METADATA, { ifNoneMatch: true });
    await expect(copy).rejects.toThrow(SourceChangedError);
    await expect(copy).rejects.toThrow(/replaced before it could be copied/);
  });

  it('throws SourceChangedError on a 412 when the source is gone', async () => {
    s3.on(CopyObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    s3.on(HeadObjectCommand, { Bucket: SOURCE }).rejects(s3Error('NotFound', 404));
    await expect(targetBucket().copy(sourceObject(), single, METADATA, { ifNoneMatch: true })).rejects.toThrow(
      SourceChangedError,
    );
  });

  it('answers a 412 on a blind create-only copy as a conflict without re-reading the source', async () => {
    s3.on(CopyObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    const guard = { ifNoneMatch: true, blind: true } as const;
    expect(await targetBucket().copy(sourceObject(), single, METADATA, guard)).toBe('conflict');
    expect(s3).toHaveReceivedCommandTimes(HeadObjectCommand, 0);
    expect(s3.commandCalls(CopyObjectCommand)[0]!.args[0].input).toMatchObject({ IfNoneMatch: '*' });
  });

  it('answers a 409 ConditionalRequestConflict (racing conditional writes) as a conflict', async () => {
    s3.on(CopyObjectCommand).rejects(s3Error('ConditionalRequestConflict', 409));
    s3.on(HeadObjectCommand, { Bucket: SOURCE }).resolves({ ETag: ETAG });
    expect(await targetBucket().copy(sourceObject(), single, METADATA, { ifNoneMatch: true })).toBe('conflict');
  });

  it('answers a 412 on a versioned source as a conflict without HEADing it: its version cannot change', async () => {
    s3.on(CopyObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    const source = sourceObject({ versionId: 'v1' });
    expect(await targetBucket().copy(source, single, METADATA, { ifMatch: '"t"' })).toBe('conflict');
    expect(s3).toHaveReceivedCommandTimes(HeadObjectCommand, 0);
  });

  it('answers NoSuchKey under If-Match as a conflict: S3 names a target deleted since its HEAD so', async () => {
    s3.on(CopyObjectCommand).rejects(s3Error('NoSuchKey', 404));
    expect(await targetBucket().copy(sourceObject(), single, METADATA, { ifMatch: '"t"' })).toBe('conflict');
    // Create-only, the same answer can only mean the source is gone: the caller judges it.
    await expect(targetBucket().copy(sourceObject(), single, METADATA, { ifNoneMatch: true })).rejects.toThrow(
      /NoSuchKey/,
    );
  });

  it('rethrows other failures, such as a vanished source version, for the caller to judge', async () => {
    s3.on(CopyObjectCommand).rejects(s3Error('NoSuchVersion', 404));
    await expect(
      targetBucket().copy(sourceObject({ versionId: 'v1' }), single, METADATA, { ifNoneMatch: true }),
    ).rejects.toThrow(/NoSuchVersion/);
  });
});

describe('S3TargetBucket.copy (multipart)', () => {
  /** Every part answers its ETag and CRC32C; part 1 answers last, so order comes from part numbers. */
  function partsSucceed() {
    s3.on(UploadPartCopyCommand).callsFake(async (input: { PartNumber: number }) => {
      await new Promise((resolve) => setTimeout(resolve, input.PartNumber === 1 ? 20 : 0));
      return { CopyPartResult: { ETag: `"p${input.PartNumber}"`, ChecksumCRC32C: `c${input.PartNumber}` } };
    });
  }

  beforeEach(() => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u-1' });
    s3.on(CompleteMultipartUploadCommand).resolves({});
    s3.on(AbortMultipartUploadCommand).resolves({});
  });

  it('plans three parts of 5, 5 and 2 MiB for these tests', () => {
    expect(multipart.parts).toEqual([
      { partNumber: 1, start: 0, end: 5 * MiB - 1 },
      { partNumber: 2, start: 5 * MiB, end: 10 * MiB - 1 },
      { partNumber: 3, start: 10 * MiB, end: 12 * MiB - 1 },
    ]);
  });

  it("creates a FULL_OBJECT upload with the source's headers, metadata and tags, and no write guard yet", async () => {
    partsSucceed();
    s3.on(GetObjectTaggingCommand).resolves({ TagSet: [{ Key: 'team', Value: 'maps' }] });
    const source = sourceObject({ tagCount: 1 });
    await targetBucket({ storageClass: 'GLACIER_IR' }).copy(source, multipart, METADATA, { ifNoneMatch: true });
    expect(s3.commandCalls(CreateMultipartUploadCommand)[0]?.args[0].input).toEqual({
      Bucket: TARGET,
      Key: KEY,
      Metadata: METADATA,
      ...HEADER_PARAMS,
      Tagging: 'team=maps',
      StorageClass: 'GLACIER_IR',
      ChecksumAlgorithm: 'CRC32C',
      ChecksumType: 'FULL_OBJECT',
    });
    expect(s3.commandCalls(GetObjectTaggingCommand)[0]?.thisValue).toBe(sourceClient);
  });

  it('reads no tags for an untagged source', async () => {
    partsSucceed();
    await targetBucket().copy(sourceObject(), multipart, METADATA, { ifNoneMatch: true });
    expect(s3.commandCalls(CreateMultipartUploadCommand)[0]?.args[0].input).not.toHaveProperty('Tagging');
    expect(s3).toHaveReceivedCommandTimes(GetObjectTaggingCommand, 0);
  });

  it("copies each part by byte range, pinned to the source's ETag", async () => {
    partsSucceed();
    await targetBucket().copy(sourceObject(), multipart, METADATA, { ifNoneMatch: true });
    expect(s3).toHaveReceivedCommandTimes(UploadPartCopyCommand, 3);
    const inputs = s3.commandCalls(UploadPartCopyCommand).map((c) => c.args[0].input);
    expect(inputs.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0))).toEqual(
      [`bytes=0-${5 * MiB - 1}`, `bytes=${5 * MiB}-${10 * MiB - 1}`, `bytes=${10 * MiB}-${12 * MiB - 1}`].map(
        (range, i) => ({
          Bucket: TARGET,
          Key: KEY,
          UploadId: 'u-1',
          PartNumber: i + 1,
          CopySource: `${SOURCE}/${ENCODED_KEY}`,
          CopySourceRange: range,
          CopySourceIfMatch: ETAG,
        }),
      ),
    );
  });

  it('pins every part of a versioned source by its version id', async () => {
    partsSucceed();
    await targetBucket().copy(sourceObject({ versionId: 'v1' }), multipart, METADATA, { ifNoneMatch: true });
    for (const call of s3.commandCalls(UploadPartCopyCommand)) {
      expect(call.args[0].input.CopySource).toBe(`${SOURCE}/${ENCODED_KEY}?versionId=v1`);
      expect(call.args[0].input).not.toHaveProperty('CopySourceIfMatch');
    }
  });

  it('completes with the parts in order, their checksums, FULL_OBJECT and the write guard', async () => {
    partsSucceed();
    const outcome = await targetBucket().copy(sourceObject(), multipart, METADATA, { ifMatch: '"t"' });
    expect(outcome).toBe('done');
    expect(s3.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input).toEqual({
      Bucket: TARGET,
      Key: KEY,
      UploadId: 'u-1',
      MultipartUpload: {
        Parts: [1, 2, 3].map((n) => ({ PartNumber: n, ETag: `"p${n}"`, ChecksumCRC32C: `c${n}` })),
      },
      ChecksumType: 'FULL_OBJECT',
      IfMatch: '"t"',
    });
    expect(s3).toHaveReceivedCommandTimes(AbortMultipartUploadCommand, 0);
  });

  it('completes a new object with If-None-Match', async () => {
    partsSucceed();
    await targetBucket().copy(sourceObject(), multipart, METADATA, { ifNoneMatch: true });
    const input = s3.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ IfNoneMatch: '*' });
    expect(input).not.toHaveProperty('IfMatch');
  });

  it('answers a lost condition on completion as a conflict, after aborting the upload', async () => {
    partsSucceed();
    s3.on(CompleteMultipartUploadCommand).rejects(s3Error('PreconditionFailed', 412));
    expect(await targetBucket().copy(sourceObject(), multipart, METADATA, { ifMatch: '"t"' })).toBe('conflict');
    expect(s3).toHaveReceivedCommandWith(AbortMultipartUploadCommand, { Bucket: TARGET, Key: KEY, UploadId: 'u-1' });
  });

  it('answers NoSuchKey on an If-Match completion (the target was deleted since its HEAD) as a conflict', async () => {
    partsSucceed();
    s3.on(CompleteMultipartUploadCommand).rejects(s3Error('NoSuchKey', 404));
    expect(await targetBucket().copy(sourceObject(), multipart, METADATA, { ifMatch: '"t"' })).toBe('conflict');
    expect(s3).toHaveReceivedCommandWith(AbortMultipartUploadCommand, { Bucket: TARGET, Key: KEY, UploadId: 'u-1' });
  });

  it("aborts the upload and throws SourceChangedError when a part's source condition fails", async () => {
    s3.on(UploadPartCopyCommand)
      .resolves({ CopyPartResult: { ETag: '"p"' } })
      .on(UploadPartCopyCommand, { PartNumber: 2 })
      .rejects(s3Error('PreconditionFailed', 412));
    const copy = targetBucket().copy(sourceObject(), multipart, METADATA, { ifNoneMatch: true });
    await expect(copy).rejects.toThrow(SourceChangedError);
    await expect(copy).rejects.toThrow(/part 2/);
    expect(s3).toHaveReceivedCommandWith(AbortMultipartUploadCommand, { Bucket: TARGET, Key: KEY, UploadId: 'u-1' });
    expect(s3).toHaveReceivedCommandTimes(CompleteMultipartUploadCommand, 0);
  });

  it('stops copying parts after one fails, aborts, and rethrows that failure', async () => {
    s3.on(UploadPartCopyCommand).rejects(s3Error('InternalError', 500));
    const copy = targetBucket({ partConcurrency: 1 }).copy(sourceObject(), multipart, METADATA, {
      ifNoneMatch: true,
    });
    await expect(copy).rejects.toThrow(/InternalError/);
    expect(s3).toHaveReceivedCommandTimes(UploadPartCopyCommand, 1);
    expect(s3).toHaveReceivedCommandTimes(AbortMultipartUploadCommand, 1);
  });

  it('aborts the upload when completion fails for another reason, and rethrows', async () => {
    partsSucceed();
    s3.on(CompleteMultipartUploadCommand).rejects(s3Error('InternalError', 500));
    await expect(targetBucket().copy(sourceObject(), multipart, METADATA, { ifNoneMatch: true })).rejects.toThrow(
      /InternalError/,
    );
    expect(s3).toHaveReceivedCommandTimes(AbortMultipartUploadCommand, 1);
  });

  it('throws a RetryableApplyError naming the upload left behind when the abort fails too', async () => {
    const partError = s3Error('InternalError', 500, 'part failed');
    s3.on(UploadPartCopyCommand).rejects(partError);
    s3.on(AbortMultipartUploadCommand).rejects(s3Error('AccessDenied', 403, 'no abort'));
    const copy = targetBucket().copy(sourceObject(), multipart, METADATA, { ifNoneMatch: true });
    await expect(copy).rejects.toThrow(RetryableApplyError);
    await expect(copy).rejects.toThrow(
      /InternalError: part failed; AbortMultipartUpload also failed \(AccessDenied: no abort\): upload u-1 is left/,
    );
    await expect(copy).rejects.toMatchObject({ cause: partError });
  });

  it('throws a RetryableApplyError, copying nothing, when no UploadId comes back', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({});
    await expect(targetBucket().copy(sourceObject(), multipart, METADATA, { ifNoneMatch: true })).rejects.toThrow(
      RetryableApplyError,
    );
    expect(s3).toHaveReceivedCommandTimes(UploadPartCopyCommand, 0);
  });

  it('copies at most partConcurrency parts at once, 8 by default', async () => {
    let inFlight = 0;
    let most = 0;
    s3.on(UploadPartCopyCommand).callsFake(async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight--;
      return { CopyPartResult: { ETag: '"p"' } };
    });
    const twenty = planCopy(100 * MiB, settings);
    await targetBucket({ partConcurrency: 3 }).copy(sourceObject(), twenty, METADATA, { ifNoneMatch: true });
    expect(most).toBe(3);
    most = 0;
    await targetBucket().copy(sourceObject(), twenty, METADATA, { ifNoneMatch: true });
    expect(most).toBe(8);
    expect(s3).toHaveReceivedCommandTimes(UploadPartCopyCommand, 40);
  });
});

describe('S3TargetBucket.delete', () => {
  it('deletes the object only while it still has the ETag the caller saw', async () => {
    s3.on(DeleteObjectCommand).resolves({});
    expect(await targetBucket().delete(KEY, ETAG)).toBe('done');
    expect(s3.commandCalls(DeleteObjectCommand)[0]?.args[0].input).toEqual({ Bucket: TARGET, Key: KEY, IfMatch: ETAG });
  });

  it('answers a 412 as a conflict: the object changed since it was read', async () => {
    s3.on(DeleteObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    expect(await targetBucket().delete(KEY, ETAG)).toBe('conflict');
  });

  it('answers a 409 ConditionalRequestConflict as a conflict', async () => {
    s3.on(DeleteObjectCommand).rejects(s3Error('ConditionalRequestConflict', 409));
    expect(await targetBucket().delete(KEY, ETAG)).toBe('conflict');
  });

  it('answers a 404 as done: nothing of that version is left', async () => {
    s3.on(DeleteObjectCommand).rejectsOnce(s3Error('NotFound', 404)).rejectsOnce(s3Error('NoSuchKey', 404));
    expect(await targetBucket().delete(KEY, ETAG)).toBe('done');
    expect(await targetBucket().delete(KEY, ETAG)).toBe('done');
  });

  it('rethrows any other failure', async () => {
    s3.on(DeleteObjectCommand).rejects(s3Error('AccessDenied', 403));
    await expect(targetBucket().delete(KEY, ETAG)).rejects.toThrow(/AccessDenied/);
  });
});

describe('S3TombstoneStore', () => {
  const STATE = 'replicator-photos-state';
  const NOW = 1_700_000_000;
  const tombstones = () => new S3TombstoneStore(new DynamoDBClient({}), STATE, () => NOW);

  it('records the delete under s3tomb#<hash> for 15 days, keeping only the newest version', async () => {
    ddb.on(UpdateItemCommand).resolves({});
    await tombstones().record('k3yH4sh', VERSION);
    expect(ddb.commandCalls(UpdateItemCommand)[0]?.args[0].input).toEqual({
      TableName: STATE,
      Key: { pk: { S: 's3tomb#k3yH4sh' } },
      UpdateExpression: 'SET #ver = :v, #ttl = :ttl',
      ConditionExpression: 'attribute_not_exists(#ver) OR #ver < :v',
      ExpressionAttributeNames: { '#ver': 'version', '#ttl': 'ttl' },
      ExpressionAttributeValues: { ':v': { S: VERSION }, ':ttl': { N: String(NOW + TOMBSTONE_TTL_SECONDS) } },
    });
  });

  it('treats a failed condition as done: an equal or newer tombstone is already there', async () => {
    ddb.on(UpdateItemCommand).rejects(s3Error('ConditionalCheckFailedException', 400));
    await expect(tombstones().record('h', VERSION)).resolves.toBeUndefined();
  });

  it("reads object tombstones consistently under s3tomb#, ignoring tables' tomb# items", async () => {
    ddb.on(BatchGetItemCommand).resolves({
      Responses: {
        [STATE]: [
          { pk: { S: 's3tomb#a' }, version: { S: VERSION } },
          { pk: { S: 'tomb#b' }, version: { S: VERSION } },
        ],
      },
    });
    expect(await tombstones().newest(['a', 'b'])).toEqual(new Map([['a', VERSION]]));
    expect(ddb).toHaveReceivedCommandWith(BatchGetItemCommand, {
      RequestItems: {
        [STATE]: {
          Keys: [{ pk: { S: 's3tomb#a' } }, { pk: { S: 's3tomb#b' } }],
          ConsistentRead: true,
          ProjectionExpression: 'pk, #ver',
          ExpressionAttributeNames: { '#ver': 'version' },
        },
      },
    });
  });
});
