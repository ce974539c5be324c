/**
 * In-memory buckets with S3's semantics (each call atomic), for the copy core's unit and property tests.
 * An optional `yieldPoint` runs before every call, so fast-check's scheduler can interleave the calls of
 * concurrent copies in any order. The target reads the source when it copies (as S3 does), so a source that
 * changes between a HEAD and a copy is modelled too.
 */
import { createHash } from 'node:crypto';
import type {
  BucketStore,
  CopyPlan,
  GuardedOutcome,
  SourceBucket,
  SourceObject,
  TargetObject,
  WriteGuard,
} from '../../functions/s3/copy';
import { REP_VERSION_META } from '../../functions/s3/envelope';
import { SourceChangedError } from '../../functions/s3/errors';

type YieldPoint = () => Promise<void>;
const none: YieldPoint = async () => {};

/** The quoted MD5 ETag S3 gives a single-part object. */
export function etagOf(data: string): string {
  return `"${createHash('md5').update(data).digest('hex')}"`;
}

/** A stand-in for a CRC32 (the model only needs equal data ⇔ equal checksum). */
export function checksumOf(data: string): string {
  return createHash('sha256').update(data).digest('base64').slice(0, 8);
}

/** An error named as the SDK names S3's. */
export function s3Error(name: string, status: number, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

interface SourceVersion {
  readonly versionId?: string;
  readonly data?: string;
  readonly metadata?: Record<string, string>;
}

/** A source bucket, versioned or not, whose history the test writes. */
export class MemorySourceBucket implements SourceBucket {
  private readonly versions = new Map<string, SourceVersion[]>();
  constructor(
    readonly versioned: boolean,
    private readonly yieldPoint: YieldPoint = none,
  ) {}

  /** Writes an object (a new version when versioned). */
  put(key: string, data: string, versionId?: string, metadata: Record<string, string> = {}): void {
    const entry = { ...(this.versioned ? { versionId } : {}), data, metadata };
    this.versions.set(key, this.versioned ? [...(this.versions.get(key) ?? []), entry] : [entry]);
  }

  /** Deletes an object (a delete marker when versioned). */
  remove(key: string, markerId?: string): void {
    if (this.versioned) this.versions.set(key, [...(this.versions.get(key) ?? []), { versionId: markerId }]);
    else this.versions.delete(key);
  }

  /** The data of a version (or of the current object); undefined when gone or a delete marker. */
  read(key: string, versionId?: string): SourceVersion | undefined {
    const list = this.versions.get(key) ?? [];
    const v = versionId === undefined ? list.at(-1) : list.find((x) => x.versionId === versionId);
    return v?.data === undefined ? undefined : v;
  }

  /** Current data per key, for comparing with targets. */
  currentView(): Map<string, string> {
    const out = new Map<string, string>();
    for (const key of this.versions.keys()) {
      const v = this.read(key);
      if (v?.data !== undefined) out.set(key, v.data);
    }
    return out;
  }

  async head(key: string, versionId?: string): Promise<SourceObject | undefined> {
    await this.yieldPoint();
    const v = this.read(key, versionId);
    if (v?.data === undefined) return undefined;
    return {
      key,
      ...(versionId !== undefined ? { versionId } : {}),
      size: Buffer.byteLength(v.data),
      etag: etagOf(v.data),
      checksums: { CRC32: checksumOf(v.data) },
      checksumType: 'FULL_OBJECT',
      headers: { contentType: 'text/plain' },
      metadata: v.metadata ?? {},
      tagCount: 0,
    };
  }
}

interface StoredObject {
  readonly data: string;
  readonly metadata: Record<string, string>;
}

/** How a target honours conditional requests: real S3 honours all; moto only DeleteObject's If-Match. */
export interface MemoryTargetOptions {
  readonly honourCopyConditions?: boolean;
  readonly honourDeleteConditions?: boolean;
  /** Stores this instead of the source's data (a corrupting copy, for integrity tests). */
  readonly corrupt?: (data: string) => string;
  readonly yieldPoint?: YieldPoint;
}

/** A target bucket held in a Map. */
export class MemoryTargetBucket implements BucketStore {
  readonly objects = new Map<string, StoredObject>();
  /** Every call, in order ("head k", "copy k", "delete k"). */
  readonly calls: string[] = [];
  private readonly yieldPoint: YieldPoint;
  constructor(
    private readonly source: MemorySourceBucket,
    private readonly options: MemoryTargetOptions = {},
  ) {
    this.yieldPoint = options.yieldPoint ?? none;
  }

  private describe(o: StoredObject): TargetObject {
    const version = o.metadata[REP_VERSION_META];
    return {
      size: Buffer.byteLength(o.data),
      etag: etagOf(o.data),
      checksums: { CRC32: checksumOf(o.data) },
      checksumType: 'FULL_OBJECT',
      ...(version !== undefined ? { version } : {}),
    };
  }

  async head(key: string): Promise<TargetObject | undefined> {
    await this.yieldPoint();
    this.calls.push(`head ${key}`);
    const o = this.objects.get(key);
    return o ? this.describe(o) : undefined;
  }

  private holds(key: string, guard: WriteGuard): boolean {
    const o = this.objects.get(key);
    return 'ifMatch' in guard ? o !== undefined && etagOf(o.data) === guard.ifMatch : o === undefined;
  }

  async copy(
    source: SourceObject,
    _plan: CopyPlan,
    metadata: Record<string, string>,
    guard: WriteGuard,
  ): Promise<GuardedOutcome> {
    await this.yieldPoint();
    this.calls.push(`copy ${source.key}`);
    const v = this.source.read(source.key, source.versionId);
    if (v === undefined) throw s3Error(source.versionId ? 'NoSuchVersion' : 'NoSuchKey', 404);
    const data = v.data ?? '';
    const honour = this.options.honourCopyConditions ?? true;
    if (honour && source.versionId === undefined && etagOf(data) !== source.etag) {
      throw new SourceChangedError('source object was replaced before it could be copied');
    }
    if (honour && !this.holds(source.key, guard)) return 'conflict';
    this.objects.set(source.key, { data: this.options.corrupt ? this.options.corrupt(data) : data, metadata });
    return 'done';
  }

  async delete(key: string, etag: string): Promise<GuardedOutcome> {
    await this.yieldPoint();
    this.calls.push(`delete ${key}`);
    if ((this.options.honourDeleteConditions ?? true) && !this.holds(key, { ifMatch: etag })) {
      return this.objects.has(key) ? 'conflict' : 'done';
    }
    this.objects.delete(key);
    return 'done';
  }

  /** The objects' data per key (what a user of the target sees). */
  dataView(): Map<string, string> {
    return new Map([...this.objects].map(([k, o]) => [k, o.data]));
  }
}
