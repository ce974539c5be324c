/**
 * The scheduled reconciler of one DynamoDB pair: the `replicator-<pair>-reconcile` function, an EventBridge
 * rule that invokes it on the config's schedule, and least-privilege grants (read the source and each
 * target, assume the targets' roles, use the state table, enqueue repairs on the pair queue).
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
import { type DynamoPairConfig, RECONCILE_DEFAULTS, type ReconcileConfig } from '../config';
import { pairResourceNames } from './names';
import { grantAssumeTargetRoles, grantStateTable, targetTableArn } from './pair-common';
import { PROJECT_ROOT, ReplicatorFunction } from './replicator-function';
import type { ApplyTarget } from './table-pair';

/** Timeout of the reconcile function: Lambda's maximum, since a run uses all the time it gets. */
export const RECONCILE_TIMEOUT = Duration.seconds(900);

/** Read actions the reconciler needs on the source and on every target table. */
const READ_ACTIONS = ['dynamodb:Scan', 'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:DescribeTable'];

/** Props of a {@link Reconciler}. */
export interface ReconcilerProps {
  /** The validated pair. */
  readonly pair: DynamoPairConfig;
  /** The deployment's reconcile settings (schedule, repair, read rate, segments). */
  readonly reconcile: ReconcileConfig;
  /** The pair's source table. */
  readonly sourceTable: dynamodb.ITable;
  /** The pair's state table (checkpoint and latest run report). */
  readonly stateTable: dynamodb.ITable;
  /** The pair queue: repairs travel through the normal apply path. */
  readonly queue: sqs.IQueue;
  /** Targets as the apply function sees them (same TARGETS variable). */
  readonly targets: readonly ApplyTarget[];
  /**
   * Entry file of the reconcile handler.
   * @default - functions/reconcile/handler.ts of this project
   */
  readonly entry?: string;
}

/** A DynamoDB pair's scheduled reconcile function and its rule. */
export class Reconciler extends Construct {
  /** The reconcile function. */
  readonly function: ReplicatorFunction;
  /** The EventBridge rule that invokes it on the schedule. */
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    const { pair, reconcile } = props;
    const stack = Stack.of(this);
    const functionName = pairResourceNames(pair.name).reconcileFunction;

    this.function = new ReplicatorFunction(this, 'Function', {
      functionName,
      entry: props.entry ?? path.join(PROJECT_ROOT, 'functions', 'reconcile', 'handler.ts'),
      serviceName: 'replicator-reconcile',
      memorySize: 1024,
      timeout: RECONCILE_TIMEOUT,
      environment: {
        PAIR_NAME: pair.name,
        SOURCE_TABLE: pair.source.table,
        SOURCE_REGION: stack.region,
        STATE_TABLE: props.stateTable.tableName,
        QUEUE_URL: props.queue.queueUrl,
        TARGETS: JSON.stringify(props.targets),
        REPAIR: String(reconcile.repair),
        DELETE_EXTRA: String(pair.deleteExtra ?? RECONCILE_DEFAULTS.deleteExtra),
        READ_RATE: String(reconcile.readRate ?? RECONCILE_DEFAULTS.readRate),
        SEGMENTS: String(reconcile.segments ?? RECONCILE_DEFAULTS.segments),
        ...(pair.filter ? { FILTER: JSON.stringify(pair.filter) } : {}),
      },
    });

    this.rule = new events.Rule(this, 'Schedule', {
      description: `Runs the reconcile of pair ${pair.name} (${reconcile.schedule})`,
      schedule: events.Schedule.expression(reconcile.schedule),
      targets: [
        new eventsTargets.LambdaFunction(this.function.function, {
          // A failed run continues from its checkpoint on the next schedule; no need to pile retries up.
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });

    this.grant(props);
  }

  /** Least privilege: reads of this pair's tables, its state table and its queue, nothing else. */
  private grant(props: ReconcilerProps): void {
    const stack = Stack.of(this);
    const role = this.function.role;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'ReadSource', actions: READ_ACTIONS, resources: [props.sourceTable.tableArn] }),
    );
    const targetArns = props.pair.targets.map((t) => targetTableArn(stack, t));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'ReadTargets', actions: READ_ACTIONS, resources: targetArns }),
    );
    grantAssumeTargetRoles(role, props.pair.targets);
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
