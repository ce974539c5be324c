/**
 * Copy of S3 pairs: the engine's convergence algorithm (engine/convergence.ts) over target buckets, whatever
 * the delivery order and however many duplicates (standard SQS). What is S3's own is below.
 *
 * 1. Older never overwrites newer: each target object carries the version it reflects in its `rep-v` user
 *    metadata. A put reads the target (HEAD) and copies only if the target's `rep-v` is older (a key the
 *    copier has not seen there lately is first copied create-only, without the HEAD: see `copyIfNewer`); a
 *    delete removes the target object only if its `rep-v` is older. Equal counts as newer, so applying an
 *    envelope twice changes nothing (rule 3).
 * 2. A delete is never undone by a late older put: the engine records a delete's tombstone before it deletes
 *    on the targets, and checks a put's tombstone after it copied (removing what it wrote when a newer delete
 *    exists and the target still holds its own version).
 * 5. Targets get the source's data and metadata plus `rep-v`/`rep-o`; tombstones live in the state table.
 *
 * The race window. S3 has no write conditioned on metadata, so "HEAD, then copy if older" is not atomic
 * by itself. Every target write is therefore conditioned on what its HEAD saw: CopyObject and
 * CompleteMultipartUpload carry If-Match (the ETag seen) or If-None-Match: * (nothing seen), DeleteObject
 * carries If-Match; a lost condition (412/409) makes the core read and decide again. The source side is
 * pinned too: by version id, or (unversioned) by CopySourceIfMatch on the ETag its HEAD saw. What remains:
 * - ETag ABA: the conditions compare ETags, which are content digests, so a write of *identical content*
 *   under another `rep-v` landing between our HEAD and our write goes unnoticed. The data is right; only
 *   `rep-v` (or a delete of an identical newer copy) can go wrong, and only when identical content is written
 *   at two versions that race a third.
 * - Where conditions are ignored (stock moto ignores them on CopyObject, honours them on DeleteObject), the
 *   window between HEAD and copy is open. test/unit/s3-convergence.property.test.ts shows the rules hold
 *   with every interleaving when conditions are honoured; without copy conditions, when a key's puts run
 *   one at a time and its deletes one at a time while puts race deletes (the tombstone post-check and the
 *   conditional delete cover that race); and with no conditions at all, when a key's envelopes run one at a
 *   time.
 *
 * A put's source object is read (HEAD) first: gone (deleted since, or the event's version removed) means
 * the event is stale, counted, not an error; so is an unversioned object whose ETag is no longer the
 * event's (overwritten since: the newer event carries it). A delete first checks that the source no longer
 * has the key: if it has, a newer put exists (its event follows) or only a non-current version was removed,
 * and the target must keep its object. (A removed *current* version whose predecessor became current again
 * leaves the target without that predecessor until reconcile repairs it.)
 *
 * Clients are hidden behind small store interfaces so the property test can interleave every step.
 */

import { ENV } from '../contract';
import {
  type ConvergenceResult,
  type ConvergenceTarget,
  converge,
  type KeySpace,
  newestPerKey,
  type PutOutcome,
  type TargetStore,
  type WriteOutcome,
} from '../engine/convergence';
import { PoisonRecordError, RetryableApplyError, reasonOf } from '../engine/errors';
import type { TombstoneStore } from '../engine/tombstones';
import { compareVersions } from '../engine/version';
import {
  REP_ETAG_META,
  REP_META_PREFIX,
  REP_MODIFIED_META,
  REP_ORIGIN_META,
  REP_VERSION_META,
  type S3Envelope,
  s3KeyHash,
} from './envelope';
import { IntegrityError, isS3Poison, isSourceGone } from './errors';
import {
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  normalizeEtag,
  type ObjectIntegrity,
  verifyCopy,
} from './integrity';

// ---------------------------------------------------------------------------------------------------------
// Settings and part planning

/** Algorithms S3 can keep as a full-object checksum of a multipart upload (ChecksumType FULL_OBJECT). */
const FULL_OBJECT_MULTIPART: ReadonlySet<ChecksumAlgorithm> = new Set(['CRC32', 'CRC32C', 'CRC64NVME']);

