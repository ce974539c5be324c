/**
 * One S3 pair in the source region: source bucket (created or imported) with ObjectCreated/ObjectRemoved
 * notifications into an events queue, capture (events → envelopes → pair queue), the pair queue with its DLQ,
 * the state table, copy (pair queue → target buckets) with least-privilege grants scoped to the prefix, and
 * alarms.
 */
import * as path from 'node:path';
import { Duration, type RemovalPolicy, Stack, Tags, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { SqsDestination } from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import {
  type ReconcileConfig,
  S3_PAIR_DEFAULTS,
  type S3PairConfig,
  type S3PairOptions,
  type S3TargetConfig,
  targetId,
} from '../config';
import { AccessLogsBucket } from './access-logs-bucket';
import { type PairAlarmOptions, PairMonitoring } from './monitoring';
import { pairResourceNames } from './names';
import {
  acknowledgeObjectGrants,
  bucketArn,
  CAPTURE_TIMEOUT,
  createStateTable,
  grantAssumeTargetRoles,
  grantResendAndDeadLetter,
  grantStateTable,
  objectsArn,
  PAIR_TAG,
} from './pair-common';
import { PairQueue } from './pair-queue';
import { Reconciler, s3ReadStatements } from './reconciler';
import { PROJECT_ROOT, ReplicatorFunction } from './replicator-function';
import { replicatedBucketProps } from './target-bucket';

/** Timeout of the copy function (Lambda's maximum: a multipart copy of tens of GB takes minutes); the pair queue's visibility timeout is six times this. */
export const COPY_TIMEOUT = Duration.seconds(900);

/**
 * S3 event messages per capture invocation (with a 1 s batching window). More than SQS's 10 per receive, so
 * capture can pack up to `envelopesPerMessage` envelopes into each message it sends.
 */
export const S3_CAPTURE_BATCH_SIZE = 100;

/** Receives of an S3 event message before SQS moves it to the capture failure queue. */
export const EVENTS_MAX_RECEIVE_COUNT = 5;

/** The id the singleton construct of CDK's Custom::S3BucketNotifications handler has in its stack. */
const NOTIFICATIONS_HANDLER_ID = 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834';

/** Notifications handlers already acknowledged (one per stack, shared by every pair of it). */
const acknowledgedHandlers = new WeakSet<IConstruct>();

/** S3 actions the copy function may take on the source's objects under the prefix. */
export const SOURCE_OBJECT_ACTIONS = [
  's3:GetObject',
  's3:GetObjectVersion',
  's3:GetObjectTagging',
  's3:GetObjectVersionTagging',
  's3:GetObjectAttributes',
] as const;

/** S3 actions the copy function may take on each target's objects under the prefix. */
export const TARGET_OBJECT_ACTIONS = [
  's3:PutObject',
  's3:PutObjectTagging',
  's3:GetObject',
  's3:DeleteObject',
  's3:AbortMultipartUpload',
  's3:ListMultipartUploadParts',
] as const;

/** One entry of the copy function's TARGETS variable. */
export interface CopyTarget {
  /** `targetId(target)`, e.g. `eu-west-1/training-data-eu`. */
  readonly id: string;
  /** Region of the target bucket. */
  readonly region: string;
  /** Name of the target bucket. */
  readonly bucket: string;
  /** Role to assume for writes (cross-account targets). */
  readonly roleArn?: string;
  /** External id to pass when assuming roleArn. */
  readonly externalId?: string;
  /** Storage class of the copies. */
  readonly storageClass?: string;
}

/** Props of a {@link BucketPair}. */
export interface BucketPairProps extends PairAlarmOptions {
  /** The validated pair (from `parseConfig`). */
  readonly pair: S3PairConfig;
  /**
   * Where a created source bucket's server access logs go (under `<bucket>/`).
   * @default - an AccessLogsBucket of its own inside the pair when the source is created; none for an imported source
   */
  readonly accessLogs?: AccessLogsBucket;
  /**
   * What happens to a created source bucket when it is removed from the stack.
   * @default - RemovalPolicy.RETAIN: the source bucket holds user data, so it outlives the stack
   */
  readonly sourceRemovalPolicy?: RemovalPolicy;
  /**
   * Entry file of the capture handler.
   * @default - functions/s3-capture/handler.ts of this project
   */
  readonly captureEntry?: string;
  /**
   * Entry file of the copy handler.
   * @default - functions/copy/handler.ts of this project
   */
  readonly copyEntry?: string;
  /**
   * The deployment's reconcile settings; with them the pair gets a scheduled reconcile function.
   * @default - no scheduled reconciler (`replicator reconcile` still runs on demand)
   */
  readonly reconcile?: ReconcileConfig;
}

/** Everything one S3 pair needs in its source region. */
export class BucketPair extends Construct {
  /** The source bucket (created here, or imported by name). */
  readonly sourceBucket: s3.IBucket;
  /** Queue of the source bucket's ObjectCreated/ObjectRemoved notifications (`replicator-<pair>-events`). */
  readonly eventsQueue: sqs.Queue;
  /** The per-pair state table (tombstones and checkpoints; never in a target). */
  readonly stateTable: dynamodb.Table;
  /** The pair queue, its DLQ and the capture failure queue (the events queue's DLQ). */
  readonly queues: PairQueue;
  /** The capture function (S3 events → envelopes → pair queue). */
  readonly capture: ReplicatorFunction;
  /** The copy function (pair queue → target buckets). */
  readonly copy: ReplicatorFunction;
  /** The pair's alarms. */
  readonly monitoring: PairMonitoring;
  /** Targets as the copy function sees them (its TARGETS variable). */
  readonly copyTargets: readonly CopyTarget[];
  /** The scheduled reconciler; only when the config has `reconcile`. */
  readonly reconciler: Reconciler | undefined;

  constructor(scope: Construct, id: string, props: BucketPairProps) {
    super(scope, id);
    const { pair } = props;
    const stack = Stack.of(this);
    const names = pairResourceNames(pair.name);
    const prefix = pair.prefix ?? '';
    // Key by key, not a spread: typed props may carry an option as an explicit undefined.
    const given = pair.options ?? {};
    const o: Required<S3PairOptions> = {
      multipartThresholdBytes: given.multipartThresholdBytes ?? S3_PAIR_DEFAULTS.multipartThresholdBytes,
      partSizeBytes: given.partSizeBytes ?? S3_PAIR_DEFAULTS.partSizeBytes,
      copyConcurrency: given.copyConcurrency ?? S3_PAIR_DEFAULTS.copyConcurrency,
      maxAttempts: given.maxAttempts ?? S3_PAIR_DEFAULTS.maxAttempts,
      applyBatchSize: given.applyBatchSize ?? S3_PAIR_DEFAULTS.applyBatchSize,
      applyConcurrency: given.applyConcurrency ?? S3_PAIR_DEFAULTS.applyConcurrency,
      envelopesPerMessage: given.envelopesPerMessage ?? S3_PAIR_DEFAULTS.envelopesPerMessage,
    };

    this.stateTable = createStateTable(this, pair.name);
    this.queues = new PairQueue(this, 'Queues', {
      pairName: pair.name,
      applyTimeout: COPY_TIMEOUT,
      maxAttempts: o.maxAttempts,
    });
    this.eventsQueue = new sqs.Queue(this, 'EventsQueue', {
      queueName: names.eventsQueue,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // Six times the capture timeout, as Lambda recommends for SQS event sources.
      visibilityTimeout: Duration.seconds(CAPTURE_TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: this.queues.captureFailureQueue, maxReceiveCount: EVENTS_MAX_RECEIVE_COUNT },
    });
    this.sourceBucket = this.createOrImportSource(props);
    this.notifyEvents(pair);

    this.capture = new ReplicatorFunction(this, 'Capture', {
      functionName: names.captureFunction,
      entry: props.captureEntry ?? path.join(PROJECT_ROOT, 'functions', 's3-capture', 'handler.ts'),
      serviceName: 'replicator-s3-capture',
      memorySize: 512,
      timeout: CAPTURE_TIMEOUT,
      environment: {
        PAIR_NAME: pair.name,
        QUEUE_URL: this.queues.queue.queueUrl,
        ORIGIN_REGION: stack.region,
        SOURCE_BUCKET: pair.source.bucket,
        ...(pair.prefix !== undefined ? { PREFIX: pair.prefix } : {}),
        ...(pair.suffix !== undefined ? { SUFFIX: pair.suffix } : {}),
        ENVELOPES_PER_MESSAGE: String(o.envelopesPerMessage),
      },
    });
    this.capture.function.addEventSource(
      new SqsEventSource(this.eventsQueue, {
        batchSize: S3_CAPTURE_BATCH_SIZE,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
      }),
    );
    this.capture.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queues.queue.queueArn] }),
    );

    this.copyTargets = pair.targets.map((t) => ({
      id: targetId(t),
      region: t.region,
      bucket: t.bucket,
      ...(t.roleArn ? { roleArn: t.roleArn } : {}),
      ...(t.externalId ? { externalId: t.externalId } : {}),
      ...(t.storageClass ? { storageClass: t.storageClass } : {}),
    }));
    this.copy = new ReplicatorFunction(this, 'Copy', {
      functionName: names.copyFunction,
      entry: props.copyEntry ?? path.join(PROJECT_ROOT, 'functions', 'copy', 'handler.ts'),
      serviceName: 'replicator-copy',
      memorySize: 1024,
      timeout: COPY_TIMEOUT,
      environment: {
        PAIR_NAME: pair.name,
        QUEUE_URL: this.queues.queue.queueUrl,
        DLQ_URL: this.queues.deadLetterQueue.queueUrl,
        STATE_TABLE: this.stateTable.tableName,
        SOURCE_BUCKET: pair.source.bucket,
        SOURCE_REGION: stack.region,
        TARGETS: JSON.stringify(this.copyTargets),
        MAX_ATTEMPTS: String(o.maxAttempts),
        MULTIPART_THRESHOLD: String(o.multipartThresholdBytes),
        PART_SIZE: String(o.partSizeBytes),
        COPY_CONCURRENCY: String(o.copyConcurrency),
      },
    });
    this.copy.function.addEventSource(
      new SqsEventSource(this.queues.queue, {
        batchSize: o.applyBatchSize,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
        maxConcurrency: o.applyConcurrency,
      }),
    );
    this.grantCopy(pair, prefix);

    this.reconciler = props.reconcile ? this.createReconciler(pair, prefix, props.reconcile) : undefined;

    this.monitoring = new PairMonitoring(this, 'Monitoring', {
      pairName: pair.name,
      deadLetterQueue: this.queues.deadLetterQueue,
      captureFailureQueue: this.queues.captureFailureQueue,
      captureFunction: this.capture.function,
      applyFunction: this.copy.function,
      targets: pair.targets,
      ...(props.latencyP99Threshold ? { latencyP99Threshold: props.latencyP99Threshold } : {}),
      ...(props.alarmTopic ? { alarmTopic: props.alarmTopic } : {}),
      eventsQueue: this.eventsQueue,
      applyStepName: 'copy',
    });
    Tags.of(this).add(PAIR_TAG, pair.name);
  }

  /** The pair's scheduled reconciler: lists and HEADs under the prefix, repairs through the pair queue. */
  private createReconciler(pair: S3PairConfig, prefix: string, reconcile: ReconcileConfig): Reconciler {
    const reconciler = new Reconciler(this, 'Reconciler', {
      pairName: pair.name,
      reconcile,
      deleteExtra: pair.deleteExtra,
      targets: pair.targets,
      stateTable: this.stateTable,
      queue: this.queues.queue,
      entry: 's3-handler.ts',
      environment: {
        SOURCE_BUCKET: pair.source.bucket,
        TARGETS: JSON.stringify(this.copyTargets),
        ...(pair.prefix !== undefined ? { PREFIX: pair.prefix } : {}),
        ...(pair.suffix !== undefined ? { SUFFIX: pair.suffix } : {}),
      },
      readStatements: s3ReadStatements(this, pair.source.bucket, pair.targets, prefix),
    });
    acknowledgeObjectGrants(
      reconciler.function.role,
      [pair.source.bucket, ...pair.targets.map((t) => t.bucket)],
      prefix,
    );
    return reconciler;
  }

  private createOrImportSource(props: BucketPairProps): s3.IBucket {
    const { source } = props.pair;
    if (!source.create) return s3.Bucket.fromBucketName(this, 'SourceBucket', source.bucket);
    const versioned = typeof source.create === 'object' && source.create.versioned === true;
    const bucket = new s3.Bucket(
      this,
      'SourceBucket',
      replicatedBucketProps(source.bucket, { versioned, removalPolicy: props.sourceRemovalPolicy }),
    );
    const accessLogs = props.accessLogs ?? new AccessLogsBucket(this, 'AccessLogs');
    accessLogs.logsOf(bucket, `${source.bucket}/`);
    return bucket;
  }

  /** ObjectCreated:* and ObjectRemoved:* under the prefix/suffix into the events queue (Custom::S3BucketNotifications). */
  private notifyEvents({ prefix, suffix }: S3PairConfig): void {
    const filters: s3.NotificationKeyFilter[] =
      prefix !== undefined || suffix !== undefined
        ? [{ ...(prefix !== undefined ? { prefix } : {}), ...(suffix !== undefined ? { suffix } : {}) }]
        : [];
    const destination = new SqsDestination(this.eventsQueue);
    this.sourceBucket.addEventNotification(s3.EventType.OBJECT_CREATED, destination, ...filters);
    this.sourceBucket.addEventNotification(s3.EventType.OBJECT_REMOVED, destination, ...filters);
    // CDK adds its notifications handler once per stack, with the first bucket that gets a notification.
    const handler = Stack.of(this).node.tryFindChild(NOTIFICATIONS_HANDLER_ID);
    if (handler !== undefined && !acknowledgedHandlers.has(handler)) {
      acknowledgedHandlers.add(handler);
      Validations.of(handler).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          "CDK's own handler of Custom::S3BucketNotifications (one per stack, run only during deployments) gets this managed policy to write its logs; a custom role would need a wildcard log-group grant instead, as its function name is generated. Its S3 grant is scoped to each bucket by CDK.",
      });
    }
  }

  /**
   * Least privilege for copy: read the source's objects under the prefix, write the targets' objects under the
   * prefix, list the buckets (so a missing object is a 404, not a 403), assume the target roles, use the state
   * table, re-send and dead-letter; nothing else.
   */
  private grantCopy(pair: S3PairConfig, prefix: string): void {
    const stack = Stack.of(this);
    const role = this.copy.role;
    const targets: readonly S3TargetConfig[] = pair.targets;
    const prefixCondition = prefix === '' ? undefined : { StringLike: { 's3:prefix': `${prefix}*` } };
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadSourceObjects',
        actions: [...SOURCE_OBJECT_ACTIONS],
        resources: [objectsArn(stack, pair.source.bucket, prefix)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListSourcePrefix',
        actions: ['s3:ListBucket'],
        resources: [bucketArn(stack, pair.source.bucket)],
        ...(prefixCondition ? { conditions: prefixCondition } : {}),
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteTargetObjects',
        actions: [...TARGET_OBJECT_ACTIONS],
        resources: targets.map((t) => objectsArn(stack, t.bucket, prefix)),
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListTargetBuckets',
        actions: ['s3:ListBucket'],
        resources: targets.map((t) => bucketArn(stack, t.bucket)),
      }),
    );
    grantAssumeTargetRoles(role, targets);
    grantStateTable(role, this.stateTable);
    grantResendAndDeadLetter(role, this.queues);
    acknowledgeObjectGrants(role, [pair.source.bucket, ...targets.map((t) => t.bucket)], prefix);
  }
}
