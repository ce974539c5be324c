/**
 * The S3 pair type, stacks side: its handlers ({@link S3_HANDLERS}), its source-region construct
 * ({@link BucketPair}: source bucket with ObjectCreated/ObjectRemoved notifications into an events queue,
 * capture, copy with least-privilege grants scoped to the prefix, reconcile reads), its created target
 * resource ({@link TargetBucket}) and its registry entry ({@link S3_PAIR_TYPE}). The config side is
 * `s3-schema.ts`; what every type shares is in lib/constructs/.
 */
import * as path from 'node:path';
import { Annotations, Duration, RemovalPolicy, Stack, Tags, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { SqsDestination } from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { type BucketTargetEnv, ENV, type FunctionEnvironment } from '../../functions/contract';
import type { ReconcileConfig } from '../config';
import { AccessLogsBucket } from '../constructs/access-logs-bucket';
import type { Backfiller } from '../constructs/backfiller';
import type { PairMonitoring } from '../constructs/monitoring';
import {
  addStatements,
  CAPTURE_TIMEOUT,
  definedStatements,
  directTargets,
  grantAssumeTargetRoles,
  grantResendAndDeadLetter,
  grantStateTable,
  KMS_READ_ACTIONS,
  KMS_WRITE_ACTIONS,
  kmsStatement,
  PAIR_TAG,
  targetKeysStatement,
} from '../constructs/pair-common';
import type { Reconciler } from '../constructs/reconciler';
import { ReplicationPair, type ReplicationPairProps } from '../constructs/replication-pair';
import { PROJECT_ROOT, type ReplicatorFunction } from '../constructs/replicator-function';
import type { PairTypeModule } from './pair-type';
import { bucketTargetsEnv, type S3PairConfig, type S3TargetConfig, s3PairOptions, sourceVersioned } from './s3-schema';

/** Entry files of the S3 handlers: the one place that names them (props may point elsewhere). */
export const S3_HANDLERS = {
  /** S3 events → envelopes → pair queue. */
  capture: path.join(PROJECT_ROOT, 'functions', 's3', 'capture-handler.ts'),
  /** Pair queue → target buckets. */
  copy: path.join(PROJECT_ROOT, 'functions', 's3', 'copy-handler.ts'),
  /** Scheduled compare of the source and target buckets under the prefix. */
  reconcile: path.join(PROJECT_ROOT, 'functions', 's3', 'reconcile-handler.ts'),
  backfill: path.join(PROJECT_ROOT, 'functions', 's3', 'backfill-handler.ts'),
} as const;

/** Timeout of the copy function (Lambda's maximum: a multipart copy of tens of GB takes minutes); the pair queue's visibility timeout is six times this. */
export const COPY_TIMEOUT = Duration.seconds(900);

/**
 * S3 event messages per capture invocation. More than SQS's 10 per receive, so capture can pack up to
 * `envelopesPerMessage` envelopes into each message it sends; the price is a batching window of at least 1 s.
 */
export const S3_CAPTURE_BATCH_SIZE = 100;

/** The shortest batching window Lambda accepts on an SQS mapping whose batch is above 10. */
export const SQS_LARGE_BATCH_MIN_WINDOW_SECONDS = 1;

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
] as const;

/**
 * S3 actions a target's role needs on the source's objects: CopyObject and UploadPartCopy run as the role of
 * the target they write, so in another account that role must be allowed to read the copy source. Tags are
 * not among them: copies to such targets carry the tags the copy function read itself (TaggingDirective
 * REPLACE).
 */
export const TARGET_ROLE_SOURCE_ACTIONS = ['s3:GetObject', 's3:GetObjectVersion'] as const;

/** S3 actions the copy function may take on each target's objects under the prefix. */
export const TARGET_OBJECT_ACTIONS = [
  's3:PutObject',
  's3:PutObjectTagging',
  's3:GetObject',
  's3:DeleteObject',
  's3:AbortMultipartUpload',
] as const;

/** The object ARN pattern `arn:<partition>:s3:::<bucket>/<prefix>*`. */
export function objectsArn(stack: Stack, bucket: string, prefix: string): string {
  return stack.formatArn({ service: 's3', region: '', account: '', resource: bucket, resourceName: `${prefix}*` });
}

