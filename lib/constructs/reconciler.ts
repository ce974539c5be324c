/**
 * The scheduled reconciler of one pair (either type): the `replicator-<pair>-reconcile` function, an
 * EventBridge rule that invokes it on the config's schedule, and the grants every reconciler needs (its
 * state table, the pair queue for repairs, the targets' roles). Reads of the source and targets depend on
 * the pair type: {@link dynamoReadStatements} and {@link s3ReadStatements}, added by the pair.
 * Metrics go out as EMF log lines, so no CloudWatch permission is needed.
 */
import * as path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type DynamoTargetConfig, RECONCILE_DEFAULTS, type ReconcileConfig, type S3TargetConfig } from '../config';
import { pairResourceNames } from './names';
import { bucketArn, grantAssumeTargetRoles, grantStateTable, objectsArn, targetTableArn } from './pair-common';
import { PROJECT_ROOT, ReplicatorFunction } from './replicator-function';

/** Timeout of the reconcile function: Lambda's maximum, since a run uses all the time it gets. */
export const RECONCILE_TIMEOUT = Duration.seconds(900);

/** Read actions the reconciler needs on the source and on every target table. */
const TABLE_READ_ACTIONS = ['dynamodb:Scan', 'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:DescribeTable'];

/** Props of a {@link Reconciler}. */
export interface ReconcilerProps {
  readonly pairName: string;
  /** The deployment's reconcile settings (schedule, repair, read rate, segments). */
  readonly reconcile: ReconcileConfig;
  /** The pair's `deleteExtra`. */
  readonly deleteExtra: boolean | undefined;
  /** The pair's targets (their roles are assumed). */
  readonly targets: readonly (DynamoTargetConfig | S3TargetConfig)[];
  /** The pair's state table (checkpoint and latest run report). */
  readonly stateTable: dynamodb.ITable;
  /** The pair queue: repairs travel through the normal apply/copy path. */
  readonly queue: sqs.IQueue;
  /** Entry file of the handler, relative to functions/reconcile of this project, or absolute. */
  readonly entry: string;
  /** The pair type's own variables (source, TARGETS, filters). */
  readonly environment: Record<string, string>;
  /** The pair type's reads of its source and targets. */
  readonly readStatements: readonly iam.PolicyStatement[];
}

/** A pair's scheduled reconcile function and its rule. */
export class Reconciler extends Construct {
  /** The reconcile function. */
  readonly function: ReplicatorFunction;
  /** The EventBridge rule that invokes it on the schedule. */
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    const { reconcile } = props;
    const stack = Stack.of(this);

    this.function = new ReplicatorFunction(this, 'Function', {
      functionName: pairResourceNames(props.pairName).reconcileFunction,
      entry: path.isAbsolute(props.entry)
        ? props.entry
        : path.join(PROJECT_ROOT, 'functions', 'reconcile', props.entry),
      serviceName: 'replicator-reconcile',
      memorySize: 1024,
      timeout: RECONCILE_TIMEOUT,
      environment: {
        PAIR_NAME: props.pairName,
        SOURCE_REGION: stack.region,
        STATE_TABLE: props.stateTable.tableName,
        QUEUE_URL: props.queue.queueUrl,
        REPAIR: String(reconcile.repair),
        DELETE_EXTRA: String(props.deleteExtra ?? RECONCILE_DEFAULTS.deleteExtra),
        READ_RATE: String(reconcile.readRate ?? RECONCILE_DEFAULTS.readRate),
        ...props.environment,
      },
    });

    this.rule = new events.Rule(this, 'Schedule', {
      description: `Runs the reconcile of pair ${props.pairName} (${reconcile.schedule})`,
      schedule: events.Schedule.expression(reconcile.schedule),
      targets: [
        new eventsTargets.LambdaFunction(this.function.function, {
          // A failed run continues from its checkpoint on the next schedule; no need to pile retries up.
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });

    const role = this.function.role;
    for (const statement of props.readStatements) role.addToPrincipalPolicy(statement);
    grantAssumeTargetRoles(role, props.targets);
    grantStateTable(role, props.stateTable);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'EnqueueRepairs',
        actions: ['sqs:SendMessage'],
        resources: [props.queue.queueArn],
      }),
    );
  }
}

/** Least privilege for a DynamoDB pair's reconciler: reads of its source table and of each target table. */
export function dynamoReadStatements(
  scope: Construct,
  sourceTable: dynamodb.ITable,
  targets: readonly DynamoTargetConfig[],
): iam.PolicyStatement[] {
  const stack = Stack.of(scope);
  return [
    new iam.PolicyStatement({ sid: 'ReadSource', actions: TABLE_READ_ACTIONS, resources: [sourceTable.tableArn] }),
    new iam.PolicyStatement({
      sid: 'ReadTargets',
      actions: TABLE_READ_ACTIONS,
      resources: targets.map((t) => targetTableArn(stack, t)),
    }),
  ];
}

/**
 * Least privilege for an S3 pair's reconciler: list the source and target buckets under the prefix and
 * HEAD their objects there (s3:GetObject), nothing else. The object-level grant needs a key pattern: see
 * acknowledgeObjectGrants in pair-common.ts.
 */
export function s3ReadStatements(
  scope: Construct,
  sourceBucket: string,
  targets: readonly S3TargetConfig[],
  prefix: string,
): iam.PolicyStatement[] {
  const stack = Stack.of(scope);
  const buckets = [sourceBucket, ...targets.map((t) => t.bucket)];
  const prefixCondition = prefix === '' ? undefined : { StringLike: { 's3:prefix': `${prefix}*` } };
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
