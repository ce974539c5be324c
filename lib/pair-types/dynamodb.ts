/**
 * The DynamoDB pair type, stacks side: its handlers ({@link DYNAMODB_HANDLERS}), its source-region construct
 * ({@link TablePair}: source table, stream capture, apply, reconcile reads), its created target resource
 * ({@link TargetTable}) and its registry entry ({@link DYNAMODB_PAIR_TYPE}). The config side is
 * `dynamodb-schema.ts`; what every type shares is in lib/constructs/.
 */
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Tags, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { ENV, type TableTargetEnv } from '../../functions/contract';
import { RECONCILE_DEFAULTS } from '../config';
import type { Backfiller } from '../constructs/backfiller';
import type { PairMonitoring } from '../constructs/monitoring';
import { keyAttribute } from '../constructs/names';
import {
  addStatements,
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
import {
  type DynamoPairConfig,
  type DynamoTargetConfig,
  dynamoPairOptions,
  type KeySchemaConfig,
  tableTargetsEnv,
  targetKeySchema,
} from './dynamodb-schema';
import type { PairTypeModule } from './pair-type';

/** Entry files of the DynamoDB handlers: the one place that names them (props may point elsewhere). */
export const DYNAMODB_HANDLERS = {
  /** Stream records → envelopes → pair queue. */
  capture: path.join(PROJECT_ROOT, 'functions', 'dynamodb', 'capture-handler.ts'),
  /** Pair queue → target tables. */
  apply: path.join(PROJECT_ROOT, 'functions', 'dynamodb', 'apply-handler.ts'),
  /** Scheduled compare of the source and target tables. */
  reconcile: path.join(PROJECT_ROOT, 'functions', 'dynamodb', 'reconcile-handler.ts'),
  backfill: path.join(PROJECT_ROOT, 'functions', 'dynamodb', 'backfill-handler.ts'),
} as const;

/** Timeout of the apply function; the pair queue's visibility timeout is six times this. */
export const APPLY_TIMEOUT = Duration.seconds(60);

/** Read actions the reconciler needs on the source and on every target table. */
const TABLE_READ_ACTIONS = ['dynamodb:Scan', 'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:DescribeTable'];

/** ARN of a DynamoDB target table, in the target's region and account (the stack's account when it has none). */
export function targetTableArn(stack: Stack, target: DynamoTargetConfig): string {
  return stack.formatArn({
    service: 'dynamodb',
    region: target.region,
    account: target.account ?? stack.account,
    resource: 'table',
    resourceName: target.table,
  });
}

/** Least privilege for a DynamoDB pair's reconciler: reads of its source table and of each target table. */
export function dynamoReadStatements(
  scope: Construct,
  sourceTable: dynamodb.ITable,
  targets: readonly DynamoTargetConfig[],
  sourceKmsKeyArn?: string,
): iam.PolicyStatement[] {
  const stack = Stack.of(scope);
  const direct = directTargets(targets);
  const keys = kmsStatement([sourceKmsKeyArn, ...direct.map((t) => t.kmsKeyArn)], KMS_READ_ACTIONS, 'dynamodb', [
    stack.region,
    ...direct.map((t) => t.region),
  ]);
  return [
    ...(keys ? [keys] : []),
    new iam.PolicyStatement({ sid: 'ReadSource', actions: TABLE_READ_ACTIONS, resources: [sourceTable.tableArn] }),
    ...(direct.length > 0
      ? [
          new iam.PolicyStatement({
            sid: 'ReadTargets',
            actions: TABLE_READ_ACTIONS,
            resources: direct.map((t) => targetTableArn(stack, t)),
          }),
        ]
      : []),
  ];
}

/** Props of a {@link TablePair}. */
export interface TablePairProps extends ReplicationPairProps {
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
   * Entry file of the apply handler.
   * @default - DYNAMODB_HANDLERS.apply (functions/dynamodb/apply-handler.ts of this project)
   */
  readonly applyEntry?: string;
}

/** Everything one DynamoDB pair needs in its source region. */
export class TablePair extends ReplicationPair {
  /** The source table (created here, or imported by name and stream ARN). */
  readonly sourceTable: dynamodb.ITable;
  /** The capture function (stream → envelopes → pair queue). */
  override readonly capture: ReplicatorFunction;
  /** The apply function (pair queue → target tables). */
  readonly apply: ReplicatorFunction;
  /** The pair's alarms. */
  override readonly monitoring: PairMonitoring;
  /** Targets as the apply and reconcile functions see them (their TARGETS variable). */
  readonly applyTargets: readonly TableTargetEnv[];
  /** The scheduled reconciler; only when the config has `reconcile`. */
  override readonly reconciler: Reconciler | undefined;
  /** The deployed backfill job. */
  override readonly backfiller: Backfiller;

  constructor(scope: Construct, id: string, props: TablePairProps) {
    const { pair } = props;
    const options = dynamoPairOptions(pair);
    super(scope, id, { pairName: pair.name, applyTimeout: APPLY_TIMEOUT, options });
    // Capture drops the filtered attributes; apply filters the images it fetches from the source (oversized
    // items) the same way, and reconcile compares what is left.
    const filter = pair.filter ? JSON.stringify(pair.filter) : undefined;

    this.sourceTable = this.createOrImportSource(props);
    this.capture = this.createCapture({
      entry: props.captureEntry ?? DYNAMODB_HANDLERS.capture,
      serviceName: 'replicator-capture',
      environment: { [ENV.FILTER]: filter },
      eventSource: new DynamoEventSource(this.sourceTable, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: options.captureBatchSize,
        maxBatchingWindow: Duration.seconds(options.batchWindowSeconds),
        bisectBatchOnError: true,
        retryAttempts: 10,
        maxRecordAge: Duration.days(1),
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.queues.captureFailureQueue),
        parallelizationFactor: 1,
      }),
    });
    // The stream mapping reads the records with the function's role; under a customer managed key, that decrypts.
    addStatements(
      this.capture.role,
      kmsStatement([pair.source.kmsKeyArn], KMS_READ_ACTIONS, 'dynamodb', [Stack.of(this).region]),
    );
    Validations.of(this.capture.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'dynamodb:ListStreams, granted by DynamoEventSource for the stream mapping, supports no resource-level permissions; every other action is scoped to this pair.',
    });

    this.applyTargets = tableTargetsEnv(pair);
    this.apply = this.createApplier('Apply', {
      functionName: this.names.applyFunction,
      entry: props.applyEntry ?? DYNAMODB_HANDLERS.apply,
      serviceName: 'replicator-apply',
      targets: this.applyTargets,
      environment: { [ENV.SOURCE_TABLE]: pair.source.table, [ENV.FILTER]: filter },
    });
    this.grantApply(pair.targets, pair.source.kmsKeyArn);

    this.reconciler = props.reconcile
      ? this.createReconciler({
          reconcile: props.reconcile,
          entry: props.reconcileEntry ?? DYNAMODB_HANDLERS.reconcile,
          deleteExtra: pair.deleteExtra,
          targets: this.applyTargets,
          environment: {
            [ENV.SOURCE_TABLE]: pair.source.table,
            [ENV.SEGMENTS]: String(props.reconcile.segments ?? RECONCILE_DEFAULTS.segments),
            [ENV.FILTER]: filter,
          },
          readStatements: dynamoReadStatements(this, this.sourceTable, pair.targets, pair.source.kmsKeyArn),
        })
      : undefined;

    this.backfiller = this.createBackfiller({
      ...(props.backfill ? { backfill: props.backfill } : {}),
      entry: DYNAMODB_HANDLERS.backfill,
      targets: this.applyTargets,
      environment: {
        [ENV.SOURCE_TABLE]: pair.source.table,
        [ENV.FILTER]: filter,
      },
      readStatements: dynamoReadStatements(this, this.sourceTable, pair.targets, pair.source.kmsKeyArn),
    });

    this.monitoring = this.createMonitoring({
      capture: this.capture,
      applier: this.apply,
      targets: this.applyTargets.map((t) => t.id),
      latencyP99Threshold: props.latencyP99Threshold,
      alarmTopic: props.alarmTopic,
    });
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
  private grantApply(targets: readonly DynamoTargetConfig[], sourceKmsKeyArn: string | undefined): void {
    const stack = Stack.of(this);
    const role = this.apply.role;
    // Conditional PutItem and DeleteItem are all apply does on a target (functions/dynamodb/store.ts).
    const direct = directTargets(targets);
    if (direct.length > 0) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'WriteTargets',
          actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
          resources: direct.map((t) => targetTableArn(stack, t)),
        }),
      );
    }
    addStatements(
      role,
      targetKeysStatement(direct, KMS_WRITE_ACTIONS, 'dynamodb'),
      // Apply reads the source's item when an image was too large for SQS.
      kmsStatement([sourceKmsKeyArn], KMS_READ_ACTIONS, 'dynamodb', [stack.region]),
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

/** Props of a {@link TargetTable}. */
export interface TargetTableProps {
  /** Name of the pair the table belongs to (tagged `replicator:pair`). */
  readonly pairName: string;
  /** Physical table name. */
  readonly tableName: string;
  /** Key schema (`targetKeySchema(pair, target)`). */
  readonly keySchema: KeySchemaConfig;
  /**
   * What happens to the table when it is removed from the stack.
   * @default - RemovalPolicy.RETAIN: a target holds a copy of user data that may be the only one left after a source-region loss
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** A target table that Replicator creates in a target region: on demand, with point-in-time recovery, no stream. */
export class TargetTable extends Construct {
  /** The table. */
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: TargetTableProps) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      tableName: props.tableName,
      partitionKey: keyAttribute(props.keySchema.partitionKey),
      ...(props.keySchema.sortKey ? { sortKey: keyAttribute(props.keySchema.sortKey) } : {}),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    Tags.of(this).add(PAIR_TAG, props.pairName);
  }
}

