/**
 * Object-by-object comparison of a source bucket with a target bucket under a prefix: sizes, content
 * (SHA-256 of the bytes, read from both sides, so no ETag or checksum type question arises), content type
 * and user metadata (Replicator's own `rep-` keys left out).
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';

/** A bucket and the client that reaches it. */
export interface BucketRef {
  readonly client: S3Client;
  readonly bucket: string;
}

/** What a bucket comparison found. */
export interface BucketDiff {
  readonly checked: number;
  readonly matched: number;
  readonly missing: string[];
  readonly extra: string[];
  readonly different: string[];
  readonly bytes: number;
}

/** Keys and sizes under a prefix. */
export async function listObjects(ref: BucketRef, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const page of paginateListObjectsV2({ client: ref.client }, { Bucket: ref.bucket, Prefix: prefix })) {
    for (const o of page.Contents ?? []) out.set(o.Key!, o.Size ?? 0);
  }
  return out;
}

/** SHA-256 of an object's bytes, its content type and its user metadata without `rep-` keys. */
export async function fingerprint(ref: BucketRef, key: string): Promise<string> {
  const res = await ref.client.send(new GetObjectCommand({ Bucket: ref.bucket, Key: key }));
  const bytes = await res.Body!.transformToByteArray();
  const meta = Object.entries(res.Metadata ?? {})
    .filter(([k]) => !k.startsWith('rep-'))
    .sort(([a], [b]) => a.localeCompare(b));
  return `${createHash('sha256').update(bytes).digest('hex')}|${res.ContentType ?? ''}|${JSON.stringify(meta)}`;
}

/**
 * Remembers the fingerprints of one bucket's objects for the length of one verification, so comparing a source
 * with several targets reads each source object once.
 */
export function fingerprintsOnce(ref: BucketRef): (key: string) => Promise<string> {
  const seen = new Map<string, Promise<string>>();
  return (key) => {
    let f = seen.get(key);
    if (f === undefined) {
      f = fingerprint(ref, key);
      seen.set(key, f);
    }
    return f;
  };
}

/** Compares every object under the prefix; `sourceFingerprint` may share the source's reads across targets. */
export async function compareBuckets(
  source: BucketRef,
  target: BucketRef,
  prefix: string,
  sourceFingerprint: (key: string) => Promise<string> = (key) => fingerprint(source, key),
): Promise<BucketDiff> {
  const [src, dst] = await Promise.all([listObjects(source, prefix), listObjects(target, prefix)]);
  const diff = {
    checked: src.size,
    matched: 0,
    missing: [] as string[],
    extra: [] as string[],
    different: [] as string[],
    bytes: 0,
  };
  const keys = [...src.keys()];
  for (let i = 0; i < keys.length; i += 16) {
    await Promise.all(
      keys.slice(i, i + 16).map(async (key) => {
        if (!dst.has(key)) {
          diff.missing.push(key);
          return;
        }
        if (src.get(key) !== dst.get(key)) {
          diff.different.push(key);
          return;
        }
        const [a, b] = await Promise.all([sourceFingerprint(key), fingerprint(target, key)]);
        if (a === b) {
          diff.matched++;
          diff.bytes += src.get(key)!;
        } else diff.different.push(key);
      }),
    );
  }
  for (const key of dst.keys()) if (!src.has(key)) diff.extra.push(key);
  return diff;
}

/** Whether a bucket diff shows the target equal to the source. */
export function bucketsConverged(d: BucketDiff): boolean {
  return d.missing.length === 0 && d.extra.length === 0 && d.different.length === 0;
}
