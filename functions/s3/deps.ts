/**
 * The dependencies of S3 pairs' functions, built in one place: from the function's environment (the
 * contract's variables) for the handlers, and from the same settings for the CLI (`replicator reconcile`),
 * which brings its own clients and checkpoint store.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { type BucketTargetEnv, type ClientTarget, ENV } from '../contract';
import type { CaptureSink } from '../engine/capture';
import type { CheckpointStore } from '../engine/checkpoint';
import { dynamoClient, type Env, jsonEnv, optionalEnv, requiredEnv, sqsClient } from '../engine/clients';
import type { MessageHandlerOptions } from '../engine/message-handler';
import {
  applierSettings,
  captureSettings,
  type ReconcileSettings,
  readBudgetOf,
  reconcileSettingsFromEnv,
  repairEnqueuer,
  runModeOf,
} from '../engine/settings';
import type { S3CaptureOptions } from './capture';
import { s3Client } from './clients';
import { type BucketTarget, copyEnvelopes, copySettingsFromEnv, KeyMemory } from './copy';
import { parseS3Body, type S3Envelope } from './envelope';
import type { ChecksumAlgorithm } from './integrity';
import { S3BucketReader } from './reader';
import type { S3ReconcileDeps } from './reconcile';
import { S3SourceBucket, S3TargetBucket, S3TombstoneStore } from './store';

/** The SDK clients the functions use: S3 per region (and target role), DynamoDB for the state table, SQS. */
export interface BucketClients {
  s3(target: ClientTarget): S3Client;
  dynamo(target: ClientTarget): DynamoDBClient;
  sqs(): SQSClient;
}

/** Lambda's clients: cached per container, a target's role assumed with its external id. */
export const lambdaClients: BucketClients = { s3: s3Client, dynamo: dynamoClient, sqs: sqsClient };

/** Capture's options and where it sends. */
export function captureDeps(
  env: Env = process.env,
  // Only SQS, not lambdaClients: capture's bundle then carries no other SDK client.
  clients: Pick<BucketClients, 'sqs'> = { sqs: sqsClient },
): { options: S3CaptureOptions; sink: CaptureSink } {
  const { settings, sink } = captureSettings(env, clients.sqs());
  const options: S3CaptureOptions = {
    ...settings,
    bucket: requiredEnv(ENV.SOURCE_BUCKET, env),
    prefix: optionalEnv(ENV.PREFIX, env),
    suffix: optionalEnv(ENV.SUFFIX, env),
  };
  return { options, sink };
}

/** The copy function's message handler options: its targets, stores and queues. */
export function copyDeps(
  env: Env = process.env,
  clients: BucketClients = lambdaClients,
): MessageHandlerOptions<S3Envelope, BucketTarget> {
  const settings = copySettingsFromEnv(env);
  const source = new S3SourceBucket(
    clients.s3({ region: requiredEnv(ENV.SOURCE_REGION, env) }),
    requiredEnv(ENV.SOURCE_BUCKET, env),
  );
  const targets: BucketTarget[] = jsonEnv<BucketTargetEnv[]>(ENV.TARGETS, env).map((t) => ({
    id: t.id,
    bucket: new S3TargetBucket(clients.s3(t), t.bucket, source, {
      storageClass: t.storageClass,
      // A role of another account may not read the source's tags: copy them explicitly.
      copyTagsExplicitly: t.roleArn !== undefined,
      partConcurrency: settings.concurrency,
    }),
    // Kept for the container's life: a key copied once is read before it is copied again.
    seen: new KeyMemory(),
  }));
  const deps = {
    source,
    tombstones: new S3TombstoneStore(
      clients.dynamo({ region: requiredEnv('AWS_REGION', env) }),
      requiredEnv(ENV.STATE_TABLE, env),
    ),
    settings,
  };
  return {
    ...applierSettings(env, clients.sqs()),
    targets,
    parse: parseS3Body,
    apply: (envelopes, only) => copyEnvelopes(envelopes, only, deps),
  };
}

/** What an S3 pair's reconcile is set to do (from the function's environment, or the CLI's config). */
export interface BucketReconcileSettings extends ReconcileSettings {
  readonly sourceBucket: string;
  readonly targets: readonly BucketTargetEnv[];
  readonly prefix?: string;
  readonly suffix?: string;
  /** The checksum the copier asks for, which reconcile compares. */
  readonly checksumAlgorithm: ChecksumAlgorithm;
  /** Key ranges listed in parallel (functions/s3/shards.ts). @default 1 */
  readonly shards?: number;
}

/** The reconcile function's settings, from its environment. */
export function reconcileSettings(env: Env = process.env): BucketReconcileSettings {
  const prefix = optionalEnv(ENV.PREFIX, env);
  const suffix = optionalEnv(ENV.SUFFIX, env);
  return {
    ...reconcileSettingsFromEnv(env),
    sourceBucket: requiredEnv(ENV.SOURCE_BUCKET, env),
    targets: jsonEnv<BucketTargetEnv[]>(ENV.TARGETS, env),
    ...(prefix ? { prefix } : {}),
    ...(suffix ? { suffix } : {}),
    checksumAlgorithm: copySettingsFromEnv(env).checksumAlgorithm,
  };
}

/** An S3 pair's reconcile dependencies: bucket readers, budget, tombstones, repairs through the pair queue. */
export function reconcileDeps(
  s: BucketReconcileSettings,
  clients: BucketClients,
  store: CheckpointStore,
): S3ReconcileDeps {
  const enqueue = repairEnqueuer(s, clients.sqs);
  return {
    pair: s.pair,
    origin: s.sourceRegion,
    ...(s.prefix ? { prefix: s.prefix } : {}),
    ...(s.suffix ? { suffix: s.suffix } : {}),
    source: new S3BucketReader(clients.s3({ region: s.sourceRegion }), s.sourceBucket),
    targets: s.targets.map((t) => ({ id: t.id, bucket: new S3BucketReader(clients.s3(t), t.bucket) })),
    store,
    tombstones: new S3TombstoneStore(clients.dynamo({ region: s.stateRegion }), s.stateTable),
    checksumAlgorithm: s.checksumAlgorithm,
    ...readBudgetOf(s),
    ...runModeOf(s, { shards: s.shards ?? 1, maxPageSize: 1000 }),
    ...(s.shards !== undefined ? { shards: s.shards } : {}),
    repair: s.repair,
    deleteExtra: s.deleteExtra,
    ...(enqueue
      ? { enqueue: (targetId: string, envelopes: readonly S3Envelope[]) => enqueue(envelopes, targetId) }
      : {}),
    recheckDelayMs: s.recheckDelayMs,
  };
}
