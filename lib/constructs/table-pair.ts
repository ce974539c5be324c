/**
 * One DynamoDB pair in the source region: source table (created or imported), state table, queues,
 * capture and apply functions with their event sources and least-privilege grants, and alarms.
 */
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Tags, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import {
  type DynamoPairConfig,
  type DynamoTargetConfig,
  PAIR_DEFAULTS,
  RECONCILE_DEFAULTS,
  type ReconcileConfig,
  targetId,
} from '../config';
import { type PairAlarmOptions, PairMonitoring } from './monitoring';
import { keyAttribute, pairResourceNames } from './names';
import {
  CAPTURE_TIMEOUT,
  createStateTable,
  grantAssumeTargetRoles,
  grantResendAndDeadLetter,
  grantStateTable,
  PAIR_TAG,
  targetTableArn,
} from './pair-common';
import { PairQueue } from './pair-queue';
import { dynamoReadStatements, Reconciler } from './reconciler';
import { PROJECT_ROOT, ReplicatorFunction } from './replicator-function';

/** Timeout of the apply function; the pair queue's visibility timeout is six times this. */
export const APPLY_TIMEOUT = Duration.seconds(60);
/** One entry of the apply function's TARGETS variable. */
export interface ApplyTarget {
  /** `targetId(target)`, e.g. `eu-west-1/orders`. */
  readonly id: string;
  /** Region of the target table. */
  readonly region: string;
  /** Name of the target table. */
  readonly table: string;
  /** Role to assume for writes (cross-account targets). */
  readonly roleArn?: string;
  /** External id to pass when assuming roleArn. */
  readonly externalId?: string;
}

/** Props of a {@link TablePair}. */
export interface TablePairProps extends PairAlarmOptions {
  /** The validated pair (from `parseConfig`). */
  readonly pair: DynamoPairConfig;
  /**
   * Stream ARN of an imported source table (a NEW_AND_OLD_IMAGES stream).
   * @default - the pair's `source.streamArn`; an imported source without either fails
   */
  readonly sourceStreamArn?: string;
  /**
   * What happens to a created source table when it is removed from the stack.
   * @default - RemovalPolicy.RETAIN: the source table holds user data, so it outlives the stack
   */
  readonly sourceRemovalPolicy?: RemovalPolicy;
  /**
   * Entry file of the capture handler.
   * @default - functions/capture/handler.ts of this project
   */
  readonly captureEntry?: string;
  /**
   * Entry file of the apply handler.
   * @default - functions/apply/handler.ts of this project
   */
  readonly applyEntry?: string;
  /**
   * The deployment's reconcile settings; with them the pair gets a scheduled reconcile function.
   * @default - no scheduled reconciler (`replicator reconcile` still runs on demand)
   */
  readonly reconcile?: ReconcileConfig;
  /**
   * Entry file of the reconcile handler.
   * @default - functions/reconcile/handler.ts of this project
   */
  readonly reconcileEntry?: string;
}

/** Everything one DynamoDB pair needs in its source region. */
export class TablePair extends Construct {
  /** The source table (created here, or imported by name and stream ARN). */
  readonly sourceTable: dynamodb.ITable;
  /** The per-pair state table (tombstones and checkpoints; never in a target). */
  readonly stateTable: dynamodb.Table;
  /** The pair queue, its DLQ and the capture failure queue. */
  readonly queues: PairQueue;
  /** The capture function (stream → envelopes → pair queue). */
  readonly capture: ReplicatorFunction;
  /** The apply function (pair queue → target tables). */
  readonly apply: ReplicatorFunction;
  /** The pair's alarms. */
  readonly monitoring: PairMonitoring;
  /** Targets as the apply function sees them (its TARGETS variable). */
  readonly applyTargets: readonly ApplyTarget[];
  /** The scheduled reconciler; only when the config has `reconcile`. */
  readonly reconciler: Reconciler | undefined;

