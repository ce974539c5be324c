/**
 * S3 pairs' stores: the source bucket (HEAD, tags), target buckets (conditional CopyObject or parallel
 * multipart copy, conditional DeleteObject), and object tombstones in the pair's state table.
 */

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  type S3Client,
  type StorageClass,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { mapLimit } from '../engine/concurrency';
import { nameOf, RetryableApplyError, reasonOf } from '../engine/errors';
import { DynamoTombstoneStore } from '../engine/tombstones';
import {
  type BucketStore,
  type CopyOutcomeDetail,
  type CopyPlan,
  type GuardedOutcome,
  OBJECT_TOMBSTONE_PREFIX,
  type ObjectHeaders,
  type SourceBucket,
  type SourceObject,
  type TargetObject,
  type WriteGuard,
} from './copy';
import { REP_ETAG_META, REP_MODIFIED_META, REP_VERSION_META } from './envelope';
import { isConditionLost, isNotFound, SourceChangedError } from './errors';
import type { ChecksumAlgorithm, ObjectIntegrity } from './integrity';

/**
 * The CopySource of an object version: bucket, key URL-encoded segment by segment (so `/` stays a separator
 * and spaces, `+`, `%` and unicode survive), and the version when given.
 */
export function copySource(bucket: string, key: string, versionId?: string): string {
  const path = `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  return versionId === undefined ? path : `${path}?versionId=${encodeURIComponent(versionId)}`;
}

const CHECKSUM_FIELDS = {
  CRC32: 'ChecksumCRC32',
  CRC32C: 'ChecksumCRC32C',
  CRC64NVME: 'ChecksumCRC64NVME',
  SHA1: 'ChecksumSHA1',
  SHA256: 'ChecksumSHA256',
} as const satisfies Record<ChecksumAlgorithm, string>;

type ChecksumFields = Partial<Record<(typeof CHECKSUM_FIELDS)[ChecksumAlgorithm], string>>;

function checksumsOf(fields: ChecksumFields): Partial<Record<ChecksumAlgorithm, string>> {
  const out: Partial<Record<ChecksumAlgorithm, string>> = {};
  for (const [algorithm, field] of Object.entries(CHECKSUM_FIELDS)) {
    const value = fields[field];
    if (value) out[algorithm as ChecksumAlgorithm] = value;
  }
  return out;
}

function integrityOf(h: HeadObjectCommandOutput): ObjectIntegrity {
  return {
    size: h.ContentLength ?? 0,
    etag: h.ETag ?? '',
    checksums: checksumsOf(h),
    ...(h.ChecksumType ? { checksumType: h.ChecksumType } : {}),
    ...(h.ServerSideEncryption ? { sse: h.ServerSideEncryption } : {}),
  };
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The headers a REPLACE copy (or a new multipart upload) must restate, in the SDK's names. */
function headerParams(h: ObjectHeaders) {
  return defined({
    ContentType: h.contentType,
    CacheControl: h.cacheControl,
    ContentDisposition: h.contentDisposition,
    ContentEncoding: h.contentEncoding,
    ContentLanguage: h.contentLanguage,
    Expires: h.expires,
    WebsiteRedirectLocation: h.websiteRedirectLocation,
  });
}

/** A tag set as the Tagging header wants it: URL query parameters. */
export function taggingHeader(tags: readonly { Key?: string; Value?: string }[]): string {
  return tags.map((t) => `${encodeURIComponent(t.Key ?? '')}=${encodeURIComponent(t.Value ?? '')}`).join('&');
}

/**
 * HEAD of an object's current version with its checksums, its `rep-v` and the source object it copies (when
 * Replicator wrote it);
 * undefined when there is none (or a delete marker is current).
 */
export async function headObject(client: S3Client, bucket: string, key: string): Promise<TargetObject | undefined> {
  try {
    const h = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
    if (h.DeleteMarker) return undefined;
    const version = h.Metadata?.[REP_VERSION_META];
    const etag = h.Metadata?.[REP_ETAG_META];
    const modified = Number(h.Metadata?.[REP_MODIFIED_META]);
    return {
      ...integrityOf(h),
      ...(version !== undefined ? { version } : {}),
      ...(etag !== undefined
        ? { copiedFrom: { etag, ...(Number.isFinite(modified) ? { lastModified: modified } : {}) } }
        : {}),
    };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The pair's source bucket, read with the function's own role. */
export class S3SourceBucket implements SourceBucket {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
  ) {}

  async head(key: string, versionId?: string): Promise<SourceObject | undefined> {
    let h: HeadObjectCommandOutput;
    try {
      h = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId, ChecksumMode: 'ENABLED' }),
      );
    } catch (err) {
      // Needs s3:ListBucket: without it S3 answers a missing key with 403, which stays an error.
      if (isNotFound(err)) return undefined;
      throw err;
    }
    if (h.DeleteMarker) return undefined;
    return {
      ...integrityOf(h),
      key,
      ...(versionId !== undefined ? { versionId } : {}),
      ...(h.LastModified ? { lastModified: h.LastModified.getTime() } : {}),
      headers: defined({
        contentType: h.ContentType,
        cacheControl: h.CacheControl,
        contentDisposition: h.ContentDisposition,
        contentEncoding: h.ContentEncoding,
        contentLanguage: h.ContentLanguage,
        expires: h.Expires,
        websiteRedirectLocation: h.WebsiteRedirectLocation,
      }),
      metadata: h.Metadata ?? {},
      tagCount: h.TagCount ?? 0,
    };
  }

  /** The object version's tags, in the Tagging header's form. */
  async tagging(source: SourceObject): Promise<string> {
    const res = await this.client.send(
      new GetObjectTaggingCommand({ Bucket: this.bucket, Key: source.key, VersionId: source.versionId }),
    );
    return taggingHeader(res.TagSet ?? []);
  }
}

/** How a target bucket is written. */
export interface S3TargetOptions {
  /** Storage class of the copies. @default - STANDARD (S3's default for a copy that names none) */
  readonly storageClass?: string;
  /**
   * Read the source's tags and write them (TaggingDirective REPLACE) instead of TaggingDirective COPY: for
   * targets in another account, whose role may not read the source's tags.
   * @default false
   */
  readonly copyTagsExplicitly?: boolean;
  /** Parts copied at once in a multipart copy. @default 8 */
  readonly partConcurrency?: number;
}

/** Whether a write conditioned on the target's ETag failed because the target object is gone (404 NoSuchKey). */
function targetVanished(err: unknown, guard: WriteGuard): boolean {
  return 'ifMatch' in guard && nameOf(err) === 'NoSuchKey';
}

/** A target bucket, reached with the target's client (its region, and its role when it has one). */
export class S3TargetBucket implements BucketStore {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    private readonly source: S3SourceBucket,
    private readonly options: S3TargetOptions = {},
  ) {}

  async head(key: string): Promise<TargetObject | undefined> {
    return headObject(this.client, this.bucket, key);
  }

  async copy(
    source: SourceObject,
    plan: CopyPlan,
    metadata: Record<string, string>,
    guard: WriteGuard,
  ): Promise<CopyOutcomeDetail> {
    return plan.mode === 'single'
      ? this.copySingle(source, plan, metadata, guard)
      : this.copyMultipart(source, plan, metadata, guard);
  }

  async delete(key: string, etag: string): Promise<GuardedOutcome> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: etag }));
      return 'done';
    } catch (err) {
      if (isConditionLost(err)) return 'conflict';
      // Already gone: nothing of that version is left to delete.
      if (isNotFound(err)) return 'done';
      throw err;
    }
  }

  private guardParams(guard: WriteGuard) {
    return 'ifMatch' in guard ? { IfMatch: guard.ifMatch } : { IfNoneMatch: '*' };
  }

  private storageClass() {
    return this.options.storageClass ? { StorageClass: this.options.storageClass as StorageClass } : {};
  }

  private async copySingle(
    source: SourceObject,
    plan: CopyPlan,
    metadata: Record<string, string>,
    guard: WriteGuard,
  ): Promise<CopyOutcomeDetail> {
    let tagging: { TaggingDirective: 'COPY' } | { TaggingDirective: 'REPLACE'; Tagging?: string } = {
      TaggingDirective: 'COPY',
    };
    if (this.options.copyTagsExplicitly) {
      tagging = {
        TaggingDirective: 'REPLACE',
        ...(source.tagCount > 0 ? { Tagging: await this.source.tagging(source) } : {}),
      };
    }
    try {
      const res = await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: source.key,
          CopySource: copySource(this.source.bucket, source.key, source.versionId),
          MetadataDirective: 'REPLACE',
          Metadata: metadata,
          ...headerParams(source.headers),
          ...tagging,
          ...this.storageClass(),
          ChecksumAlgorithm: plan.checksumAlgorithm,
          ...this.guardParams(guard),
          ...this.sourceGuard(source),
        }),
      );
      const r = res.CopyObjectResult;
      return r?.ETag
        ? {
            written: {
              etag: r.ETag,
              checksums: checksumsOf(r),
              ...(r.ChecksumType ? { checksumType: r.ChecksumType } : {}),
              ...(res.ServerSideEncryption ? { sse: res.ServerSideEncryption } : {}),
            },
          }
        : 'done';
    } catch (err) {
      // S3 answers If-Match on a key that is gone with 404 NoSuchKey, as it names a missing source: the target
      // was deleted since its HEAD. Decide again: a create-only copy then tells a source that is gone.
      if (targetVanished(err, guard)) return 'conflict';
      if (!isConditionLost(err)) throw err;
      // 412 is either condition's: the source's ETag moved on (stale) or the target changed (decide again). A
      // blind create-only copy's refusal is the key's existence, most likely: the next round's HEAD decides, and
      // its copy, if refused too, re-reads the source.
      const blind = 'ifNoneMatch' in guard && guard.blind === true;
      if (!blind && source.versionId === undefined && (await this.sourceChanged(source))) {
        throw new SourceChangedError('source object was replaced before it could be copied');
      }
      return 'conflict';
    }
  }

  /**
   * An unversioned source is pinned by its ETag (CopySourceIfMatch), so a copy never takes a newer object than
   * the one its HEAD described and verified against; a versioned one is pinned by its version id.
   */
  private sourceGuard(source: SourceObject) {
    return source.versionId === undefined ? { CopySourceIfMatch: source.etag } : {};
  }

  private async sourceChanged(source: SourceObject): Promise<boolean> {
    const now = await this.source.head(source.key);
    return now === undefined || now.etag !== source.etag;
  }

  /**
   * CreateMultipartUpload with the object's headers, metadata, tags and a FULL_OBJECT checksum;
   * UploadPartCopy per part, `partConcurrency` at a time; CompleteMultipartUpload conditioned like a
   * CopyObject. Any failure stops further parts, waits for those in flight and aborts the upload, so no
   * orphaned parts remain. An unversioned source is pinned with CopySourceIfMatch on every part, so a part
   * never comes from a newer object than the others.
   */
  private async copyMultipart(
    source: SourceObject,
    plan: Extract<CopyPlan, { mode: 'multipart' }>,
    metadata: Record<string, string>,
    guard: WriteGuard,
  ): Promise<GuardedOutcome> {
    const tagging = source.tagCount > 0 ? { Tagging: await this.source.tagging(source) } : {};
    const created = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: source.key,
        Metadata: metadata,
        ...headerParams(source.headers),
        ...tagging,
        ...this.storageClass(),
        ChecksumAlgorithm: plan.checksumAlgorithm,
        ChecksumType: 'FULL_OBJECT',
      }),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new RetryableApplyError('CreateMultipartUpload returned no UploadId');
    const field = CHECKSUM_FIELDS[plan.checksumAlgorithm];
    let completing = false;
    try {
      const parts: CompletedPart[] = new Array(plan.parts.length);
      let failure: unknown;
      await mapLimit(plan.parts, this.options.partConcurrency ?? 8, async (p) => {
        if (failure !== undefined) return;
        try {
          const res = await this.client.send(
            new UploadPartCopyCommand({
              Bucket: this.bucket,
              Key: source.key,
              UploadId: uploadId,
              PartNumber: p.partNumber,
              CopySource: copySource(this.source.bucket, source.key, source.versionId),
              CopySourceRange: `bytes=${p.start}-${p.end}`,
              ...this.sourceGuard(source),
            }),
          );
          const checksum = res.CopyPartResult?.[field];
          parts[p.partNumber - 1] = {
            PartNumber: p.partNumber,
            ETag: res.CopyPartResult?.ETag,
            ...(checksum ? { [field]: checksum } : {}),
          };
        } catch (err) {
          failure ??= isConditionLost(err)
            ? new SourceChangedError(`source object changed while part ${p.partNumber} was being copied`)
            : err;
        }
      });
      if (failure !== undefined) throw failure;
      completing = true;
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: source.key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
          ChecksumType: 'FULL_OBJECT',
          ...this.guardParams(guard),
        }),
      );
      return 'done';
    } catch (err) {
      await this.abort(source.key, uploadId, err);
      // Only CompleteMultipartUpload's own condition lands here as a lost condition: parts' become
      // SourceChangedError above.
      if (isConditionLost(err) || (completing && targetVanished(err, guard))) return 'conflict';
      throw err;
    }
  }

  private async abort(key: string, uploadId: string, cause: unknown): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
    } catch (abortError) {
      throw new RetryableApplyError(
        `${reasonOf(cause)}; AbortMultipartUpload also failed (${reasonOf(abortError)}): upload ${uploadId} is left for the bucket's AbortIncompleteMultipartUpload lifecycle rule`,
        cause,
      );
    }
  }
}

/** Object tombstones in the pair's state table (`pk` = s3tomb#<key hash>, `version`, `ttl`). */
export class S3TombstoneStore extends DynamoTombstoneStore {
  constructor(client: DynamoDBClient, table: string, nowSeconds?: () => number) {
    super(client, table, OBJECT_TOMBSTONE_PREFIX, nowSeconds);
  }
}