/** The DynamoDB pair type's entry in the registry (`registry.ts`). */
export const DYNAMODB_PAIR_TYPE = {
  handlers: DYNAMODB_HANDLERS,
  buildPair: (scope, id, pair, context) => {
    const sourceStreamArn = context.sourceStreamArns?.[pair.name];
    return new TablePair(scope, id, {
      pair,
      alarmTopic: context.alarmTopic,
      latencyP99Threshold: context.latencyP99Threshold,
      reconcile: context.reconcile,
      ...(context.backfill ? { backfill: context.backfill } : {}),
      ...(sourceStreamArn ? { sourceStreamArn } : {}),
    });
  },
  buildTarget: (scope, id, pair, target) => {
    const keySchema = targetKeySchema(pair, target);
    if (!keySchema) {
      // parseConfig rejects `create: true` with an imported source, so this is a programming error.
      throw new Error(`Pair "${pair.name}": target "${target.table}" has no key schema to create it with`);
    }
    return new TargetTable(scope, id, { pairName: pair.name, tableName: target.table, keySchema });
  },
  targetRole: {
    applier: 'applyFunction',
    // Conditional PutItem and DeleteItem (apply), and reconcile's reads, on the target table alone.
    statements: (scope, _pair, target) =>
      definedStatements(
        new iam.PolicyStatement({
          actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem', ...TABLE_READ_ACTIONS],
          resources: [targetTableArn(Stack.of(scope), target)],
        }),
        targetKeysStatement([target], KMS_WRITE_ACTIONS, 'dynamodb'),
      ),
  },
} satisfies PairTypeModule<DynamoPairConfig>;
