/**
 * The CLI's side of S3 pairs: reconcile through the functions' own dependency factory (functions/s3/deps.ts)
 * with the CLI's clients (backfill too), and the demo's object workload and verifier.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { pairResourceNames } from '../../../functions/contract';
import { type BucketClients, reconcileDeps } from '../../../functions/s3/deps';
import { runS3Reconcile } from '../../../functions/s3/reconcile';
import { type S3PairConfig, targetId } from '../../../lib/config';
import { targetAccountOf } from '../../../lib/pair-types/common-schema';
import { bucketTargetsEnv } from '../../../lib/pair-types/s3-schema';
import { clientConfig, localS3, targetClientConfig } from '../aws';
import { runAtRate } from '../workload';
import { type CliPairDriver, onlyTargets } from './driver';
import { type BucketDiff, compareBuckets, fingerprintsOnce } from './s3-verify';
import { applyS3Op, makeS3Workload } from './s3-workload';

/** The CLI's clients: the caller's credentials, and a target's role (assumed with them) where it has one. */
function cliClients(endpoint: string | undefined, sourceRegion: string): BucketClients {
  const sqs = new SQSClient(clientConfig({ region: sourceRegion, endpoint }));
  return {
    s3: (t) => new S3Client({ ...targetClientConfig(t, endpoint), ...(endpoint ? { forcePathStyle: true } : {}) }),
    dynamo: (t) => new DynamoDBClient(targetClientConfig(t, endpoint)),
    sqs: () => sqs,
  };
}

/**
 * Compares an S3 pair's source bucket with each target bucket (or only the targets `only` names), object by
 * object, under the pair's prefix; each source object is read once whatever the number of targets.
 */
export async function verifyBucketPair(
  cloud: { readonly endpoint: string; readonly config: { readonly sourceRegion: string } },
  pair: S3PairConfig,
  only?: readonly string[],
): Promise<Map<string, BucketDiff>> {
  const src = { client: localS3(cloud.endpoint, cloud.config.sourceRegion), bucket: pair.source.bucket };
  const sourceFingerprint = fingerprintsOnce(src);
  const out = new Map<string, BucketDiff>();
  await Promise.all(
    pair.targets
      .filter((t) => only === undefined || only.includes(targetId(pair, t)))
      .map(async (t) => {
        out.set(
          targetId(pair, t),
          await compareBuckets(
            src,
            { client: localS3(cloud.endpoint, t.region, targetAccountOf(t)), bucket: t.bucket },
            pair.prefix ?? '',
            sourceFingerprint,
          ),
        );
      }),
  );
  return out;
}

/** The CLI driver of S3 pairs. */
export const S3_CLI: CliPairDriver<S3PairConfig> = {
  kind: 'objects',

  async reconcileRunner(pair, o) {
    const deps = reconcileDeps(
      {
        pair: pair.name,
        sourceRegion: o.sourceRegion,
        sourceBucket: pair.source.bucket,
        targets: onlyTargets(bucketTargetsEnv(pair), o.targetIds),
        ...(pair.prefix !== undefined ? { prefix: pair.prefix } : {}),
        ...(pair.suffix !== undefined ? { suffix: pair.suffix } : {}),
        stateRegion: o.sourceRegion,
        stateTable: pairResourceNames(pair.name).stateTable,
        ...(o.queueUrl ? { queueUrl: o.queueUrl } : {}),
        repair: o.repair,
        deleteExtra: o.deleteExtra,
        readRate: o.readRate,
        checksumAlgorithm: 'CRC32',
        // On demand: suspects are re-read at once (the caller chose the moment).
        recheckDelayMs: 0,
        ...(o.mode ? { mode: o.mode } : {}),
        ...(o.itemRate !== undefined ? { itemRate: o.itemRate } : {}),
        // Key ranges listed in parallel (one for a reconcile, whose checkpoint predates them).
        shards: o.mode === 'backfill' ? o.segments : 1,
      },
      cliClients(o.endpoint, o.sourceRegion),
      o.store,
    );
    return (deadlineMs) => runS3Reconcile(deps, { deadlineMs });
  },

  verify: verifyBucketPair,

  demo(cloud, pair, size) {
    const s3 = localS3(cloud.endpoint, cloud.config.sourceRegion);
    const ops = makeS3Workload({ prefix: pair.prefix ?? '', objects: size.s3Objects });
    return {
      name: pair.name,
      kind: 'objects',
      targetIds: pair.targets.map((t) => targetId(pair, t)),
      writes: ops.length,
      write: async (onDone) => {
        await runAtRate(ops, size.rate, (op) => applyS3Op(s3, pair.source.bucket, op), { onDone, maxInFlight: 8 });
      },
      verify: () => verifyBucketPair(cloud, pair),
    };
  },
};
