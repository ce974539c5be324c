/**
 * Helpers of the S3 benchmark: clients on the local cloud, buckets, Replicator's copier wired like the copy
 * handler wires it, envelopes built the way S3 capture builds them, and checks of what a copy produced.
 */
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { packMessages } from '../functions/engine/queue';
import { buildS3Envelopes, type S3CaptureOptions } from '../functions/s3/capture';
import { type BucketTarget, type CopySettings, copyEnvelopes, KeyMemory } from '../functions/s3/copy';
import { parseS3Body, type S3Envelope } from '../functions/s3/envelope';
import { S3SourceBucket, S3TargetBucket, S3TombstoneStore } from '../functions/s3/store';

export const SOURCE_REGION = 'us-east-1';
export const TARGET_REGION = 'eu-west-1';
export const PAIR = 'bench-s3';
export const STATE_TABLE = 'bench-s3-state';
export const KiB = 1024;
export const MiB = 1024 * 1024;

const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** An S3 client on the local cloud, as functions/s3/clients.ts builds one (3 attempts, path-style for an endpoint). */
export function s3(endpoint: string, region: string, opts: { checksums?: boolean } = {}): S3Client {
  return new S3Client({
    region,
    endpoint,
    forcePathStyle: true,
    maxAttempts: 3,
    credentials: CREDENTIALS,
    // Seeding only: skip the SDK's client-side CRC32 of every upload where S3 does not require one.
    ...(opts.checksums === false ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const } : {}),
  });
}

/** A DynamoDB client on the local cloud, as clients.ts builds one. */
export function dynamo(endpoint: string, region: string): DynamoDBClient {
  return new DynamoDBClient({ region, endpoint, maxAttempts: 3, credentials: CREDENTIALS });
}

/** Creates a bucket in its region. */
export async function createBucket(client: S3Client, bucket: string, region: string): Promise<void> {
  await client.send(
    new CreateBucketCommand({
      Bucket: bucket,
      ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as 'eu-west-1' } }),
    }),
  );
}

/** Creates the pair's state table as the stack does (partition key `pk`, on demand). */
export async function createStateTable(client: DynamoDBClient): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: STATE_TABLE,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 60 }, { TableName: STATE_TABLE });
}

/** An object put into the source: what its event says about it. */
export interface SourceObjectInfo {
  readonly key: string;
  readonly size: number;
  /** Unquoted, as events carry it. */
  readonly eTag: string;
  /** When the put returned (epoch ms): the event's time. */
  readonly putAt: number;
}

