/**
 * `wait` for S3 pairs: a target holds the wanted version of a key when its object is a copy of it or of a newer
 * one. Every copy records which source object it copies (`rep-e`, the source ETag; `rep-m`, its LastModified:
 * functions/s3/copy.ts `targetMetadata`, read back by `headObject`), so one HEAD of the target answers, whatever
 * the copy's own ETag is
 * (a multipart copy's differs from its source's). Many keys under a prefix cost one listing per target and
 * attempt, plus a HEAD only for the objects whose listed ETag is not a wanted one.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { normalizeEtag } from '../../functions/s3/integrity';
import { S3BucketReader } from '../../functions/s3/reader';
import type { HeadObject, ListedObject } from '../../functions/s3/reconcile';
import { S3SourceBucket } from '../../functions/s3/store';
import type { S3PairConfig } from '../../lib/config';
import { bucketTargetsEnv } from '../../lib/pair-types/s3-schema';
import { clientConfig, targetClientConfig } from '../cli/aws';
import { type TargetChecker, WaitUsageError } from './engine';

/** What the caller wrote: an object key and the ETag S3 returned for it. */
export interface ObjectVersion {
  readonly key: string;
  /** As PutObject (or CompleteMultipartUpload) returned it. @default - the source's current object, read at the start */
  readonly etag?: string;
}

/** What a target must hold of one key. */
interface Wanted {
  /** ETags (unquoted) of acceptable source versions: the caller's, and the source's current one if newer. */
  readonly etags: ReadonlySet<string>;
  /** A copy of a source object modified after this (epoch ms) is newer than the caller's. */
  readonly after?: number;
  /** The source no longer has the key: a target without it holds the newer state. */
  readonly goneOk?: boolean;
}

/** Whether a target object (as its listing or its HEAD shows it) is the wanted version or a newer one. */
function holds(want: Wanted, etag: string, copiedFrom?: HeadObject['copiedFrom']): boolean {
  if (want.etags.has(normalizeEtag(etag))) return true;
  if (copiedFrom === undefined) return false;
  if (want.etags.has(copiedFrom.etag)) return true;
  return want.after !== undefined && copiedFrom.lastModified !== undefined && copiedFrom.lastModified > want.after;
}

/** Every object under `prefix`, by key (one ListObjectsV2 per 1,000). */
async function listAll(bucket: S3BucketReader, prefix: string): Promise<Map<string, ListedObject>> {
  const out = new Map<string, ListedObject>();
  let after: string | undefined;
  for (;;) {
    const page = await bucket.list(prefix, after, 1000);
    for (const o of page.objects) out.set(o.key, o);
    after = page.objects.at(-1)?.key;
    if (!page.truncated || after === undefined) return out;
  }
}

/** The checkers of an S3 pair's targets for some objects, or for every object under a prefix. */
export async function s3Checkers(
  pair: S3PairConfig,
  o: {
    readonly sourceRegion: string;
    readonly endpoint?: string;
    readonly objects?: readonly ObjectVersion[];
    readonly prefix?: string;
    readonly targets?: readonly string[];
  },
): Promise<{ checkers: TargetChecker[]; keys: number }> {
  const pathStyle = o.endpoint ? { forcePathStyle: true } : {};
  const sourceClient = new S3Client({
    ...clientConfig({ region: o.sourceRegion, endpoint: o.endpoint }),
    ...pathStyle,
  });
  const source = new S3BucketReader(sourceClient, pair.source.bucket);
  const sourceHead = new S3SourceBucket(sourceClient, pair.source.bucket);
  const inPair = (key: string) =>
    key.startsWith(pair.prefix ?? '') && (pair.suffix === undefined || key.endsWith(pair.suffix));
  const wanted = new Map<string, Wanted>();
  if (o.prefix !== undefined) {
    if (!o.prefix.startsWith(pair.prefix ?? '') && !(pair.prefix ?? '').startsWith(o.prefix)) {
      throw new WaitUsageError(`prefix "${o.prefix}" is outside pair "${pair.name}"'s prefix "${pair.prefix ?? ''}"`);
    }
    // The checkpoint as the source holds it now: one listing, whatever the number of objects.
    for (const [key, v] of await listAll(source, o.prefix)) {
      if (!inPair(key)) continue;
      wanted.set(key, {
        etags: new Set([normalizeEtag(v.etag)]),
        ...(v.lastModified !== undefined ? { after: v.lastModified } : {}),
      });
    }
  }
  for (const obj of o.objects ?? []) {
    if (!inPair(obj.key)) {
      throw new WaitUsageError(
        `key "${obj.key}" is not replicated by pair "${pair.name}" (prefix "${pair.prefix ?? ''}", suffix "${pair.suffix ?? ''}")`,
      );
    }
    // One HEAD of the source per key (not per attempt): is the caller's version still the current one?
    const now = await sourceHead.head(obj.key);
    const current = now ? normalizeEtag(now.etag) : undefined;
    if (obj.etag === undefined && current === undefined) {
      throw new WaitUsageError(`key "${obj.key}" is not in ${pair.source.bucket}; give the ETag you wrote`);
    }
    const mine = obj.etag !== undefined ? normalizeEtag(obj.etag) : current!;
    const after = now?.lastModified;
    wanted.set(obj.key, {
      etags: new Set(current && current !== mine ? [mine, current] : [mine]),
      // Only when the source still holds the caller's version is its LastModified the caller's write time.
      ...(after !== undefined && current === mine ? { after } : {}),
      ...(now === undefined ? { goneOk: true } : {}),
    });
  }
  if (wanted.size === 0)
    throw new WaitUsageError(`nothing to wait for in pair "${pair.name}": no key, or an empty prefix`);

  const targets = bucketTargetsEnv(pair).filter((t) => !o.targets || o.targets.includes(t.id));
  const checkers = targets.map((t): TargetChecker => {
    const bucket = new S3BucketReader(new S3Client({ ...targetClientConfig(t, o.endpoint), ...pathStyle }), t.bucket);
    const pending = new Set(wanted.keys());
    return {
      target: t.id,
      async check() {
        if (o.prefix !== undefined && o.objects === undefined) {
          // One listing of the prefix; a HEAD only where the listed ETag is not a wanted one.
          const listed = await listAll(bucket, o.prefix);
          for (const key of [...pending]) {
            const want = wanted.get(key)!;
            const l = listed.get(key);
            if (l === undefined) {
              if (want.goneOk) pending.delete(key);
              continue;
            }
            if (holds(want, l.etag)) {
              pending.delete(key);
              continue;
            }
            const h = await bucket.head(key);
            if (h && holds(want, h.etag, h.copiedFrom)) pending.delete(key);
          }
          return pending.size;
        }
        for (const key of [...pending]) {
          const want = wanted.get(key)!;
          const h = await bucket.head(key);
          if (h === undefined ? want.goneOk === true : holds(want, h.etag, h.copiedFrom)) pending.delete(key);
        }
        return pending.size;
      },
    };
  });
  return { checkers, keys: wanted.size };
}
