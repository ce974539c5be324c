/**
 * Alarms of one pair. Each alarm is named `replicator-<pair>-<what>` (per-target ones
 * `replicator-<pair>-<what>-<targetRegion>-<targetName>`) and treats missing data as not breaching (an idle
 * pair emits no metrics and must stay OK).
 */
import { createHash } from 'node:crypto';
import { Annotations, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, type MetricName } from '../../functions/contract';
import { BACKFILL_MAX_RECEIVES } from './backfiller';

/** CloudWatch's limit on alarm names. */
const MAX_ALARM_NAME = 255;

/**
 * An alarm name of at most 255 characters: a longer one keeps its first 246 characters and ends in a hash of
 * the whole, so two long names stay distinct.
 */
export function alarmName(name: string): string {
  if (name.length <= MAX_ALARM_NAME) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_ALARM_NAME - hash.length - 1)}-${hash}`;
}

/**
 * A Replicator metric of a pair (dimension Pair) or of one of its targets (dimensions Pair and Target), in the
 * contract's namespace; `metricName` is one of the contract's catalogue (`METRICS`).
 */
export function replicatorMetric(
  metricName: MetricName,
  pairName: string,
  target: string | undefined,
  props: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: target === undefined ? { Pair: pairName } : { Pair: pairName, Target: target },
    ...props,
  });
}

/** The alarms of one target of a pair. */
export interface TargetAlarms {
  /** The target's id (`region/name`, or `account/region/name`), its metrics' Target dimension. */
  readonly target: string;
  /** p99 ReplicationLatency above the threshold (`replicator-<pair>-latency-p99-<region>-<name>`). */
  readonly latencyAlarm: cloudwatch.Alarm;
  /** The oldest change waiting for a retry on the target is older than maxBacklogAge (`…-backlog-age-…`). */
  readonly backlogAgeAlarm: cloudwatch.Alarm;
  /** ApplyErrors at least 1 (`replicator-<pair>-apply-errors-<region>-<name>`). */
  readonly applyErrorsAlarm: cloudwatch.Alarm;
  /** ReconcileUnrepaired above 0: mismatches a reconcile left (`replicator-<pair>-reconcile-mismatched-<region>-<name>`). */
  readonly reconcileMismatchedAlarm: cloudwatch.Alarm;
}

/** Where a pair's alarms go and the thresholds the deployment config sets (the same for every pair type). */
export interface PairAlarmOptions {
  /**
   * p99 ReplicationLatency over 5 minutes above which a target's latency alarm fires.
   * @default - 60 seconds
   */
  readonly latencyP99Threshold?: Duration;
  /**
   * Topic that every alarm notifies when it goes into ALARM and back to OK.
   * @default - none: the alarms have no actions
   */
  readonly alarmTopic?: sns.ITopic;
}

/** Props of a {@link PairMonitoring}. */
export interface PairMonitoringProps extends PairAlarmOptions {
  /** Name of the pair; alarms are named `replicator-<pair>-<what>`. */
  readonly pairName: string;
  /** Dead-letter queue of the pair queue. */
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * Dead-letter queue of the backfill job's queue: job messages that kept failing.
   * @default - none: no backfill alarm
   */
  readonly backfillDeadLetterQueue?: sqs.IQueue;
  /**
   * The pair queue: the age of its oldest message is the pair's backlog.
   * @default - no backlog alarm on the queue
   */
  readonly queue?: sqs.IQueue;
  /**
   * Age of the oldest waiting change above which the backlog alarms fire: the pair queue's oldest message, and
   * per target the oldest change waiting for a retry (BacklogAge, which re-sends do not make younger).
   * @default - 15 minutes
   */
  readonly maxBacklogAge?: Duration;
  /** Where capture's failures go: the stream mapping's on-failure destination, or the events queue's DLQ. */
  readonly captureFailureQueue: sqs.IQueue;
  /** The capture function (its IteratorAge is watched when it reads a stream). */
  readonly captureFunction: lambda.IFunction;
  /** The function that applies envelopes to the targets (its Errors are watched). */
  readonly applyFunction: lambda.IFunction;
  /**
   * Queue of source events that capture consumes (S3 pairs); the age of its oldest message is watched instead
   * of capture's IteratorAge.
   * @default - none: capture reads a stream, and the iterator-age alarm watches its IteratorAge
   */
  readonly eventsQueue?: sqs.IQueue;
  /**
   * Name of the apply step in alarm names and descriptions (`replicator-<pair>-<name>-errors`).
   * @default - "apply"
   */
  readonly applyStepName?: string;
  /**
   * Oldest stream record age at which capture counts as falling behind.
   * @default - 5 minutes: the iterator-age alarm fires when the maximum IteratorAge is above 5 minutes
   */
  readonly maxIteratorAge?: Duration;
  /**
   * Oldest events-queue message age at which capture counts as falling behind (with eventsQueue).
   * @default - 5 minutes: the events-age alarm fires when ApproximateAgeOfOldestMessage is above 5 minutes
   */
  readonly maxEventAge?: Duration;
  /**
   * Period of every alarm's metric; each alarm fires on one breaching period.
   * @default - 1 minute
   */
  readonly period?: Duration;
  /**
   * Ids of the pair's targets (`targetId`, their metrics' Target dimension); each gets alarms on its p99
   * ReplicationLatency, ApplyErrors and ReconcileUnrepaired.
   * @default - none: no per-target alarms
   */
  readonly targets?: readonly string[];
  /**
   * The pair's scheduled reconciler: alarms on its errors, on invocations that failed after Lambda's retries,
   * and on no run finishing for two schedule periods.
   * @default - none: the pair has no scheduled reconciler
   */
  readonly reconciler?: {
    readonly function: lambda.IFunction;
    readonly failureQueue: sqs.IQueue;
    /** The schedule expression: the overdue alarm needs a `rate(...)` to know how long two periods are. */
    readonly schedule: string;
  };
}

/** The alarms of a pair's scheduled reconciler. */
export interface ReconcilerAlarms {
  /** Reconcile invocations that failed (`replicator-<pair>-reconcile-errors`). */
  readonly errorsAlarm: cloudwatch.Alarm;
  /** Scheduled invocations that failed after Lambda's retries (`replicator-<pair>-reconcile-failures`). */
  readonly failuresAlarm: cloudwatch.Alarm;
  /**
   * No run finished for two schedule periods (`replicator-<pair>-reconcile-overdue`); absent for a `cron(...)`
   * schedule, whose periods vary.
   */
  readonly overdueAlarm: cloudwatch.Alarm | undefined;
}

/** The period of a `rate(N unit)` schedule, or undefined for any other expression. */
export function schedulePeriod(expression: string): Duration | undefined {
  const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2]!;
  if (unit.startsWith('minute')) return Duration.minutes(n);
  if (unit.startsWith('hour')) return Duration.hours(n);
  return Duration.days(n);
}

/** An alarm that fires on any occurrence (a message in a DLQ, an error) and is OK without data. */
const AT_LEAST_ONE = {
  threshold: 1,
  evaluationPeriods: 1,
  comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
};

/** CloudWatch alarms on a pair's DLQs, capture lag and apply errors. */
export class PairMonitoring extends Construct {
  /** Messages in the pair DLQ (at least 1). */
  readonly deadLetterAlarm: cloudwatch.Alarm;
  /** Messages in the capture failure queue (at least 1). */
  readonly captureFailureAlarm: cloudwatch.Alarm;
  /**
   * Capture falling behind: the maximum IteratorAge of a stream above maxIteratorAge
   * (`replicator-<pair>-iterator-age`), or the events queue's oldest message above maxEventAge
   * (`replicator-<pair>-events-age`).
   */
  readonly captureLagAlarm: cloudwatch.Alarm;
  /** Apply (or copy) invocations that failed (at least 1). */
  readonly applyErrorsAlarm: cloudwatch.Alarm;
  /** The pair queue's oldest message is older than maxBacklogAge (`replicator-<pair>-backlog-age`); with `queue`. */
  readonly backlogAgeAlarm: cloudwatch.Alarm | undefined;
  /** The alarms of each target, in the order of the targets prop. */
  readonly targetAlarms: readonly TargetAlarms[];
  /** The scheduled reconciler's alarms; only when the pair has one. */
  readonly reconcilerAlarms: ReconcilerAlarms | undefined;
  /** Every alarm above (the pair's, then each target's). */
  readonly alarms: readonly cloudwatch.Alarm[];
  /** Job messages of a deployed backfill that failed every receive (`replicator-<pair>-backfill-failed`). */
  readonly backfillFailedAlarm: cloudwatch.Alarm | undefined;

  constructor(scope: Construct, id: string, props: PairMonitoringProps) {
    super(scope, id);
    const period = props.period ?? Duration.minutes(1);
    const prefix = `replicator-${props.pairName}`;
    const step = props.applyStepName ?? 'apply';
    const captured = props.eventsQueue ? 'S3 events' : 'Stream records';

    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      ...AT_LEAST_ONE,
      alarmName: `${prefix}-dlq`,
      alarmDescription: `Envelopes of pair ${props.pairName} were dead-lettered; inspect them, then run "replicator redrive ${props.pairName}".`,
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
    });
    this.backfillFailedAlarm = props.backfillDeadLetterQueue
      ? new cloudwatch.Alarm(this, 'BackfillFailedAlarm', {
          ...AT_LEAST_ONE,
          alarmName: alarmName(`${prefix}-backfill-failed`),
          alarmDescription: `A deployed backfill job of pair ${props.pairName} stopped: its message failed ${BACKFILL_MAX_RECEIVES} times (the backfill function's logs say why). "replicator backfill ${props.pairName} --deployed" starts it again from its checkpoint.`,
          metric: props.backfillDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period,
            statistic: 'Maximum',
          }),
        })
      : undefined;
    this.captureFailureAlarm = new cloudwatch.Alarm(this, 'CaptureFailureAlarm', {
      ...AT_LEAST_ONE,
      alarmName: `${prefix}-capture-failures`,
      alarmDescription: `${captured} of pair ${props.pairName} could not be captured; run "replicator reconcile ${props.pairName} --repair".`,
      metric: props.captureFailureQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
    });
    const lag = {
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };
    if (props.eventsQueue) {
      const maxEventAge = props.maxEventAge ?? Duration.minutes(5);
      this.captureLagAlarm = new cloudwatch.Alarm(this, 'EventsAgeAlarm', {
        ...lag,
        alarmName: `${prefix}-events-age`,
        alarmDescription: `Capture of pair ${props.pairName} is more than ${maxEventAge.toHumanString()} behind its S3 events.`,
        metric: props.eventsQueue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' }),
        // The SQS metric is in seconds (Lambda's IteratorAge is in milliseconds).
        threshold: maxEventAge.toSeconds(),
      });
    } else {
      const maxIteratorAge = props.maxIteratorAge ?? Duration.minutes(5);
      this.captureLagAlarm = new cloudwatch.Alarm(this, 'IteratorAgeAlarm', {
        ...lag,
        alarmName: `${prefix}-iterator-age`,
        alarmDescription: `Capture of pair ${props.pairName} is more than ${maxIteratorAge.toHumanString()} behind its stream.`,
        metric: props.captureFunction.metric('IteratorAge', { period, statistic: 'Maximum' }),
        threshold: maxIteratorAge.toMilliseconds(),
      });
    }
    this.applyErrorsAlarm = new cloudwatch.Alarm(this, 'ApplyErrorsAlarm', {
      ...AT_LEAST_ONE,
      alarmName: `${prefix}-${step}-errors`,
      alarmDescription: `${step[0]!.toUpperCase()}${step.slice(1)} invocations of pair ${props.pairName} failed.`,
      metric: props.applyFunction.metricErrors({ period, statistic: 'Sum' }),
    });
    const maxBacklogAge = props.maxBacklogAge ?? Duration.minutes(15);
    this.backlogAgeAlarm = props.queue
      ? new cloudwatch.Alarm(this, 'BacklogAgeAlarm', {
          ...lag,
          alarmName: `${prefix}-backlog-age`,
          alarmDescription: `The oldest message in the queue of pair ${props.pairName} is older than ${maxBacklogAge.toHumanString()}: ${step} is not keeping up, or a target is unreachable (see the per-target backlog alarms).`,
          metric: props.queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' }),
          // The SQS metric is in seconds.
          threshold: maxBacklogAge.toSeconds(),
        })
      : undefined;
    const latencyThreshold = props.latencyP99Threshold ?? Duration.seconds(60);
    this.targetAlarms = (props.targets ?? []).map((target) => {
      // The id holds "/" (and an account for a cross-account target); alarm names and construct ids get "-".
      // The construct id is the name itself, so it stays stable when targets are reordered.
      const suffix = target.replaceAll('/', '-');
      const scope = new Construct(this, suffix);
      const about = `target ${target} of pair ${props.pairName}`;
      return {
        target,
        latencyAlarm: new cloudwatch.Alarm(scope, 'LatencyAlarm', {
          ...lag,
          alarmName: alarmName(`${prefix}-latency-p99-${suffix}`),
          alarmDescription: `p99 replication latency of ${about} is above ${latencyThreshold.toHumanString()}.`,
          metric: replicatorMetric('ReplicationLatency', props.pairName, target, {
            period: Duration.minutes(5),
            statistic: 'p99',
          }),
          threshold: latencyThreshold.toMilliseconds(),
        }),
        backlogAgeAlarm: new cloudwatch.Alarm(scope, 'BacklogAgeAlarm', {
          ...lag,
          alarmName: alarmName(`${prefix}-backlog-age-${suffix}`),
          alarmDescription: `Changes of pair ${props.pairName} have waited more than ${maxBacklogAge.toHumanString()} for ${about}: it keeps failing (see the re-sent envelopes' reasons in the ${step} logs).`,
          metric: replicatorMetric('BacklogAge', props.pairName, target, {
            period: Duration.minutes(5),
            statistic: 'Maximum',
          }),
          threshold: maxBacklogAge.toMilliseconds(),
        }),
        applyErrorsAlarm: new cloudwatch.Alarm(scope, 'ApplyErrorsAlarm', {
          ...AT_LEAST_ONE,
          alarmName: alarmName(`${prefix}-apply-errors-${suffix}`),
          alarmDescription: `Changes of pair ${props.pairName} failed to apply to target ${target}; see the DLQ.`,
          metric: replicatorMetric('ApplyErrors', props.pairName, target, { period, statistic: 'Sum' }),
        }),
        reconcileMismatchedAlarm: new cloudwatch.Alarm(scope, 'ReconcileMismatchedAlarm', {
          ...lag,
          alarmName: alarmName(`${prefix}-reconcile-mismatched-${suffix}`),
          alarmDescription: `A reconcile of ${about} left mismatched items unrepaired (repair off, or extras the pair may not delete); run "replicator reconcile ${props.pairName} --repair".`,
          // After repair: what a run found and repaired is ReconcileMismatched and ReconcileRepaired alike; what
          // it could not repair stays, and a repair that does not land is found again by the next run.
          metric: replicatorMetric('ReconcileUnrepaired', props.pairName, target, { period, statistic: 'Sum' }),
          threshold: 0,
        }),
      };
    });
    this.reconcilerAlarms = props.reconciler ? this.reconcilerAlarmsOf(props, props.reconciler) : undefined;
    const r = this.reconcilerAlarms;
    this.alarms = [
      this.deadLetterAlarm,
      ...(this.backfillFailedAlarm ? [this.backfillFailedAlarm] : []),
      this.captureFailureAlarm,
      this.captureLagAlarm,
      this.applyErrorsAlarm,
      ...(this.backlogAgeAlarm ? [this.backlogAgeAlarm] : []),
      ...this.targetAlarms.flatMap((t) => [
        t.latencyAlarm,
        t.backlogAgeAlarm,
        t.applyErrorsAlarm,
        t.reconcileMismatchedAlarm,
      ]),
      ...(r ? [r.errorsAlarm, r.failuresAlarm, ...(r.overdueAlarm ? [r.overdueAlarm] : [])] : []),
    ];
    if (props.alarmTopic) {
      const action = new actions.SnsAction(props.alarmTopic);
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }

  /** The reconciler can't fail silently: its errors, its failed scheduled invocations, and runs overdue. */
  private reconcilerAlarmsOf(
    props: PairMonitoringProps,
    reconciler: NonNullable<PairMonitoringProps['reconciler']>,
  ): ReconcilerAlarms {
    const prefix = `replicator-${props.pairName}`;
    const period = props.period ?? Duration.minutes(1);
    const errorsAlarm = new cloudwatch.Alarm(this, 'ReconcileErrorsAlarm', {
      ...AT_LEAST_ONE,
      alarmName: `${prefix}-reconcile-errors`,
      alarmDescription: `Reconcile invocations of pair ${props.pairName} failed; its logs say why. The next invocation continues from the checkpoint.`,
      metric: reconciler.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
    });
    const failuresAlarm = new cloudwatch.Alarm(this, 'ReconcileFailuresAlarm', {
      ...AT_LEAST_ONE,
      alarmName: `${prefix}-reconcile-failures`,
      alarmDescription: `Scheduled reconcile invocations of pair ${props.pairName} failed after Lambda's retries; see the queue ${reconciler.failureQueue.queueName}.`,
      metric: reconciler.failureQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
    });
    const every = schedulePeriod(reconciler.schedule);
    let overdueAlarm: cloudwatch.Alarm | undefined;
    if (every === undefined) {
      Annotations.of(this).addWarningV2(
        'replicator:reconcile-overdue-cron',
        `The reconcile of pair ${props.pairName} runs on ${reconciler.schedule}: no alarm watches for runs overdue (it needs a rate(...) schedule to know two periods).`,
      );
    } else {
      // CloudWatch takes periods of at most a day; two schedule periods are then several of them.
      const alarmPeriod = Duration.seconds(Math.min(every.toSeconds(), 86_400));
      overdueAlarm = new cloudwatch.Alarm(this, 'ReconcileOverdueAlarm', {
        alarmName: `${prefix}-reconcile-overdue`,
        alarmDescription: `No reconcile run of pair ${props.pairName} finished in two schedule periods (${reconciler.schedule}). Until the first run after a deploy finishes, this alarm is in ALARM too.`,
        metric: replicatorMetric('ReconcileRuns', props.pairName, undefined, { period: alarmPeriod, statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: Math.ceil((2 * every.toSeconds()) / alarmPeriod.toSeconds()),
        // No data is the failure this alarm is for: no run finished at all.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    }
    return { errorsAlarm, failuresAlarm, overdueAlarm };
  }
}
