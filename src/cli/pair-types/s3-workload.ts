/**
 * A reproducible S3 workload for the demo, tests and benchmarks: many small objects under deep prefixes,
 * keys with spaces, `+`, `%` and unicode, a zero-byte object, one object above the multipart threshold,
 * overwrites and deletes.
 */
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { prng } from '../workload';

/** One write of the S3 workload. */
export type S3Op =
  | {
      readonly kind: 'put';
      readonly key: string;
      readonly body: Uint8Array;
      readonly contentType: string;
      readonly metadata: Record<string, string>;
    }
  | { readonly kind: 'delete'; readonly key: string };

const ODD_NAMES = [
  'a b c.txt',
  'plus+sign.bin',
  'percent%20literal.txt',
  '100%.csv',
  'ünïcödé-✓-键.json',
  'deep/er/and/deeper/still/file.parquet',
  'tab\tand~tilde.txt',
  'quote\'s & "amp".txt',
];

/** Options of {@link makeS3Workload}. */
export interface S3WorkloadOptions {
  /** Key prefix of every object (the pair's prefix). */
  readonly prefix: string;
  /** Small objects to create. @default 200 */
  readonly objects?: number;
  /** Size of one object that must take the multipart path (bytes); 0 for none. @default 12 MiB */
  readonly largeObjectBytes?: number;
  readonly seed?: number;
}

function body(rnd: () => number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = Math.floor(rnd() * 256);
  return b;
}

/** Builds the workload: creates, then ~10% overwrites and ~10% deletes of what was created. */
export function makeS3Workload(opts: S3WorkloadOptions): S3Op[] {
  const rnd = prng(opts.seed ?? 7);
  const n = opts.objects ?? 200;
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    const odd = ODD_NAMES[i % ODD_NAMES.length]!;
    keys.push(
      i < ODD_NAMES.length
        ? `${opts.prefix}odd/${odd}`
        : `${opts.prefix}shard-${i % 7}/part-${String(i).padStart(5, '0')}.bin`,
    );
  }
  const ops: S3Op[] = keys.map((key, i) => ({
    kind: 'put',
    key,
    body: body(rnd, i === 1 ? 0 : 256 + Math.floor(rnd() * 4096)),
    contentType: key.endsWith('.json') ? 'application/json' : 'application/octet-stream',
    metadata: { source: 'demo', index: String(i) },
  }));
  const emptyKey = `${opts.prefix}empty/zero-byte.txt`;
  ops.push({ kind: 'put', key: emptyKey, body: new Uint8Array(0), contentType: 'text/plain', metadata: {} });
  const large = opts.largeObjectBytes ?? 12 * 1024 * 1024;
  if (large > 0) {
    ops.push({
      kind: 'put',
      key: `${opts.prefix}checkpoints/model step 1+2.ckpt`,
      body: body(rnd, large),
      contentType: 'application/octet-stream',
      metadata: { step: '2' },
    });
  }
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (r < 0.1)
      ops.push({
        kind: 'put',
        key: keys[i]!,
        body: body(rnd, 512),
        contentType: 'text/plain',
        metadata: { overwritten: 'yes' },
      });
    else if (r < 0.2) ops.push({ kind: 'delete', key: keys[i]! });
  }
  return ops;
}

/** Sends one S3 workload write. */
export async function applyS3Op(client: S3Client, bucket: string, op: S3Op): Promise<void> {
  if (op.kind === 'delete') await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: op.key }));
  else
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: op.key,
        Body: op.body,
        ContentType: op.contentType,
        Metadata: op.metadata,
      }),
    );
}