/** The bucket ARN `arn:<partition>:s3:::<bucket>`. */
export function bucketArn(stack: Stack, bucket: string): string {
  return stack.formatArn({ service: 's3', region: '', account: '', resource: bucket });
}

/**
 * Acknowledges, on `role`, its object-level S3 grants under the pair's prefix: objects are not known at
 * deploy time, so each bucket's is acknowledged on its own (the prefix is the narrowest scope the config allows).
 */
export function acknowledgeObjectGrants(role: IConstruct, buckets: readonly string[], prefix: string): void {
  for (const bucket of buckets) {
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${bucket}/${prefix}*]`,
      reason: `Object-level S3 actions on the objects of bucket ${bucket} under the pair's prefix "${prefix}": object keys are not known at deploy time.`,
    });
  }
}

/**
 * Least privilege for an S3 pair's reconciler: list the source and target buckets under the prefix and
 * HEAD their objects there (s3:GetObject), nothing else. The object-level grant needs a key pattern: see
 * {@link acknowledgeObjectGrants}.
 */
export function s3ReadStatements(
  scope: Construct,
  sourceBucket: string,
  targets: readonly S3TargetConfig[],
  prefix: string,
): iam.PolicyStatement[] {
  const stack = Stack.of(scope);
  const buckets = [sourceBucket, ...directTargets(targets).map((t) => t.bucket)];
  const prefixCondition = listPrefixCondition(prefix);
  return [
    new iam.PolicyStatement({
      sid: 'ListPrefix',
      actions: ['s3:ListBucket'],
      resources: buckets.map((b) => bucketArn(stack, b)),
      ...(prefixCondition ? { conditions: prefixCondition } : {}),
    }),
    new iam.PolicyStatement({
      sid: 'ReadObjects',
      actions: ['s3:GetObject'],
      resources: buckets.map((b) => objectsArn(stack, b, prefix)),
    }),
  ];
}

/**
 * The condition of an s3:ListBucket grant under the pair's prefix: a listing must ask for keys under it. `IfExists`,
 * because S3 also checks s3:ListBucket when a HEAD finds no object (it answers 404 to a caller that may list the
 * bucket, 403 to others), and that check carries no s3:prefix: a plain StringLike would turn every HEAD of a key
 * not there yet (each new object's target, a source object deleted before its copy) into a 403, which is retried
 * as transient until retryFor runs out.
 */
export function listPrefixCondition(prefix: string): Record<string, Record<string, string>> | undefined {
  return prefix === '' ? undefined : { StringLikeIfExists: { 's3:prefix': `${prefix}*` } };
}

/**
 * What copy does on target buckets, under the pair's prefix: write, HEAD and delete the objects, and list the
 * prefix (so a missing object is a 404, not a 403). Granted to the copy function for its own targets, and to a
 * target account's role for its target. `sids` name the two statements where the policy has others.
 */
function targetBucketStatements(
  stack: Stack,
  targets: readonly { readonly bucket: string }[],
  prefix: string,
  sids?: { readonly objects: string; readonly list: string },
): iam.PolicyStatement[] {
  const prefixCondition = listPrefixCondition(prefix);
  return [
    new iam.PolicyStatement({
      ...(sids ? { sid: sids.objects } : {}),
      actions: [...TARGET_OBJECT_ACTIONS],
      resources: targets.map((t) => objectsArn(stack, t.bucket, prefix)),
    }),
    new iam.PolicyStatement({
      ...(sids ? { sid: sids.list } : {}),
      actions: ['s3:ListBucket'],
      resources: targets.map((t) => bucketArn(stack, t.bucket)),
      ...(prefixCondition ? { conditions: prefixCondition } : {}),
    }),
  ];
}

/** The source bucket and the key filters, as capture and reconcile read them. */
function sourceEnvironment(pair: S3PairConfig): FunctionEnvironment {
  return { [ENV.SOURCE_BUCKET]: pair.source.bucket, [ENV.PREFIX]: pair.prefix, [ENV.SUFFIX]: pair.suffix };
}

/**
 * Props of every bucket Replicator creates (sources and targets): block all public access, SSE-S3, object
 * ownership enforced (no ACLs), a TLS-only bucket policy, retained by default.
 */
