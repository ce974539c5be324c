/**
 * The CloudWatch dashboard of a deployment: a row per pair with its throughput, latency, queues, errors and
 * alarm states.
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { MetricName } from '../../functions/contract';
import { replicatorMetric } from './monitoring';

/** Name of the dashboard. */
export const DASHBOARD_NAME = 'replicator';

/** What the dashboard shows of one pair. */
export interface DashboardPair {
  /** Name of the pair (the Pair dimension). */
  readonly pairName: string;
  /** Target ids of the pair (the Target dimension), e.g. `eu-west-1/orders`. */
  readonly targets: readonly string[];
  /** The pair queue. */
  readonly queue: sqs.IQueue;
  /** The pair's dead-letter queue. */
  readonly deadLetterQueue: sqs.IQueue;
  /** The pair's alarms. */
  readonly alarms: readonly cloudwatch.IAlarm[];
}

/** Props of a {@link ReplicatorDashboard}. */
export interface ReplicatorDashboardProps {
  /** The pairs, one row each, in this order. */
  readonly pairs: readonly DashboardPair[];
  /**
   * Period of the graphs.
   * @default - 5 minutes
   */
  readonly period?: Duration;
}

/** The `replicator` dashboard. */
export class ReplicatorDashboard extends Construct {
  /** The dashboard. */
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ReplicatorDashboardProps) {
    super(scope, id);
    const period = props.period ?? Duration.minutes(5);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: DASHBOARD_NAME,
      defaultInterval: Duration.hours(3),
    });
    for (const pair of props.pairs) {
      this.dashboard.addWidgets(...pairRow(new Construct(this, `Pair-${pair.pairName}`), pair, period));
    }
  }
}

/**
 * The alarm as the dashboard should reference it: by an ARN built from its name, not a GetAtt of the alarm
 * resource, so the dashboard does not depend on the alarms' resources (moto, for one, does not create them).
 */
function alarmByName(scope: Construct, alarm: cloudwatch.IAlarm, index: number): cloudwatch.IAlarm {
  const name = (alarm.node.defaultChild as cloudwatch.CfnAlarm | undefined)?.alarmName;
  if (name === undefined) return alarm;
  const arn = Stack.of(scope).formatArn({
    service: 'cloudwatch',
    resource: 'alarm',
    resourceName: name,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  return cloudwatch.Alarm.fromAlarmArn(scope, `Alarm${index}`, arn);
}

/** The widgets of one pair's row: header, nine graphs (seven replication and backlog, two reconcile), alarm states. */
function pairRow(scope: Construct, pair: DashboardPair, period: Duration): cloudwatch.IWidget[] {
  const perTarget = (metricName: MetricName, statistic: string, label = (t: string) => t) =>
    pair.targets.map((t) => replicatorMetric(metricName, pair.pairName, t, { period, statistic, label: label(t) }));
  const graph = (title: string, left: cloudwatch.IMetric[]) =>
    new cloudwatch.GraphWidget({ title, left, width: 6, height: 6 });
  return [
    new cloudwatch.TextWidget({
      markdown: `## Pair ${pair.pairName}\nTargets: ${pair.targets.join(', ')}`,
      width: 24,
      height: 2,
    }),
    graph(`${pair.pairName}: replicated items (Sum)`, perTarget('ReplicatedItems', 'Sum')),
    graph(`${pair.pairName}: replication latency (ms)`, [
      ...perTarget('ReplicationLatency', 'p50', (t) => `${t} p50`),
      ...perTarget('ReplicationLatency', 'p99', (t) => `${t} p99`),
    ]),
    graph(`${pair.pairName}: queue depth`, [
      pair.queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum', label: 'queue' }),
      pair.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum', label: 'DLQ' }),
    ]),
    graph(`${pair.pairName}: apply errors and stale skipped (Sum)`, [
      ...perTarget('ApplyErrors', 'Sum', (t) => `${t} ApplyErrors`),
      ...perTarget('StaleSkipped', 'Sum', (t) => `${t} StaleSkipped`),
    ]),
    // The backlog: how old the oldest waiting change is (in the queue; per target, waiting for a retry).
    new cloudwatch.GraphWidget({
      title: `${pair.pairName}: backlog age (Maximum)`,
      left: [
        pair.queue.metricApproximateAgeOfOldestMessage({
          period,
          statistic: 'Maximum',
          label: 'queue, oldest message (s)',
        }),
      ],
      right: perTarget('BacklogAge', 'Maximum', (t) => `${t} oldest waiting change (ms)`),
      width: 12,
      height: 6,
    }),
    graph(`${pair.pairName}: envelopes re-sent for a retry (Sum)`, perTarget('BacklogEnvelopes', 'Sum')),
    graph(`${pair.pairName}: dead-lettered (Sum)`, perTarget('DeadLettered', 'Sum')),
    // Reconcile runs are hours apart: one point per run, so these graph by the hour.
    new cloudwatch.GraphWidget({
      title: `${pair.pairName}: reconcile consistency ratio (Minimum, 1 h)`,
      left: pair.targets.map((t) =>
        replicatorMetric('ConsistencyRatio', pair.pairName, t, {
          period: Duration.hours(1),
          statistic: 'Minimum',
          label: t,
        }),
      ),
      leftYAxis: { min: 0, max: 1 },
      width: 12,
      height: 6,
    }),
    new cloudwatch.GraphWidget({
      title: `${pair.pairName}: reconcile mismatched and repaired (Sum, 1 h)`,
      left: pair.targets.flatMap((t) => [
        replicatorMetric('ReconcileMismatched', pair.pairName, t, {
          period: Duration.hours(1),
          statistic: 'Sum',
          label: `${t} mismatched`,
        }),
        replicatorMetric('ReconcileRepaired', pair.pairName, t, {
          period: Duration.hours(1),
          statistic: 'Sum',
          label: `${t} repaired`,
        }),
      ]),
      width: 12,
      height: 6,
    }),
    new cloudwatch.AlarmStatusWidget({
      title: `${pair.pairName}: alarms`,
      alarms: pair.alarms.map((a, i) => alarmByName(scope, a, i)),
      width: 24,
      height: Math.max(2, Math.ceil(pair.alarms.length / 4) + 1),
    }),
  ];
}
