/**
 * Alarms of one pair. Each alarm is named `replicator-<pair>-<what>` and treats missing data as not breaching
 * (an idle pair emits no Lambda metrics and must stay OK).
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Props of a {@link PairMonitoring}. */
export interface PairMonitoringProps {
  /** Name of the pair; alarms are named `replicator-<pair>-<what>`. */
  readonly pairName: string;
  /** Dead-letter queue of the pair queue. */
  readonly deadLetterQueue: sqs.IQueue;
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
}

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
  /** Every alarm above, for actions added later (SNS). */
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: PairMonitoringProps) {
    super(scope, id);
    const period = props.period ?? Duration.minutes(1);
    const prefix = `replicator-${props.pairName}`;
    const step = props.applyStepName ?? 'apply';
    const captured = props.eventsQueue ? 'S3 events' : 'Stream records';
    const atLeastOne = {
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };

    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      ...atLeastOne,
      alarmName: `${prefix}-dlq`,
      alarmDescription: `Envelopes of pair ${props.pairName} were dead-lettered; inspect them, then run "replicator redrive ${props.pairName}".`,
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
    });
    this.captureFailureAlarm = new cloudwatch.Alarm(this, 'CaptureFailureAlarm', {
      ...atLeastOne,
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
      ...atLeastOne,
      alarmName: `${prefix}-${step}-errors`,
      alarmDescription: `${step[0]!.toUpperCase()}${step.slice(1)} invocations of pair ${props.pairName} failed.`,
      metric: props.applyFunction.metricErrors({ period, statistic: 'Sum' }),
    });
    this.alarms = [this.deadLetterAlarm, this.captureFailureAlarm, this.captureLagAlarm, this.applyErrorsAlarm];
  }
}