export function replicatedBucketProps(
  bucketName: string,
  options: { readonly versioned?: boolean; readonly removalPolicy?: RemovalPolicy },
): s3.BucketProps {
  return {
    bucketName,
    versioned: options.versioned ?? false,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    removalPolicy: options.removalPolicy ?? RemovalPolicy.RETAIN,
  };
}

/** Props of a {@link BucketPair}. */
export interface BucketPairProps extends ReplicationPairProps {
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
   * Entry file of the copy handler.
   * @default - S3_HANDLERS.copy (functions/s3/copy-handler.ts of this project)
   */
  readonly copyEntry?: string;
}

/** Everything one S3 pair needs in its source region. */
export class BucketPair extends ReplicationPair {
  /** The source bucket (created here, or imported by name). */
  readonly sourceBucket: s3.IBucket;
  /** Queue of the source bucket's ObjectCreated/ObjectRemoved notifications (`replicator-<pair>-events`). */
  readonly eventsQueue: sqs.Queue;
  /** The capture function (S3 events → envelopes → pair queue). */
  override readonly capture: ReplicatorFunction;
  /** The copy function (pair queue → target buckets). */
  readonly copy: ReplicatorFunction;
  /** The pair's alarms. */
  override readonly monitoring: PairMonitoring;
  /** Targets as the copy and reconcile functions see them (their TARGETS variable). */
  readonly copyTargets: readonly BucketTargetEnv[];
  /** The scheduled reconciler; only when the config has `reconcile`. */
  override readonly reconciler: Reconciler | undefined;
  /** The deployed backfill job. */
  override readonly backfiller: Backfiller;

  constructor(scope: Construct, id: string, props: BucketPairProps) {
    const { pair } = props;
    const options = s3PairOptions(pair);
    super(scope, id, { pairName: pair.name, applyTimeout: COPY_TIMEOUT, options });
    const prefix = pair.prefix ?? '';

    this.eventsQueue = new sqs.Queue(this, 'EventsQueue', {
      queueName: this.names.eventsQueue,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // Six times the capture timeout, as Lambda recommends for SQS event sources.
      visibilityTimeout: Duration.seconds(CAPTURE_TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: this.queues.captureFailureQueue, maxReceiveCount: EVENTS_MAX_RECEIVE_COUNT },
    });
    this.sourceBucket = this.createOrImportSource(props);
    this.letTargetRolesReadSource(pair, prefix);
    this.notifyEvents(pair);

    this.capture = this.createCapture({
      entry: props.captureEntry ?? S3_HANDLERS.capture,
      serviceName: 'replicator-s3-capture',
      environment: sourceEnvironment(pair),
      eventSource: new SqsEventSource(this.eventsQueue, {
        batchSize: S3_CAPTURE_BATCH_SIZE,
        // At least 1 s whatever batchWindowSeconds says: Lambda refuses a standard queue's mapping with a batch
        // above 10 and no window (moto does not; the local runtime refuses it as Lambda does).
        maxBatchingWindow: Duration.seconds(Math.max(options.batchWindowSeconds, SQS_LARGE_BATCH_MIN_WINDOW_SECONDS)),
        reportBatchItemFailures: true,
      }),
    });

    this.copyTargets = bucketTargetsEnv(pair);
    this.copy = this.createApplier('Copy', {
      functionName: this.names.copyFunction,
      entry: props.copyEntry ?? S3_HANDLERS.copy,
      serviceName: 'replicator-copy',
      targets: this.copyTargets,
      environment: {
        [ENV.SOURCE_BUCKET]: pair.source.bucket,
        [ENV.MULTIPART_THRESHOLD]: String(options.multipartThresholdBytes),
        [ENV.PART_SIZE]: String(options.partSizeBytes),
        [ENV.COPY_CONCURRENCY]: String(options.copyConcurrency),
      },
    });
    this.grantCopy(pair, prefix);

    this.reconciler = props.reconcile
      ? this.createS3Reconciler(pair, prefix, props.reconcile, props.reconcileEntry ?? S3_HANDLERS.reconcile)
      : undefined;

    this.backfiller = this.createBackfiller({
      ...(props.backfill ? { backfill: props.backfill } : {}),
      entry: S3_HANDLERS.backfill,
      targets: this.copyTargets,
      environment: sourceEnvironment(pair),
      readStatements: s3ReadStatements(this, pair.source.bucket, pair.targets, prefix),
    });
    acknowledgeObjectGrants(
      this.backfiller.function.role,
      [pair.source.bucket, ...directTargets(pair.targets).map((t) => t.bucket)],
      prefix,
    );

    this.monitoring = this.createMonitoring({
      capture: this.capture,
      applier: this.copy,
      targets: this.copyTargets.map((t) => t.id),
      latencyP99Threshold: props.latencyP99Threshold,
      alarmTopic: props.alarmTopic,
      eventsQueue: this.eventsQueue,
      applyStepName: 'copy',
    });
  }