const MiB = 1024 * 1024;
/** S3's smallest part (all but the last) and largest part, and its largest CopyObject. */
export const MIN_PART_BYTES = 5 * MiB;
export const MAX_PART_BYTES = 5 * 1024 * MiB;
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 * MiB;
/** S3's most parts in one multipart upload. */
export const MAX_PARTS = 10_000;

/** How the copier copies. */
export interface CopySettings {
  /** Objects larger than this are copied in parts. @default - 64 MiB (at least 5 MiB, at most 5 GiB) */
  readonly multipartThreshold: number;
  /** Size of each part. @default - 64 MiB (at least 5 MiB), raised when the object would need > 10,000 parts */
  readonly partSize: number;
  /** Parts of one object copied at once, and objects of one message copied at once. @default - 8 */
  readonly concurrency: number;
  /** Full-object checksum requested on every copy. @default - CRC32 */
  readonly checksumAlgorithm: ChecksumAlgorithm;
  /**
   * Copy a key the copier has not seen on the target lately create-only (If-None-Match: *) without reading
   * the target first: a new object then costs the source's HEAD and the copy. An existing key loses the
   * condition (412) and is read and decided as usual. Only where the target honours the condition on a copy
   * (S3 does; stock moto does not, so the local cloud's moto is started with a hook that checks it: src/local/moto.ts).
   * @default true
   */
  readonly createFirst: boolean;
}

function sizeSetting(env: Record<string, string | undefined>, name: string, min: number, max: number): number {
  const text = env[name];
  if (text === undefined || text === '') return 64 * MiB;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be a whole number of bytes between ${min} and ${max} inclusive (given ${text})`);
  }
  return n;
}

/** Reads and validates the copier's settings from its environment, naming the variable and value on error. */
export function copySettingsFromEnv(env: Record<string, string | undefined>): CopySettings {
  const concurrencyText = env[ENV.COPY_CONCURRENCY];
  const concurrency = concurrencyText ? Number(concurrencyText) : 8;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new Error(`COPY_CONCURRENCY must be between 1 and 64 inclusive (given ${concurrencyText})`);
  }
  const algorithm = (env[ENV.CHECKSUM_ALGORITHM] || 'CRC32').toUpperCase();
  if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new Error(
      `CHECKSUM_ALGORITHM must be one of ${CHECKSUM_ALGORITHMS.join(', ')} (given ${env[ENV.CHECKSUM_ALGORITHM]})`,
    );
  }
  const createFirst = env[ENV.COPY_CREATE_FIRST] ?? 'true';
  if (createFirst !== 'true' && createFirst !== 'false') {
    throw new Error(`COPY_CREATE_FIRST must be true or false (given ${createFirst})`);
  }
  return {
    multipartThreshold: sizeSetting(env, ENV.MULTIPART_THRESHOLD, MIN_PART_BYTES, MAX_SINGLE_COPY_BYTES),
    partSize: sizeSetting(env, ENV.PART_SIZE, MIN_PART_BYTES, MAX_PART_BYTES),
    concurrency,
    checksumAlgorithm: algorithm as ChecksumAlgorithm,
    createFirst: createFirst === 'true',
  };
}

/** One part of a multipart copy: bytes `start`..`end` inclusive, as CopySourceRange wants them. */
export interface PartRange {
  readonly partNumber: number;
  readonly start: number;
  readonly end: number;
}

/** How one object is copied to a target. */
export type CopyPlan =
  | { readonly mode: 'single'; readonly checksumAlgorithm: ChecksumAlgorithm }
  | {
      readonly mode: 'multipart';
      readonly checksumAlgorithm: ChecksumAlgorithm;
      readonly partSize: number;
      readonly parts: readonly PartRange[];
    };

/**
 * Plans the copy of an object of `size` bytes: one CopyObject up to the threshold (0 bytes included), else
 * parts of `partSize` bytes (the last one shorter), the part size raised to the next MiB that keeps the
 * upload within S3's 10,000 parts. Multipart copies keep a full-object checksum, which S3 offers only for
 * the CRC algorithms: a SHA setting falls back to CRC32 there.
 */
export function planCopy(size: number, settings: CopySettings): CopyPlan {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`object size must be >= 0 (given ${size})`);
  if (size <= settings.multipartThreshold) return { mode: 'single', checksumAlgorithm: settings.checksumAlgorithm };
  let partSize = settings.partSize;
  if (Math.ceil(size / partSize) > MAX_PARTS) partSize = Math.ceil(size / MAX_PARTS / MiB) * MiB;
  if (partSize > MAX_PART_BYTES) {
    throw new RangeError(`object of ${size} bytes needs parts over S3's 5 GiB limit to fit ${MAX_PARTS} parts`);
  }
  const parts: PartRange[] = [];
  for (let start = 0, n = 1; start < size; start += partSize, n++) {
    parts.push({ partNumber: n, start, end: Math.min(size, start + partSize) - 1 });
  }
  const checksumAlgorithm = FULL_OBJECT_MULTIPART.has(settings.checksumAlgorithm)
    ? settings.checksumAlgorithm
    : 'CRC32';
  return { mode: 'multipart', checksumAlgorithm, partSize, parts };
}

