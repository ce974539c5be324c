import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { PAIR_DEFAULTS } from '../../lib/config';
import { alarmName, PairMonitoring } from '../../lib/constructs/monitoring';
import type { TablePair } from '../../lib/pair-types/dynamodb';
import { ReplicationStack } from '../../lib/replication-stack';
import { functionLogicalId, logicalIdOf, ORDERS_CONFIG, TWO_PAIRS_CONFIG, testApp } from './helpers';

const template = Template.fromStack(new ReplicationStack(testApp(), 'Replicator-us-east-1', { config: ORDERS_CONFIG }));

describe('PairMonitoring', () => {
  it('alarms on a message in the pair DLQ', () => {
    const dlq = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-orders-dlq' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'replicator-orders-dlq',
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms on a message in the capture failure queue', () => {
    const queue = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-orders-capture-failures' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'replicator-orders-capture-failures',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms when capture falls more than 5 minutes behind its stream (maxIteratorAge default)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'replicator-orders-iterator-age',
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionLogicalId(template, 'replicator-orders-capture') } }],
      Statistic: 'Maximum',
      Threshold: 300000,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms on an apply error', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'replicator-orders-apply-errors',
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionLogicalId(template, 'replicator-orders-apply') } }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('defaults period to 1 minute on every alarm but the 5-minute latency and backlog-age ones', () => {
    // 5 pair alarms (with the queue's backlog age) and the backfill job's, plus latency, backlog age, apply
    // errors and reconcile mismatches of each of the 2 targets.
    template.resourceCountIs('AWS::CloudWatch::Alarm', 6 + 2 * 4);
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { Period: 60 }, 6 + 2 * 2);
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'ReplicationLatency', Period: 300 }, 2);
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'BacklogAge', Period: 300 }, 2);
  });

  it(`alarms when the oldest waiting change is older than maxBacklogAge (default ${PAIR_DEFAULTS.maxBacklogAge}): in the queue, and per target`, () => {
    const queue = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-orders' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'replicator-orders-backlog-age',
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
      Statistic: 'Maximum',
      Threshold: 900,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'replicator-orders-backlog-age-eu-west-1-orders',
      Namespace: 'Replicator',
      MetricName: 'BacklogAge',
      Dimensions: [
        { Name: 'Pair', Value: 'orders' },
        { Name: 'Target', Value: 'eu-west-1/orders' },
      ],
      Statistic: 'Maximum',
      Threshold: 900_000,
    });
  });

  it.each([
    ['eu-west-1/orders', 'eu-west-1-orders'],
    ['ap-northeast-1/orders-replica', 'ap-northeast-1-orders-replica'],
  ])('alarms when the p99 replication latency to %s is above 60 seconds (latencyP99Ms default)', (target, suffix) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `replicator-orders-latency-p99-${suffix}`,
      Namespace: 'Replicator',
      MetricName: 'ReplicationLatency',
      Dimensions: [
        { Name: 'Pair', Value: 'orders' },
        { Name: 'Target', Value: target },
      ],
      ExtendedStatistic: 'p99',
      Period: 300,
      Threshold: 60000,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it.each([
    ['eu-west-1/orders', 'eu-west-1-orders'],
    ['ap-northeast-1/orders-replica', 'ap-northeast-1-orders-replica'],
  ])('alarms on an ApplyErrors metric of target %s', (target, suffix) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `replicator-orders-apply-errors-${suffix}`,
      Namespace: 'Replicator',
      MetricName: 'ApplyErrors',
      Dimensions: [
        { Name: 'Pair', Value: 'orders' },
        { Name: 'Target', Value: target },
      ],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it.each([
    ['eu-west-1/orders', 'eu-west-1-orders'],
    ['ap-northeast-1/orders-replica', 'ap-northeast-1-orders-replica'],
  ])('alarms when a reconcile of target %s leaves a mismatch unrepaired, staying OK without data', (target, suffix) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `replicator-orders-reconcile-mismatched-${suffix}`,
      Namespace: 'Replicator',
      MetricName: 'ReconcileUnrepaired',
      Dimensions: [
        { Name: 'Pair', Value: 'orders' },
        { Name: 'Target', Value: target },
      ],
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('sends every alarm and its return to OK to the alarm topic', () => {
    const topic = logicalIdOf(template, 'AWS::SNS::Topic', { TopicName: 'replicator-alarms' });
    template.allResourcesProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [{ Ref: topic }],
      OKActions: [{ Ref: topic }],
    });
  });

  it('takes the latency threshold from alarms.latencyP99Ms', () => {
    const t = Template.fromStack(
      new ReplicationStack(testApp(), 'Replicator-us-east-1', {
        config: { ...ORDERS_CONFIG, alarms: { latencyP99Ms: 5000 } },
      }),
    );
    t.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'ReplicationLatency', Threshold: 5000 }, 2);
  });

  it('names the alarms of a cross-account target with its account, and gives each target of each pair its own', () => {
    const t = Template.fromStack(new ReplicationStack(testApp(), 'Replicator-us-east-1', { config: TWO_PAIRS_CONFIG }));
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'replicator-users-latency-p99-210987654321-eu-central-1-users-copy',
      Dimensions: [
        { Name: 'Pair', Value: 'users' },
        { Name: 'Target', Value: '210987654321/eu-central-1/users-copy' },
      ],
    });
    // orders: 6 + 1 × 4; users: 6 + 2 × 4 (each pair's 6 with its backfill job's).
    t.resourceCountIs('AWS::CloudWatch::Alarm', 10 + 14);
  });

  it('adds no per-target alarms, no actions and a 60-second latency threshold by default (targets, alarmTopic, latencyP99Threshold)', () => {
    const stack = new ReplicationStack(testApp(), 'Replicator-us-east-1', { config: ORDERS_CONFIG });
    const pair = stack.pairs.get('orders') as TablePair;
    const bare = new PairMonitoring(stack, 'Bare', {
      pairName: 'bare',
      deadLetterQueue: pair.queues.deadLetterQueue,
      captureFailureQueue: pair.queues.captureFailureQueue,
      captureFunction: pair.capture.function,
      applyFunction: pair.apply.function,
    });
    expect(bare.targetAlarms).toEqual([]);
    expect(bare.alarms).toHaveLength(4);
    const withTarget = new PairMonitoring(stack, 'WithTarget', {
      pairName: 'with-target',
      deadLetterQueue: pair.queues.deadLetterQueue,
      captureFailureQueue: pair.queues.captureFailureQueue,
      captureFunction: pair.capture.function,
      applyFunction: pair.apply.function,
      targets: ['eu-west-1/x'],
    });
    expect(withTarget.alarms).toHaveLength(8);
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'replicator-with-target-latency-p99-eu-west-1-x',
      Threshold: 60000,
    });
    for (const name of ['replicator-bare-dlq', 'replicator-with-target-latency-p99-eu-west-1-x']) {
      const found = Object.values(t.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: name } }));
      expect(found).toHaveLength(1);
      expect(found[0]!.Properties.AlarmActions).toBeUndefined();
      expect(found[0]!.Properties.OKActions).toBeUndefined();
    }
  });

  it('keeps alarm names within 255 characters, distinct for long table names', () => {
    const long = (table: string) => `replicator-orders-reconcile-mismatched-ap-northeast-1-${table}`;
    const a = alarmName(long('a'.repeat(255)));
    const b = alarmName(long(`${'a'.repeat(254)}b`));
    expect(a).toHaveLength(255);
    expect(b).toHaveLength(255);
    expect(a).not.toEqual(b);
    expect(alarmName('replicator-orders-dlq')).toBe('replicator-orders-dlq');
  });

  it('takes another maxIteratorAge and period', () => {
    const app = testApp();
    const stack = new ReplicationStack(app, 'Replicator-us-east-1', { config: ORDERS_CONFIG });
    const pair = stack.pairs.get('orders') as TablePair;
    new PairMonitoring(stack, 'Extra', {
      pairName: 'extra',
      deadLetterQueue: pair.queues.deadLetterQueue,
      captureFailureQueue: pair.queues.captureFailureQueue,
      captureFunction: pair.capture.function,
      applyFunction: pair.apply.function,
      maxIteratorAge: Duration.minutes(1),
      period: Duration.minutes(5),
    });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'replicator-extra-iterator-age',
      Threshold: 60000,
      Period: 300,
    });
  });

  it('watches the events queue instead of IteratorAge, and names the apply step, when told (eventsQueue, applyStepName, maxEventAge)', () => {
    const app = testApp();
    const stack = new ReplicationStack(app, 'Replicator-us-east-1', { config: ORDERS_CONFIG });
    const pair = stack.pairs.get('orders') as TablePair;
    new PairMonitoring(stack, 'Extra', {
      pairName: 'extra',
      deadLetterQueue: pair.queues.deadLetterQueue,
      captureFailureQueue: pair.queues.captureFailureQueue,
      captureFunction: pair.capture.function,
      applyFunction: pair.apply.function,
      eventsQueue: pair.queues.queue,
      applyStepName: 'copy',
      maxEventAge: Duration.minutes(2),
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'replicator-extra-events-age',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 120,
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'replicator-extra-copy-errors',
      MetricName: 'Errors',
    });
    t.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { AlarmName: 'replicator-extra-iterator-age' }, 0);
  });
});
