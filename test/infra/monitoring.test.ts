import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, it } from 'vitest';
import { PairMonitoring } from '../../lib/constructs/monitoring';
import type { TablePair } from '../../lib/constructs/table-pair';
import { ReplicationStack } from '../../lib/replication-stack';
import { functionLogicalId, logicalIdOf, ORDERS_CONFIG, testApp } from './helpers';

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

  it('defaults period to 1 minute on every alarm', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    template.allResourcesProperties('AWS::CloudWatch::Alarm', { Period: 60 });
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