  /** The pair's scheduled reconciler: lists and HEADs under the prefix, repairs through the pair queue. */
  private createS3Reconciler(
    pair: S3PairConfig,
    prefix: string,
    reconcile: ReconcileConfig,
    entry: string,
  ): Reconciler {
    const reconciler = this.createReconciler({
      reconcile,
      entry,
      deleteExtra: pair.deleteExtra,
      targets: this.copyTargets,
      environment: sourceEnvironment(pair),
      readStatements: s3ReadStatements(this, pair.source.bucket, pair.targets, prefix),
    });
    acknowledgeObjectGrants(
      reconciler.function.role,
      [pair.source.bucket, ...directTargets(pair.targets).map((t) => t.bucket)],
      prefix,
    );
    return reconciler;
  }

  private createOrImportSource(props: BucketPairProps): s3.IBucket {
    const { source } = props.pair;
    if (!source.create) return s3.Bucket.fromBucketName(this, 'SourceBucket', source.bucket);
    const bucket = new s3.Bucket(
      this,
      'SourceBucket',
      replicatedBucketProps(source.bucket, {
        versioned: sourceVersioned(props.pair),
        removalPolicy: props.sourceRemovalPolicy,
      }),
    );
    const accessLogs = props.accessLogs ?? new AccessLogsBucket(this, 'AccessLogs');
    accessLogs.logsOf(bucket, `${source.bucket}/`);
    return bucket;
  }

  /**
   * Lets the role of every target that has one (a target in another account) read the source's objects under
   * the prefix, as its copies need: in the created source bucket's policy, or, for an imported bucket, as a
   * synth warning with the statement to add to its policy.
   */
  private letTargetRolesReadSource(pair: S3PairConfig, prefix: string): void {
    const roles = [...new Set(pair.targets.flatMap((t) => (t.roleArn ? [t.roleArn] : [])))];
    if (roles.length === 0) return;
    const statement = new iam.PolicyStatement({
      sid: 'TargetRolesReadSource',
      principals: roles.map((r) => new iam.ArnPrincipal(r)),
      actions: [...TARGET_ROLE_SOURCE_ACTIONS],
      resources: [objectsArn(Stack.of(this), pair.source.bucket, prefix)],
    });
    if (pair.source.kmsKeyArn !== undefined) {
      const keyStatement = JSON.stringify({
        Sid: 'ReplicatorTargetRolesDecrypt',
        Effect: 'Allow',
        Principal: { AWS: roles },
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringLike: { 'kms:ViaService': 's3.*.amazonaws.com' } },
      });
      Annotations.of(this).addWarningV2(
        'replicator:source-key-cross-account',
        `pair ${pair.name}: copies to targets in other accounts read the source's objects as the target role(s), so the key policy of ${pair.source.kmsKeyArn} must let them decrypt, or every such copy fails with AccessDenied; add to it: ${keyStatement}`,
      );
    }
    if (pair.source.create) {
      this.sourceBucket.addToResourcePolicy(statement);
      return;
    }
    const text = JSON.stringify({
      Sid: 'TargetRolesReadSource',
      Effect: 'Allow',
      Principal: { AWS: roles },
      Action: [...TARGET_ROLE_SOURCE_ACTIONS],
      Resource: `arn:aws:s3:::${pair.source.bucket}/${prefix}*`,
    });
    Annotations.of(this).addWarningV2(
      'replicator:imported-source-cross-account',
      `pair ${pair.name}: the imported source bucket ${pair.source.bucket} must let the target role(s) read it, or every copy to them fails with AccessDenied; add to its bucket policy: ${text}`,
    );
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
    // CDK's grant to S3 names the bucket (aws:SourceArn) but not its owner: a bucket of the same name in another
    // account could send here (the confused deputy). Only this account's buckets may.
    this.eventsQueue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyThisAccountsBuckets',
        effect: iam.Effect.DENY,
        principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.eventsQueue.queueArn],
        conditions: { StringNotEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
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
    const prefixCondition = listPrefixCondition(prefix);
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
    const direct = directTargets(targets);
    if (direct.length > 0) {
      const sids = { objects: 'WriteTargetObjects', list: 'ListTargetBuckets' };
      addStatements(role, ...targetBucketStatements(stack, direct, prefix, sids));
    }
    addStatements(
      role,
      // Copies are sent to each target's region; S3 there reads the source's objects.
      kmsStatement([pair.source.kmsKeyArn], KMS_READ_ACTIONS, 's3', [stack.region, ...targets.map((t) => t.region)]),
      targetKeysStatement(direct, KMS_WRITE_ACTIONS, 's3'),
    );
    grantAssumeTargetRoles(role, targets);
    grantStateTable(role, this.stateTable);
    grantResendAndDeadLetter(role, this.queues);
    acknowledgeObjectGrants(role, [pair.source.bucket, ...direct.map((t) => t.bucket)], prefix);
  }
}