// ---------------------------------------------------------------------------------------------------------
// Stores

/** Headers S3 keeps with an object and a copy with MetadataDirective REPLACE must carry over. */
export interface ObjectHeaders {
  readonly contentType?: string;
  readonly cacheControl?: string;
  readonly contentDisposition?: string;
  readonly contentEncoding?: string;
  readonly contentLanguage?: string;
  readonly expires?: Date;
  readonly websiteRedirectLocation?: string;
}

/** A source object version, as its HEAD describes it. */
export interface SourceObject extends ObjectIntegrity {
  readonly key: string;
  /** The version to copy: the event's, when it has one (versioned buckets). */
  readonly versionId?: string;
  /** Epoch ms. */
  readonly lastModified?: number;
  readonly headers: ObjectHeaders;
  /** User metadata, as S3 returns it (keys lower-cased). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Tags on the object (HEAD's x-amz-tagging-count). */
  readonly tagCount: number;
}

/** A target object, as its HEAD describes it. */
export interface TargetObject extends ObjectIntegrity {
  /** Its `rep-v`: the version it reflects; undefined for an object Replicator did not write. */
  readonly version?: string;
  /**
   * The source object it is a copy of (`rep-e`, `rep-m`: {@link targetMetadata}); undefined for an object
   * Replicator did not write, or copied before it recorded them.
   */
  readonly copiedFrom?: { readonly etag: string; readonly lastModified?: number };
}

/**
 * The condition of a target write: the target still holds what the HEAD saw. `blind`: create-only without a
 * HEAD (see {@link copyIfNewer}'s `assumeAbsent`), so a refusal most likely means the key exists, and the
 * next round's HEAD tells; the source is not re-read for it.
 */
export type WriteGuard = { readonly ifMatch: string } | { readonly ifNoneMatch: true; readonly blind?: true };

/** Outcome of one conditional write: done, or the target changed since it was read. */
export type GuardedOutcome = 'done' | 'conflict';

/**
 * Outcome of a conditional copy: as {@link GuardedOutcome}, or done with what the copy's own response says
 * of the object it wrote (CopyObject returns its ETag and requested checksum), which spares a HEAD.
 */
export type CopyOutcomeDetail = GuardedOutcome | { readonly written: Omit<ObjectIntegrity, 'size'> };

/** The pair's source bucket. */
export interface SourceBucket {
  /** HEAD of the object (of this version when given); undefined when it does not exist (anymore). */
  head(key: string, versionId?: string): Promise<SourceObject | undefined>;
}