  constructor(scope: Construct, id: string, props: TablePairProps) {
    super(scope, id);
    const { pair } = props;
    const stack = Stack.of(this);
    const names = pairResourceNames(pair.name);
    const options = {
      captureBatchSize: pair.options?.captureBatchSize ?? PAIR_DEFAULTS.captureBatchSize,
      applyBatchSize: pair.options?.applyBatchSize ?? PAIR_DEFAULTS.applyBatchSize,
      maxAttempts: pair.options?.maxAttempts ?? PAIR_DEFAULTS.maxAttempts,
      envelopesPerMessage: pair.options?.envelopesPerMessage ?? PAIR_DEFAULTS.envelopesPerMessage,
      applyConcurrency: pair.options?.applyConcurrency ?? PAIR_DEFAULTS.applyConcurrency,
    };

    this.sourceTable = this.createOrImportSource(props);
    this.stateTable = createStateTable(this, pair.name);
    this.queues = new PairQueue(this, 'Queues', {
      pairName: pair.name,
      applyTimeout: APPLY_TIMEOUT,
      maxAttempts: options.maxAttempts,
    });

    this.capture = new ReplicatorFunction(this, 'Capture', {
      functionName: names.captureFunction,
      entry: props.captureEntry ?? path.join(PROJECT_ROOT, 'functions', 'capture', 'handler.ts'),
      serviceName: 'replicator-capture',
      memorySize: 512,
      timeout: CAPTURE_TIMEOUT,
      environment: {
        PAIR_NAME: pair.name,
        QUEUE_URL: this.queues.queue.queueUrl,
        ORIGIN_REGION: stack.region,
        ENVELOPES_PER_MESSAGE: String(options.envelopesPerMessage),
        ...(pair.filter ? { FILTER: JSON.stringify(pair.filter) } : {}),
      },
    });
    this.capture.function.addEventSource(
      new DynamoEventSource(this.sourceTable, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: options.captureBatchSize,
        maxBatchingWindow: Duration.seconds(1),
        bisectBatchOnError: true,
        retryAttempts: 10,
        maxRecordAge: Duration.days(1),
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.queues.captureFailureQueue),
        parallelizationFactor: 1,
      }),
    );
    this.capture.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queues.queue.queueArn] }),
    );
    Validations.of(this.capture.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'dynamodb:ListStreams, granted by DynamoEventSource for the stream mapping, supports no resource-level permissions; every other action is scoped to this pair.',
    });

    this.applyTargets = pair.targets.map((t) => ({
      id: targetId(t),
      region: t.region,
      table: t.table,
      ...(t.roleArn ? { roleArn: t.roleArn } : {}),
      ...(t.externalId ? { externalId: t.externalId } : {}),
    }));
    this.apply = new ReplicatorFunction(this, 'Apply', {
      functionName: names.applyFunction,
      entry: props.applyEntry ?? path.join(PROJECT_ROOT, 'functions', 'apply', 'handler.ts'),
      serviceName: 'replicator-apply',
      memorySize: 1024,
      timeout: APPLY_TIMEOUT,
      environment: {
        PAIR_NAME: pair.name,
        QUEUE_URL: this.queues.queue.queueUrl,
        DLQ_URL: this.queues.deadLetterQueue.queueUrl,
        STATE_TABLE: this.stateTable.tableName,
        SOURCE_TABLE: pair.source.table,
        SOURCE_REGION: stack.region,
        MAX_ATTEMPTS: String(options.maxAttempts),
        TARGETS: JSON.stringify(this.applyTargets),
        // Apply filters the images it fetches from the source (oversized items) the same way capture does.
        ...(pair.filter ? { FILTER: JSON.stringify(pair.filter) } : {}),
      },
    });
    this.apply.function.addEventSource(
      new SqsEventSource(this.queues.queue, {
        batchSize: options.applyBatchSize,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
        maxConcurrency: options.applyConcurrency,
      }),
    );
    this.grantApply(pair.targets);

    this.reconciler = props.reconcile
      ? new Reconciler(this, 'Reconciler', {
          pairName: pair.name,
          reconcile: props.reconcile,
          deleteExtra: pair.deleteExtra,
          targets: pair.targets,
          stateTable: this.stateTable,
          queue: this.queues.queue,
          entry: props.reconcileEntry ?? 'handler.ts',
          environment: {
            SOURCE_TABLE: pair.source.table,
            TARGETS: JSON.stringify(this.applyTargets),
            SEGMENTS: String(props.reconcile.segments ?? RECONCILE_DEFAULTS.segments),
            ...(pair.filter ? { FILTER: JSON.stringify(pair.filter) } : {}),
          },
          readStatements: dynamoReadStatements(this, this.sourceTable, pair.targets),
        })
      : undefined;

    this.monitoring = new PairMonitoring(this, 'Monitoring', {
      pairName: pair.name,
      deadLetterQueue: this.queues.deadLetterQueue,
      captureFailureQueue: this.queues.captureFailureQueue,
      captureFunction: this.capture.function,
      applyFunction: this.apply.function,
      targets: pair.targets,
      ...(props.latencyP99Threshold ? { latencyP99Threshold: props.latencyP99Threshold } : {}),
      ...(props.alarmTopic ? { alarmTopic: props.alarmTopic } : {}),
    });
    Tags.of(this).add(PAIR_TAG, pair.name);
  }

  private createOrImportSource(props: TablePairProps): dynamodb.ITable {
    const { source } = props.pair;
    if (source.create) {
      return new dynamodb.Table(this, 'SourceTable', {
        tableName: source.table,
        partitionKey: keyAttribute(source.create.partitionKey),
        ...(source.create.sortKey ? { sortKey: keyAttribute(source.create.sortKey) } : {}),
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        removalPolicy: props.sourceRemovalPolicy ?? RemovalPolicy.RETAIN,
      });
    }
    const tableStreamArn = props.sourceStreamArn ?? source.streamArn;
    if (!tableStreamArn) {
      throw new Error(
        `Pair "${props.pair.name}": the imported source table "${source.table}" needs a stream ARN (given none); ` +
          'give source.streamArn, or build the app with buildApp(), which looks the stream up with DescribeTable',
      );
    }
    return dynamodb.Table.fromTableAttributes(this, 'SourceTable', { tableName: source.table, tableStreamArn });
  }

  /** Least privilege for apply: this pair's targets, state table, source table and queues, nothing else. */
  private grantApply(targets: readonly DynamoTargetConfig[]): void {
    const stack = Stack.of(this);
    const role = this.apply.role;
    const targetArns = targets.map((t) => targetTableArn(stack, t));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteTargets',
        actions: [
          'dynamodb:PutItem',
          'dynamodb:DeleteItem',
          'dynamodb:GetItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:UpdateItem',
        ],
        resources: targetArns,
      }),
    );
    grantAssumeTargetRoles(role, targets);
    grantStateTable(role, this.stateTable);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadSource',
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
        resources: [this.sourceTable.tableArn],
      }),
    );
    grantResendAndDeadLetter(role, this.queues);
  }
}
