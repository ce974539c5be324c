/**
 * S3 end to end on the local cloud: `cdk deploy` to moto, the runtime applying the bucket notification
 * configuration moto skips and running the deployed capture and copy bundles, then object-by-object
 * checks (SHA-256 of the bytes, content type, user metadata) of both target buckets.
 */
import {
  DeleteObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3PairConfig } from '../../lib/config';
import { localS3 } from '../../src/cli/aws';
import { type LocalCloud, startLocalCloud } from '../../src/cli/local-cloud';
import { isConverged } from '../../src/cli/pair-types/driver';
import { verifyBucketPair } from '../../src/cli/pair-types/s3';
import { applyS3Op, makeS3Workload } from '../../src/cli/pair-types/s3-workload';
import { eventually } from '../helpers/eventually';
import { expectCallsAllowed, recordCalls } from '../iam/local-cloud-calls';

let cloud: LocalCloud;
let calls: ReturnType<typeof recordCalls>;
let pair: S3PairConfig;
const SOURCE = 'e2e-training-data';

beforeAll(async () => {
  cloud = await startLocalCloud({
    configPath: `${__dirname}/../fixtures/configs/e2e-s3.json`,
    log: process.env.E2E_VERBOSE ? (l) => console.log(l) : undefined,
  });
  pair = cloud.config.pairs[0] as S3PairConfig;
  calls = recordCalls(cloud);
}, 600_000);

afterAll(async () => {
  await cloud?.stop();
});

const src = () => localS3(cloud.endpoint, 'us-east-1');
const eu = () => localS3(cloud.endpoint, 'eu-west-1');

const waitConverged = () =>
  eventually(
    'both target buckets to converge',
    () => verifyBucketPair(cloud, pair),
    (m) => [...m.values()].every(isConverged),
  );

describe('S3 replication on the local cloud', () => {
  it('replicates small objects, odd keys, a zero-byte and a multipart-sized object, overwrites and deletes', async () => {
    const ops = makeS3Workload({ prefix: 'datasets/', objects: 60, largeObjectBytes: 12 * 1024 * 1024 });
    for (const op of ops) await applyS3Op(src(), SOURCE, op);
    const diffs = await waitConverged();
    for (const d of diffs.values()) {
      expect(d.checked).toBeGreaterThan(50);
      expect(d.matched).toBe(d.checked);
    }
    const keys = (
      await eu().send(new ListObjectsV2Command({ Bucket: 'e2e-training-data-eu', Prefix: 'datasets/odd/' }))
    ).Contents?.map((o) => o.Key);
    expect(keys).toEqual(
      expect.arrayContaining([
        'datasets/odd/a b c.txt',
        'datasets/odd/plus+sign.bin',
        'datasets/odd/100%.csv',
        'datasets/odd/ünïcödé-✓-键.json',
      ]),
    );
    const big = await eu().send(
      new HeadObjectCommand({ Bucket: 'e2e-training-data-eu', Key: 'datasets/checkpoints/model step 1+2.ckpt' }),
    );
    expect(big.ContentLength).toBe(12 * 1024 * 1024);
    expect(big.Metadata).toMatchObject({ step: '2', 'rep-o': 'us-east-1' });
    const uploads = await eu().send(new ListMultipartUploadsCommand({ Bucket: 'e2e-training-data-eu' }));
    expect(uploads.Uploads ?? []).toEqual([]);
  });

  it('copies content type, metadata and tags, and ignores keys outside the prefix', async () => {
    await src().send(
      new PutObjectCommand({
        Bucket: SOURCE,
        Key: 'datasets/tagged/with meta.json',
        Body: '{"a":1}',
        ContentType: 'application/json',
        CacheControl: 'max-age=60',
        Metadata: { owner: 'ml-platform' },
        Tagging: 'team=ml&tier=gold',
      }),
    );
    await src().send(new PutObjectCommand({ Bucket: SOURCE, Key: 'elsewhere/not-replicated.txt', Body: 'x' }));
    const head = await eventually(
      'the tagged object in eu-west-1',
      () =>
        eu()
          .send(new HeadObjectCommand({ Bucket: 'e2e-training-data-eu', Key: 'datasets/tagged/with meta.json' }))
          .catch(() => undefined),
      (h) => h !== undefined,
    );
    expect(head).toMatchObject({ ContentType: 'application/json', CacheControl: 'max-age=60' });
    expect(head?.Metadata).toMatchObject({ owner: 'ml-platform' });
    const tags = await eu().send(
      new GetObjectTaggingCommand({ Bucket: 'e2e-training-data-eu', Key: 'datasets/tagged/with meta.json' }),
    );
    expect(Object.fromEntries((tags.TagSet ?? []).map((t) => [t.Key, t.Value]))).toEqual({ team: 'ml', tier: 'gold' });
    await waitConverged();
    const outside = await eu().send(new ListObjectsV2Command({ Bucket: 'e2e-training-data-eu', Prefix: 'elsewhere/' }));
    expect(outside.KeyCount ?? 0).toBe(0);
  });

  it('replicates a delete of the multipart object and an overwrite of a small one', async () => {
    await src().send(new DeleteObjectCommand({ Bucket: SOURCE, Key: 'datasets/checkpoints/model step 1+2.ckpt' }));
    await src().send(
      new PutObjectCommand({
        Bucket: SOURCE,
        Key: 'datasets/odd/a b c.txt',
        Body: 'second version',
        ContentType: 'text/plain',
      }),
    );
    await waitConverged();
    await expect(
      eu().send(
        new HeadObjectCommand({ Bucket: 'e2e-training-data-eu', Key: 'datasets/checkpoints/model step 1+2.ckpt' }),
      ),
    ).rejects.toThrow();
  });

  it('reports copies in the metrics the handlers emit', () => {
    expect(
      cloud.metrics.sum('ReplicatedItems', { Pair: 'e2e-datasets', Target: 'eu-west-1/e2e-training-data-eu' }),
    ).toBeGreaterThan(50);
    expect(cloud.requestCounts()['s3:PUT'] ?? 0).toBeGreaterThan(0);
  });

  it('makes only calls the deployed IAM policies allow (test/iam)', async () => {
    await expectCallsAllowed(cloud, calls);
  });
});