/** One target bucket, written only through conditional writes. */
export interface BucketStore {
  /** HEAD of the current object, with its checksums; undefined when there is none. */
  head(key: string): Promise<TargetObject | undefined>;
  /**
   * Copies the source object version (CopyObject, or a multipart copy per the plan) with these user metadata
   * and the source's headers and tags, if the guard still holds. Throws NoSuchKey/NoSuchVersion (or
   * SourceChangedError) when the source is gone or changed under it.
   */
  copy(
    source: SourceObject,
    plan: CopyPlan,
    metadata: Record<string, string>,
    guard: WriteGuard,
  ): Promise<CopyOutcomeDetail>;
  /** Deletes the current object if its ETag is still `etag` (a delete marker on a versioned target). */
  delete(key: string, etag: string): Promise<GuardedOutcome>;
}

/** A target bucket as the copier sees it. */
export interface BucketTarget {
  readonly id: string;
  readonly bucket: BucketStore;
  /** Keys this copier saw on the target lately (see {@link CopySettings.createFirst}). @default - none kept */
  readonly seen?: KeyMemory;
}

/**
 * Object keys a copier found on (or wrote to) one target lately, so that an overwrite is read before it is
 * copied rather than tried create-only first; bounded, oldest forgotten first. Forgetting costs requests, never
 * correctness: a create-only copy of an existing key only loses its condition.
 */
export class KeyMemory {
  private readonly keys = new Set<string>();

  constructor(private readonly capacity = 100_000) {}

  has(key: string): boolean {
    return this.keys.has(key);
  }

  add(key: string): void {
    this.keys.delete(key);
    this.keys.add(key);
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.values().next().value as string);
  }

  forget(key: string): void {
    this.keys.delete(key);
  }
}

/** What the copier needs. */
export interface CopyDeps {
  readonly source: SourceBucket;
  readonly tombstones: TombstoneStore;
  readonly settings: CopySettings;
  /** Clock (epoch ms). @default - Date.now */
  readonly now?: () => number;
}

/** Per-target results of copying S3 envelopes, keyed by target id. */
export type CopyResult = ConvergenceResult<S3Envelope>;

/** Conditional writes one envelope may lose on a target before it gives up (and is retried later). */
export const MAX_GUARD_ROUNDS = 4;

// ---------------------------------------------------------------------------------------------------------
// The rules

/** Of several envelopes for one object key, only the newest needs applying; the rest are superseded. */
export function newestPerObject(envelopes: readonly S3Envelope[]): { newest: S3Envelope[]; superseded: S3Envelope[] } {
  return newestPerKey(envelopes, (e) => e.key.key);
}

/**
 * The target's user metadata: the source's, without any `rep-` keys of its own, plus `rep-v` and `rep-o`, and
 * which source object it is a copy of (`rep-e`, its ETag; `rep-m`, its LastModified), which `wait` reads.
 */
export function targetMetadata(source: SourceObject, envelope: S3Envelope): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(source.metadata)) if (!k.toLowerCase().startsWith(REP_META_PREFIX)) out[k] = v;
  out[REP_VERSION_META] = envelope.version;
  out[REP_ORIGIN_META] = envelope.origin;
  out[REP_ETAG_META] = normalizeEtag(source.etag);
  if (source.lastModified !== undefined) out[REP_MODIFIED_META] = String(source.lastModified);
  return out;
}

/** Whether a target object already reflects this version or a newer one. */
function holdsNewerOrEqual(target: TargetObject | undefined, version: string): boolean {
  return target?.version !== undefined && compareVersions(target.version, version) >= 0;
}

function guardFor(target: TargetObject | undefined): WriteGuard {
  return target ? { ifMatch: target.etag } : { ifNoneMatch: true };
}

function lostTooOften(what: string): RetryableApplyError {
  return new RetryableApplyError(`${what}: the target object changed ${MAX_GUARD_ROUNDS} times while being written`);
}

/**
 * Rule 1 for a put on one target: HEAD, copy if older (conditioned on what the HEAD saw), then verify the
 * copy. A target already at this version counts as done (rule 3) unless it fails verification: a copy that
 * did not match its source carries our `rep-v` too, and must not block the retry of its IntegrityError; it is
 * removed before the error is raised (see undoMismatch).
 *
 * `assumeAbsent` skips the first HEAD: the first copy is create-only (If-None-Match: *), which is what the
 * HEAD would have led to for a new key; a key that exists loses that condition and the next round reads it.
 * Sound only where the target honours the condition (see {@link CopySettings.createFirst}).
 */
