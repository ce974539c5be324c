/**
 * `wait` for S3 pairs: a target holds the wanted version of a key when its object is a copy of it or of a newer
 * one. Every copy records which source object it copies (`rep-e`, the source ETag; `rep-m`, its LastModified:
 * functions/s3/copy.ts `targetMetadata`), so one HEAD of the target answers, whatever the copy's own ETag is
 * (a multipart copy's differs from its source's). Many keys under a prefix cost one listing per target and
 * attempt, plus a HEAD only for the objects whose listed ETag is not a wanted one.
 */
import {
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  S3Client,
} from '@aws-sdk/client-s3';
import { REP_ETAG_META, REP_MODIFIED_META } from '../../functions/s3/envelope';
import { normalizeEtag } from '../../functions/s3/integrity';
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

const isMissing = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
};

async function head(client: S3Client, bucket: string, key: string): Promise<HeadObjectCommandOutput | undefined> {
  try {
    return await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** Whether a target object (its listing's ETag, or its HEAD) is the wanted version or a newer one. */
function holds(want: Wanted, etag: string | undefined, meta?: Record<string, string>): boolean {
  if (etag !== undefined && want.etags.has(normalizeEtag(etag))) return true;
  const copied = meta?.[REP_ETAG_META];
  if (copied !== undefined && want.etags.has(copied)) return true;
  const modified = Number(meta?.[REP_MODIFIED_META]);
  return want.after !== undefined && Number.isFinite(modified) && modified > want.after;
}

async function listAll(client: S3Client, bucket: string, prefix: string) {
  const out = new Map<string, { etag: string; lastModified?: number }>();
  let token: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) {
      out.set(o.Key!, {
        etag: normalizeEtag(o.ETag ?? ''),
        ...(o.LastModified ? { lastModified: o.LastModified.getTime() } : {}),
      });
    }
    token = page.NextContinuationToken;
  } while (token);
  return out;
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
  const source = new S3Client({ ...clientConfig({ region: o.sourceRegion, endpoint: o.endpoint }), ...pathStyle });
  const inPair = (key: string) =>
    key.startsWith(pair.prefix ?? '') && (pair.suffix === undefined || key.endsWith(pair.suffix));
  const wanted = new Map<string, Wanted>();
  if (o.prefix !== undefined) {
    if (!o.prefix.startsWith(pair.prefix ?? '') && !(pair.prefix ?? '').startsWith(o.prefix)) {
      throw new WaitUsageError(`prefix "${o.prefix}" is outside pair "${pair.name}"'s prefix "${pair.prefix ?? ''}"`);
    }
    // The checkpoint as the source holds it now: one listing, whatever the number of objects.
    for (const [key, v] of await listAll(source, pair.source.bucket, o.prefix)) {
      if (inPair(key))
        wanted.set(key, { etags: new Set([v.etag]), ...(v.lastModified ? { after: v.lastModified } : {}) });
    }
  }
  for (const obj of o.objects ?? []) {
    if (!inPair(obj.key)) {
      throw new WaitUsageError(
        `key "${obj.key}" is not replicated by pair "${pair.name}" (prefix "${pair.prefix ?? ''}", suffix "${pair.suffix ?? ''}")`,
      );
    }
    // One HEAD of the source per key (not per attempt): is the caller's version still the current one?
    const now = await head(source, pair.source.bucket, obj.key);
    const current = now?.ETag ? normalizeEtag(now.ETag) : undefined;
    if (obj.etag === undefined && current === undefined) {
      throw new WaitUsageError(`key "${obj.key}" is not in ${pair.source.bucket}; give the ETag you wrote`);
    }
    const mine = obj.etag !== undefined ? normalizeEtag(obj.etag) : current!;
    const after = now?.LastModified?.getTime();
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
    const client = new S3Client({ ...targetClientConfig(t, o.endpoint), ...pathStyle });
    const pending = new Set(wanted.keys());
    return {
      target: t.id,
      async check() {
        if (o.prefix !== undefined && o.objects === undefined) {
          // One listing of the prefix; a HEAD only where the listed ETag is not a wanted one.
          const listed = await listAll(client, t.bucket, o.prefix);
          for (const key of [...pending]) {
            const want = wanted.get(key)!;
            const l = listed.get(key);
            if (l === undefined) {
              if (want.goneOk) pending.delete(key);
              continue;
            }
            if (want.etags.has(l.etag)) {
              pending.delete(key);
              continue;
            }
            const h = await head(client, t.bucket, key);
            if (h && holds(want, h.ETag, h.Metadata)) pending.delete(key);
          }
          return pending.size;
        }
        for (const key of [...pending]) {
          const want = wanted.get(key)!;
          const h = await head(client, t.bucket, key);
          if (h === undefined ? want.goneOk === true : holds(want, h.ETag, h.Metadata)) pending.delete(key);
        }
        return pending.size;
      },
    };
  });
  return { checkers, keys: wanted.size };
}