/** Encodes a key as moto's notifications do (Python's quote_plus: `/` too, space as `+`). */
function quotePlus(key: string): string {
  return encodeURIComponent(key)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/**
 * The SQS message bodies the pair queue would hold after these puts: one ObjectCreated:Put notification per
 * object as moto sends them (no sequencer, no zone on eventTime), through S3 capture's own envelope builder
 * and packer (`envelopesPerMessage` a message).
 */
export function captureMessages(
  bucket: string,
  objects: readonly SourceObjectInfo[],
  envelopesPerMessage: number,
): string[] {
  const opts: S3CaptureOptions = { pair: PAIR, origin: SOURCE_REGION, bucket, envelopesPerMessage };
  const batch = buildS3Envelopes(
    objects.map((o, i) => ({
      messageId: `m${i}`,
      body: JSON.stringify({
        Records: [
          {
            eventVersion: '2.1',
            eventSource: 'aws:s3',
            awsRegion: SOURCE_REGION,
            eventTime: new Date(o.putAt).toISOString().replace(/Z$/, ''),
            eventName: 'ObjectCreated:Put',
            s3: {
              s3SchemaVersion: '1.0',
              bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
              object: { key: quotePlus(o.key), size: o.size, eTag: o.eTag },
            },
          },
        ],
      }),
    })),
    opts,
  );
  if (batch.invalid.length > 0 || batch.skipped.length > 0) {
    throw new Error(`capture rejected events: ${JSON.stringify([...batch.invalid, ...batch.skipped][0])}`);
  }
  return packMessages(batch.envelopes, opts).map((m) => m.body);
}

/** One emulated copy function container: its own clients and stores, as the handler builds them at load. */
export interface CopyContainer {
  readonly targets: BucketTarget[];
  readonly deps: { source: S3SourceBucket; tombstones: S3TombstoneStore; settings: CopySettings };
}

/** Builds a container's copier: source, one target (partConcurrency = COPY_CONCURRENCY), tombstones. */
export function copyContainer(
  endpoint: string,
  sourceBucket: string,
  targetBucket: string,
  settings: CopySettings,
): CopyContainer {
  const source = new S3SourceBucket(s3(endpoint, SOURCE_REGION), sourceBucket);
  return {
    targets: [
      {
        id: `${TARGET_REGION}:${targetBucket}`,
        bucket: new S3TargetBucket(s3(endpoint, TARGET_REGION), targetBucket, source, {
          partConcurrency: settings.concurrency,
        }),
        // As the copy function keeps it for its container's life (functions/s3/deps.ts).
        seen: new KeyMemory(),
      },
    ],
    deps: { source, tombstones: new S3TombstoneStore(dynamo(endpoint, SOURCE_REGION), STATE_TABLE), settings },
  };
}

/** What copying some messages' envelopes came to. */
export interface CopyTally {
  applied: number;
  stale: number;
  failed: number;
  unverified: number;
  bytes: number;
  firstError?: string;
}

export function emptyTally(): CopyTally {
  return { applied: 0, stale: 0, failed: 0, unverified: 0, bytes: 0 };
}

/** Copies one SQS message's envelopes as the copy handler does (parse, copyEnvelopes), adding to `tally`. */
export async function copyMessage(container: CopyContainer, body: string, tally: CopyTally): Promise<void> {
  const envelopes: S3Envelope[] = parseS3Body(body);
  const result = await copyEnvelopes(envelopes, container.targets, container.deps);
  for (const r of result.values()) {
    tally.applied += r.applied.length;
    tally.stale += r.stale.length;
    tally.failed += r.failed.length;
    tally.unverified += r.applied.filter((a) => a.unverified).length;
    tally.bytes += r.applied.reduce((s, a) => s + a.bytes, 0);
    if (r.failed[0] && tally.firstError === undefined) tally.firstError = String(r.failed[0].error);
  }
}

/** Every object of a bucket (key → size and ETag), listed straight from moto. */
export async function listBucket(
  client: S3Client,
  bucket: string,
): Promise<Map<string, { size: number; etag: string }>> {
  const out = new Map<string, { size: number; etag: string }>();
  let token: string | undefined;
  do {
    const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of res.Contents ?? []) {
      out.set(o.Key!, { size: o.Size ?? -1, etag: (o.ETag ?? '').replace(/"/g, '') });
    }
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** The check of one copy's result: every object there, with its size and content digest. */
export interface CopyCheck {
  readonly expected: number;
  readonly found: number;
  readonly missing: number;
  readonly extra: number;
  /** Objects whose size differs from the source's. */
  readonly wrongSize: number;
  /** Objects whose ETag (MD5 of single-part objects) differs from the source's. */
  readonly wrongEtag: number;
  /** A few objects, source size beside target size. */
  readonly sample: { key: string; sourceSize: number; targetSize: number }[];
  readonly ok: boolean;
}

/** Compares a target bucket's listing with the source objects: count, every size and ETag, and a sample. */
export async function checkCopy(
  client: S3Client,
  bucket: string,
  objects: readonly SourceObjectInfo[],
): Promise<CopyCheck> {
  const listed = await listBucket(client, bucket);
  const wanted = new Set(objects.map((o) => o.key));
  let missing = 0;
  let wrongSize = 0;
  let wrongEtag = 0;
  for (const o of objects) {
    const t = listed.get(o.key);
    if (!t) missing++;
    else {
      if (t.size !== o.size) wrongSize++;
      if (t.etag !== o.eTag) wrongEtag++;
    }
  }
  const extra = [...listed.keys()].filter((k) => !wanted.has(k)).length;
  const step = Math.max(1, Math.floor(objects.length / 5));
  const sample = objects
    .filter((_, i) => i % step === 0)
    .slice(0, 5)
    .map((o) => ({ key: o.key, sourceSize: o.size, targetSize: listed.get(o.key)?.size ?? -1 }));
  return {
    expected: objects.length,
    found: listed.size,
    missing,
    extra,
    wrongSize,
    wrongEtag,
    sample,
    ok: missing === 0 && extra === 0 && wrongSize === 0 && wrongEtag === 0 && objects.length > 0,
  };
}

/** Runs `fn` over items, at most `limit` at a time. */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Request counts per object, largest first, as `name n.nn` strings. */
export function perObject(counts: Record<string, number>, objects: number): string {
  return Object.entries(counts)
    .sort(([, a], [, b]) => b - a)
    .map(([k, n]) => {
      const v = n / Math.max(1, objects);
      return `${k} ${v < 0.1 ? v.toFixed(3) : v.toFixed(2)}`;
    })
    .join(', ');
}