export async function copyIfNewer(
  target: BucketStore,
  envelope: S3Envelope,
  source: SourceObject,
  plan: CopyPlan,
  assumeAbsent = false,
): Promise<{ outcome: WriteOutcome; unverified: boolean }> {
  const metadata = targetMetadata(source, envelope);
  for (let round = 0; round < MAX_GUARD_ROUNDS; round++) {
    const current = round === 0 && assumeAbsent ? undefined : await target.head(source.key);
    if (current?.version !== undefined) {
      const order = compareVersions(current.version, envelope.version);
      if (order > 0) return { outcome: 'stale', unverified: false };
      if (order === 0 && verifyCopy(source, current, plan.checksumAlgorithm).status !== 'mismatch')
        return { outcome: 'stale', unverified: false };
    }
    const blind = round === 0 && assumeAbsent;
    const done = await target.copy(
      source,
      plan,
      metadata,
      blind ? { ifNoneMatch: true, blind: true } : guardFor(current),
    );
    if (done === 'conflict') continue;
    if (typeof done === 'object') {
      // The response describes exactly what this copy wrote; its size is the source's by construction,
      // so a checksum or MD5 ETag match settles it. Anything less falls back to a HEAD below.
      const fromResponse = verifyCopy(source, { ...done.written, size: source.size }, plan.checksumAlgorithm);
      if (fromResponse.status === 'verified') return { outcome: 'applied', unverified: false };
      if (fromResponse.status === 'mismatch') {
        throw await undoMismatch(target, source.key, envelope, fromResponse.reason);
      }
    }
    const copied = await target.head(source.key);
    // Replaced (or removed) by a newer envelope already: that one verifies its own copy.
    if (copied?.version !== envelope.version) return { outcome: 'applied', unverified: false };
    const check = verifyCopy(source, copied, plan.checksumAlgorithm);
    if (check.status === 'mismatch') {
      throw await undoMismatch(target, source.key, envelope, check.reason);
    }
    return { outcome: 'applied', unverified: check.status === 'unverified' };
  }
  throw lostTooOften('copy');
}

/**
 * A copy that does not match the source its HEAD described is removed (if the target still holds its
 * version) before its IntegrityError is retried. Left in place it would be other data under this version:
 * where the source pin is ignored (moto), the newer object's bytes under an older `rep-v`, whose ETag a racing
 * delete could then match on the newer copy that replaces it (the ETag ABA of the file's header).
 */
async function undoMismatch(
  target: BucketStore,
  key: string,
  envelope: S3Envelope,
  reason: string,
): Promise<IntegrityError> {
  await deleteIfVersion(target, key, envelope.version);
  return new IntegrityError(`copy of version ${envelope.version} does not match its source: ${reason}`);
}

/** Rule 1 for a delete on one target: remove the object only if its `rep-v` is older. */
export async function deleteIfOlder(target: BucketStore, key: string, version: string): Promise<WriteOutcome> {
  for (let round = 0; round < MAX_GUARD_ROUNDS; round++) {
    const current = await target.head(key);
    if (!current) return 'applied';
    if (holdsNewerOrEqual(current, version)) return 'stale';
    if ((await target.delete(key, current.etag)) === 'done') return 'applied';
  }
  throw lostTooOften('delete');
}

/** Removes the target object only if it still reflects exactly this version (a put a newer delete overtook). */
export async function deleteIfVersion(target: BucketStore, key: string, version: string): Promise<void> {
  for (let round = 0; round < MAX_GUARD_ROUNDS; round++) {
    const current = await target.head(key);
    if (current?.version !== version) return;
    if ((await target.delete(key, current.etag)) === 'done') return;
  }
  throw lostTooOften('undo of an overtaken copy');
}

