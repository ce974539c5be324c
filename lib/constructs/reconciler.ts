/**
 * The scheduled reconciler of one pair (any type): the `replicator-<pair>-reconcile` function, an
 * EventBridge rule that invokes it on the config's schedule, and the grants every reconciler needs (its
 * state table, the pair queue for repairs, the targets' roles). What depends on the pair type comes in props:
 * the handler entry, the type's variables and its reads of the source and targets (each type module's
 * `reconcileReadStatements`). Metrics go out as EMF log lines, so no CloudWatch permission is needed.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV, pairResourceNames } from '../../functions/contract';
import { RECONCILE_DEFAULTS, type ReconcileConfig } from '../config';
import { grantPairReader, type PairReaderProps, pairReaderEnvironment } from './pair-common';
import { acknowledgeDeadLetterQueue } from './pair-queue';
import { ReplicatorFunction } from './replicator-function';

/** Timeout of the reconcile function: Lambda's maximum, since a run uses all the time it gets. */
export const RECONCILE_TIMEOUT = Duration.seconds(900);

/** Props of a {@link Reconciler}. */
export interface ReconcilerProps extends PairReaderProps {
  /** Name of the pair; the function is `replicator-<pair>-reconcile`. */
  readonly pairName: string;
  /** The deployment's reconcile settings (schedule, repair, read rate, segments). */
  readonly reconcile: ReconcileConfig;
  /**
   * The pair's `deleteExtra`: whether a repair may delete what the source does not have.
   * @default - RECONCILE_DEFAULTS.deleteExtra (false): extras are only reported
   */
  readonly deleteExtra?: boolean;
}

/** A pair's scheduled reconcile function and its rule. */
export class Reconciler extends Construct {
  /** The reconcile function. */
  readonly function: ReplicatorFunction;
  /** The EventBridge rule that invokes it on the schedule. */
  readonly rule: events.Rule;
  /** Where scheduled invocations that failed after Lambda's retries go (`replicator-<pair>-reconcile-failures`). */
  readonly failureQueue: sqs.Queue;
  /** The schedule expression (`rate(...)` or `cron(...)`). */
  readonly schedule: string;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    const { reconcile } = props;
    this.schedule = reconcile.schedule;

    const names = pairResourceNames(props.pairName);
    this.function = new ReplicatorFunction(this, 'Function', {
      functionName: names.reconcileFunction,
      // One run at a time: a run that outlasts its schedule must not meet the next on the same checkpoint
      // (the checkpoint's conditional writes stop the loser too).
      reservedConcurrentExecutions: 1,
      entry: props.entry,
      serviceName: 'replicator-reconcile',
      memorySize: 1024,
      timeout: RECONCILE_TIMEOUT,
      environment: {
        ...pairReaderEnvironment(this, props.pairName, props),
        [ENV.REPAIR]: String(reconcile.repair),
        [ENV.DELETE_EXTRA]: String(props.deleteExtra ?? RECONCILE_DEFAULTS.deleteExtra),
        [ENV.READ_RATE]: String(reconcile.readRate ?? RECONCILE_DEFAULTS.readRate),
        ...props.environment,
      },
    });

    this.failureQueue = new sqs.Queue(this, 'FailureQueue', {
      queueName: names.reconcileFailureQueue,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself a dead-letter destination: the on-failure destination of the scheduled reconcile invocations. Its depth is alarmed.',
    });
    acknowledgeDeadLetterQueue(this.failureQueue);
    // A scheduled invocation that still fails after Lambda's retries leaves a record here instead of nothing.
    this.function.function.configureAsyncInvoke({
      onFailure: new destinations.SqsDestination(this.failureQueue),
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
    });

    this.rule = new events.Rule(this, 'Schedule', {
      description: `Runs the reconcile of pair ${props.pairName} (${reconcile.schedule})`,
      schedule: events.Schedule.expression(reconcile.schedule),
      targets: [
        new eventsTargets.LambdaFunction(this.function.function, {
          // A failed run continues from its checkpoint on the next schedule; no need to pile retries up.
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
          // A schedule EventBridge could not deliver leaves a record where failed runs do.
          deadLetterQueue: this.failureQueue,
        }),
      ],
    });

    grantPairReader(this.function.role, props, 'EnqueueRepairs');
  }
}