/** Props of a {@link TargetBucket}. */
export interface TargetBucketProps {
  /** Name of the pair the bucket belongs to (tagged `replicator:pair`). */
  readonly pairName: string;
  /** Physical bucket name. */
  readonly bucketName: string;
  /** Where the bucket's server access logs go (under `<bucketName>/`); in the same region. */
  readonly accessLogs: AccessLogsBucket;
  /**
   * Keep every version of every object (deletes then leave delete markers).
   * @default - false; the target stack passes true when the source is created versioned
   */
  readonly versioned?: boolean;
  /**
   * What happens to the bucket when it is removed from the stack.
   * @default - RemovalPolicy.RETAIN: a target holds a copy of user data that may be the only one left after a source-region loss
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** A target bucket that Replicator creates in a target region: private, SSE-S3, TLS-only, with server access logs. */
export class TargetBucket extends Construct {
  /** The bucket. */
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: TargetBucketProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', replicatedBucketProps(props.bucketName, props));
    props.accessLogs.logsOf(this.bucket, `${props.bucketName}/`);
    Tags.of(this).add(PAIR_TAG, props.pairName);
  }
}

/** The S3 pair type's entry in the registry (`registry.ts`). */
export const S3_PAIR_TYPE = {
  handlers: S3_HANDLERS,
  buildPair: (scope, id, pair, context) =>
    new BucketPair(scope, id, {
      pair,
      // The stack's one access-log bucket serves every source bucket the stack creates.
      accessLogs: pair.source.create ? context.accessLogs() : undefined,
      alarmTopic: context.alarmTopic,
      latencyP99Threshold: context.latencyP99Threshold,
      reconcile: context.reconcile,
      ...(context.backfill ? { backfill: context.backfill } : {}),
    }),
  buildTarget: (scope, id, pair, target, context) =>
    new TargetBucket(scope, id, {
      pairName: pair.name,
      bucketName: target.bucket,
      versioned: sourceVersioned(pair),
      accessLogs: context.accessLogs(),
    }),
  targetRole: {
    applier: 'copyFunction',
    // Copy writes and HEADs the target's objects under the prefix and lists them; CopyObject and UploadPartCopy
    // read the copy source as this role (the source bucket's policy must allow it too: TargetRolesReadSource).
    statements: (scope, pair, target) => {
      const stack = Stack.of(scope);
      const prefix = pair.prefix ?? '';
      acknowledgeObjectGrants(scope, [target.bucket, pair.source.bucket], prefix);
      return definedStatements(
        ...targetBucketStatements(stack, [target], prefix),
        new iam.PolicyStatement({
          actions: [...TARGET_ROLE_SOURCE_ACTIONS],
          resources: [objectsArn(stack, pair.source.bucket, prefix)],
        }),
        targetKeysStatement([target], KMS_WRITE_ACTIONS, 's3'),
        // The copy source's key is the source account's: its key policy must let this role decrypt too.
        kmsStatement([pair.source.kmsKeyArn], KMS_READ_ACTIONS, 's3', [target.region]),
      );
    },
  },
} satisfies PairTypeModule<S3PairConfig>;