/** What a put copies: the source object version its HEAD described, and how to copy it. */
export interface CopyPayload {
  readonly source: SourceObject;
  readonly plan: CopyPlan;
}

/** Prefix of object keys' tombstones in the pair's state table. */
export const OBJECT_TOMBSTONE_PREFIX = 's3tomb#';

/**
 * The key space of a bucket pair: object keys; a put is the source object its HEAD shows, unless the source
 * moved on since the event; a delete proceeds only if the source no longer has the key.
 */
export function objectKeySpace(deps: Pick<CopyDeps, 'source' | 'settings'>): KeySpace<S3Envelope, CopyPayload> {
  return {
    service: 's3',
    keyId: (e) => e.key.key,
    tombstoneHash: (e) => s3KeyHash(e.key.key),
    // The source has the key again: a newer put exists (its event follows), or only a non-current version was
    // removed. Either way the target must keep its object.
    confirmDelete: async (e) => (await deps.source.head(e.key.key)) === undefined,
    async preparePut(e) {
      const source = await deps.source.head(e.key.key, e.key.versionId);
      if (
        source === undefined ||
        // Unversioned and overwritten since the event: the newer event carries the newer object.
        (e.key.versionId === undefined &&
          e.key.eTag !== undefined &&
          normalizeEtag(e.key.eTag) !== normalizeEtag(source.etag)) ||
        // Written by Replicator on behalf of another region: copying it on would loop (rule 4).
        (source.metadata[REP_ORIGIN_META] !== undefined && source.metadata[REP_ORIGIN_META] !== e.origin)
      ) {
        return undefined;
      }
      try {
        return { source, plan: planCopy(source.size, deps.settings) };
      } catch (error) {
        throw new PoisonRecordError(reasonOf(error), error);
      }
    },
    isPoison: isS3Poison,
    isSourceGone,
    // `s` versions carry no time: the object's LastModified is its write time (a delete has only capture's).
    measure: (_e, p) => ({ bytes: p?.source.size ?? 0, writtenAt: p?.source.lastModified }),
  };
}

/**
 * A target bucket as the engine writes it: HEAD, then a write conditioned on what the HEAD saw; with
 * `createFirst`, a key not in `seen` is copied create-only before any HEAD ({@link copyIfNewer}).
 */
export function bucketTargetStore(target: BucketTarget, createFirst: boolean): TargetStore<S3Envelope, CopyPayload> {
  const { bucket, seen } = target;
  return {
    putIfNewer: async (e, p): Promise<PutOutcome> => {
      const key = e.key.key;
      // A multipart copy refused at its completion would have copied every part for nothing: read first.
      const assumeAbsent = createFirst && p.plan.mode === 'single' && !seen?.has(key);
      try {
        return await copyIfNewer(bucket, e, p.source, p.plan, assumeAbsent);
      } finally {
        // Whatever happened, the key is (or was just) on the target: the next put of it reads first.
        seen?.add(key);
      }
    },
    deleteIfOlder: async (e) => {
      const outcome = await deleteIfOlder(bucket, e.key.key, e.version);
      if (outcome === 'applied') seen?.forget(e.key.key);
      return outcome;
    },
    deleteIfVersion: (e) => deleteIfVersion(bucket, e.key.key, e.version),
  };
}

/**
 * Applies envelopes to the given targets (all of the pair's, or the one a re-sent message is restricted to).
 * Never throws for a per-envelope failure: each lands in its target's `failed` list with its reason, so one
 * failing target neither blocks nor repeats the others.
 */
export function copyEnvelopes(
  envelopes: readonly S3Envelope[],
  targets: readonly BucketTarget[],
  deps: CopyDeps,
): Promise<CopyResult> {
  const converging: ConvergenceTarget<S3Envelope, CopyPayload>[] = targets.map((t) => ({
    id: t.id,
    store: bucketTargetStore(t, deps.settings.createFirst),
  }));
  return converge(envelopes, converging, {
    keys: objectKeySpace(deps),
    tombstones: deps.tombstones,
    concurrency: deps.settings.concurrency,
    ...(deps.now ? { now: deps.now } : {}),
  });
}
