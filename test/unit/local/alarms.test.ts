import type { StackResourceSummary } from '@aws-sdk/client-cloudformation';
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import {
  type AlarmInfo,
  type AlarmNotification,
  type AlarmRule,
  breaches,
  evaluateAlarm,
  LocalAlarms,
  resolveAlarm,
} from '../../../src/local/alarms';
import { type DiscoveryClients, type Template, TemplateResolver } from '../../../src/local/discovery';

const rule = (overrides: Partial<AlarmRule> = {}): AlarmRule => ({
  threshold: 10,
  comparisonOperator: 'GreaterThanThreshold',
  evaluationPeriods: 3,
  datapointsToAlarm: 3,
  treatMissingData: 'missing',
  ...overrides,
});

describe('breaches', () => {
  it.each([
    ['GreaterThanThreshold', 10, false],
    ['GreaterThanThreshold', 11, true],
    ['GreaterThanOrEqualToThreshold', 10, true],
    ['GreaterThanOrEqualToThreshold', 9, false],
    ['LessThanThreshold', 10, false],
    ['LessThanThreshold', 9, true],
    ['LessThanOrEqualToThreshold', 10, true],
    ['LessThanOrEqualToThreshold', 11, false],
  ] as const)('%s with value %d against 10 is %s', (operator, value, expected) => {
    expect(breaches(operator, value, 10)).toBe(expected);
  });

  it('treats a threshold of 0 as a value, not as absent', () => {
    expect(breaches('GreaterThanThreshold', 1, 0)).toBe(true);
    expect(breaches('GreaterThanThreshold', 0, 0)).toBe(false);
  });
});

describe('evaluateAlarm', () => {
  it('goes to ALARM when every period breaches (3 of 3)', () => {
    expect(evaluateAlarm(rule(), [11, 12, 13], 'OK').state).toBe('ALARM');
  });

  it('stays OK when one period of 3 does not breach and all 3 are needed', () => {
    expect(evaluateAlarm(rule(), [11, 5, 13], 'OK').state).toBe('OK');
  });

  it('goes to ALARM on M of N: 2 breaching periods of 3 with DatapointsToAlarm 2', () => {
    expect(evaluateAlarm(rule({ datapointsToAlarm: 2 }), [11, 5, 13], 'OK').state).toBe('ALARM');
    expect(evaluateAlarm(rule({ datapointsToAlarm: 2 }), [11, 5, 5], 'ALARM').state).toBe('OK');
  });

  it('compares with the operator: LessThanOrEqualToThreshold alarms on low values', () => {
    const low = rule({ comparisonOperator: 'LessThanOrEqualToThreshold', evaluationPeriods: 1, datapointsToAlarm: 1 });
    expect(evaluateAlarm(low, [10], 'OK').state).toBe('ALARM');
    expect(evaluateAlarm(low, [10.5], 'ALARM').state).toBe('OK');
  });

  it('looks only at the last EvaluationPeriods datapoints', () => {
    expect(evaluateAlarm(rule({ evaluationPeriods: 2, datapointsToAlarm: 2 }), [1, 11, 12], 'OK').state).toBe('ALARM');
  });

  it('counts missing periods as breaching with treatMissingData breaching', () => {
    const r = rule({ treatMissingData: 'breaching' });
    expect(evaluateAlarm(r, [undefined, 11, undefined], 'OK').state).toBe('ALARM');
    expect(evaluateAlarm(r, [undefined, undefined, undefined], 'OK').state).toBe('ALARM');
    expect(evaluateAlarm(r, [undefined, 5, undefined], 'OK').state).toBe('OK');
  });

  it('counts missing periods as fine with treatMissingData notBreaching, so an idle metric is OK', () => {
    const r = rule({ treatMissingData: 'notBreaching', evaluationPeriods: 1, datapointsToAlarm: 1 });
    expect(evaluateAlarm(r, [undefined], 'INSUFFICIENT_DATA').state).toBe('OK');
    expect(evaluateAlarm(r, [undefined], 'ALARM').state).toBe('OK');
    expect(evaluateAlarm(rule({ treatMissingData: 'notBreaching' }), [11, undefined, 13], 'OK').state).toBe('OK');
  });

  it('goes to INSUFFICIENT_DATA without any datapoint with treatMissingData missing (the default)', () => {
    const evaluation = evaluateAlarm(rule(), [undefined, undefined, undefined], 'OK');
    expect(evaluation).toMatchObject({ state: 'INSUFFICIENT_DATA', present: 0 });
    expect(evaluation.reason).toMatch(/^Insufficient Data/);
  });

  it('keeps the state without any datapoint with treatMissingData ignore', () => {
    const r = rule({ treatMissingData: 'ignore' });
    expect(evaluateAlarm(r, [undefined, undefined, undefined], 'ALARM').state).toBe('ALARM');
    expect(evaluateAlarm(r, [undefined, undefined, undefined], 'OK').state).toBe('OK');
  });

  it('evaluates only the present datapoints when at least M are present (missing and ignore)', () => {
    for (const treatMissingData of ['missing', 'ignore'] as const) {
      const r = rule({ treatMissingData, datapointsToAlarm: 2 });
      expect(evaluateAlarm(r, [11, undefined, 12], 'OK').state).toBe('ALARM');
      expect(evaluateAlarm(r, [11, undefined, 5], 'ALARM').state).toBe('OK');
    }
  });

  it('with fewer than M present, alarms when all of them breach (missing) or keeps the state (ignore)', () => {
    const data = [undefined, 11, undefined];
    expect(evaluateAlarm(rule(), data, 'OK').state).toBe('ALARM');
    expect(evaluateAlarm(rule({ treatMissingData: 'ignore' }), data, 'OK').state).toBe('OK');
    expect(evaluateAlarm(rule({ treatMissingData: 'ignore' }), data, 'ALARM').state).toBe('ALARM');
    expect(evaluateAlarm(rule(), [undefined, 5, undefined], 'ALARM').state).toBe('OK');
    expect(evaluateAlarm(rule({ treatMissingData: 'ignore' }), [undefined, 5, undefined], 'ALARM').state).toBe('OK');
  });

  it('says in the reason what it compared', () => {
    const evaluation = evaluateAlarm(rule({ datapointsToAlarm: 1 }), [undefined, 5, 60_000], 'OK');
    expect(evaluation).toMatchObject({ state: 'ALARM', present: 2, breaching: 1 });
    expect(evaluation.reason).toBe(
      'Threshold Crossed: 1 of 3 datapoints [-, 5, 60000] breach GreaterThanThreshold 10 (1 needed, missing data: missing)',
    );
  });
});

const STACK = { stackName: 'Replicator-us-east-1', region: 'us-east-1', templatePath: '/unused.json' };

/** A resolver over what moto holds after a deploy: queue URLs, function names and topic ARNs as physical ids. */
function resolverFor(template: Template, physical: Record<string, string>): TemplateResolver {
  const summaries = new Map<string, StackResourceSummary>(
    Object.entries(physical).map(([id, p]) => [
      id,
      {
        LogicalResourceId: id,
        PhysicalResourceId: p,
        ResourceType: '',
        ResourceStatus: 'CREATE_COMPLETE',
        LastUpdatedTimestamp: new Date(),
      },
    ]),
  );
  return new TemplateResolver(STACK, template, summaries, {} as DiscoveryClients);
}

const TEMPLATE: Template = {
  Resources: {
    Dlq: { Type: 'AWS::SQS::Queue' },
    Apply: { Type: 'AWS::Lambda::Function' },
    Topic: { Type: 'AWS::SNS::Topic' },
  },
};
const PHYSICAL = {
  Dlq: 'https://sqs.us-east-1.amazonaws.com/123456789012/Replicator-us-east-1-Dlq-ABC',
  Apply: 'Replicator-us-east-1-Apply-XYZ',
  Topic: 'arn:aws:sns:us-east-1:123456789012:Replicator-us-east-1-Topic-T',
};

/** An alarm as lib/constructs/monitoring.ts synthesizes it. */
const DLQ_ALARM = {
  AlarmActions: [{ Ref: 'Topic' }],
  OKActions: [{ Ref: 'Topic' }],
  AlarmName: 'replicator-orders-dlq',
  ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['Dlq', 'QueueName'] } }],
  EvaluationPeriods: 1,
  MetricName: 'ApproximateNumberOfMessagesVisible',
  Namespace: 'AWS/SQS',
  Period: 60,
  Statistic: 'Maximum',
  Tags: [{ Key: 'replicator:pair', Value: 'orders' }],
  Threshold: 1,
  TreatMissingData: 'notBreaching',
};

describe('resolveAlarm', () => {
  it("resolves a monitoring alarm's Ref and Fn::GetAtt into PutMetricAlarm parameters and its rule", async () => {
    const alarm = await resolveAlarm(STACK, 'DeadLetterAlarm', DLQ_ALARM, resolverFor(TEMPLATE, PHYSICAL));
    expect(alarm.input).toEqual({
      ...DLQ_ALARM,
      AlarmActions: [PHYSICAL.Topic],
      OKActions: [PHYSICAL.Topic],
      Dimensions: [{ Name: 'QueueName', Value: 'Replicator-us-east-1-Dlq-ABC' }],
    });
    expect(alarm.rule).toEqual({
      threshold: 1,
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: 'notBreaching',
    });
    expect(alarm.query).toMatchObject({ namespace: 'AWS/SQS', stat: 'Maximum', period: 60 });
  });

  it('resolves Fn::Join and Fn::Sub, reads numbers given as strings, and evaluates a percentile on Maximum', async () => {
    const alarm = await resolveAlarm(
      STACK,
      'LatencyAlarm',
      {
        AlarmName: { 'Fn::Join': ['-', [{ Ref: 'Apply' }, 'latency']] },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders, not a JS template
        AlarmDescription: { 'Fn::Sub': 'p99 of ${AWS::StackName} via ${Apply}' },
        ComparisonOperator: 'GreaterThanThreshold',
        Dimensions: [{ Name: 'Pair', Value: 'orders' }],
        EvaluationPeriods: '3',
        DatapointsToAlarm: 2,
        ExtendedStatistic: 'p99',
        MetricName: 'ReplicationLatency',
        Namespace: 'Replicator',
        Period: '300',
        Threshold: '60000',
      },
      resolverFor(TEMPLATE, PHYSICAL),
    );
    expect(alarm.alarmName).toBe('Replicator-us-east-1-Apply-XYZ-latency');
    expect(alarm.input).toMatchObject({
      AlarmDescription: 'p99 of Replicator-us-east-1 via Replicator-us-east-1-Apply-XYZ',
      EvaluationPeriods: 3,
      Period: 300,
      Threshold: 60_000,
      ExtendedStatistic: 'p99',
    });
    expect(alarm.rule).toMatchObject({ evaluationPeriods: 3, datapointsToAlarm: 2, treatMissingData: 'missing' });
    expect(alarm.query?.stat).toBe('Maximum');
  });

  it('names an unnamed alarm after the stack and logical id', async () => {
    const { AlarmName: _, ...unnamed } = DLQ_ALARM;
    const alarm = await resolveAlarm(STACK, 'DeadLetterAlarm', unnamed, resolverFor(TEMPLATE, PHYSICAL));
    expect(alarm.alarmName).toBe('Replicator-us-east-1-DeadLetterAlarm');
  });

  it('fails naming the alarm and the property when a resource was not created', async () => {
    const { Dlq: _, ...withoutQueue } = PHYSICAL;
    await expect(
      resolveAlarm(STACK, 'DeadLetterAlarm', DLQ_ALARM, resolverFor(TEMPLATE, withoutQueue)),
    ).rejects.toThrow(
      /^alarm Replicator-us-east-1\/DeadLetterAlarm: property Dimensions: cannot resolve Fn::GetAtt Dlq\.QueueName/,
    );
  });

  it('fails naming the property for an intrinsic it does not know and for a missing required property', async () => {
    const resolver = resolverFor(TEMPLATE, PHYSICAL);
    await expect(
      resolveAlarm(STACK, 'A', { ...DLQ_ALARM, Threshold: { 'Fn::FindInMap': ['M', 'k', 'v'] } }, resolver),
    ).rejects.toThrow(/^alarm Replicator-us-east-1\/A: property Threshold: cannot resolve Fn::FindInMap/);
    const { EvaluationPeriods: _, ...noPeriods } = DLQ_ALARM;
    await expect(resolveAlarm(STACK, 'A', noPeriods, resolver)).rejects.toThrow(
      /^alarm Replicator-us-east-1\/A: property EvaluationPeriods: is required/,
    );
    await expect(resolveAlarm(STACK, 'A', { ...DLQ_ALARM, Period: 'soon' }, resolver)).rejects.toThrow(
      /property Period: must be a number \(given "soon"\)/,
    );
  });

  it('creates a metric-math alarm with its Metrics resolved but does not evaluate it', async () => {
    const alarm = await resolveAlarm(
      STACK,
      'MathAlarm',
      {
        AlarmName: 'math',
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        Threshold: 10,
        Metrics: [
          {
            Id: 'm1',
            ReturnData: false,
            MetricStat: {
              Metric: {
                Namespace: 'AWS/SQS',
                MetricName: 'ApproximateNumberOfMessagesVisible',
                Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['Dlq', 'QueueName'] } }],
              },
              Period: 60,
              Stat: 'Maximum',
            },
          },
          { Id: 'e1', Expression: 'm1 * 2', ReturnData: true },
        ],
      },
      resolverFor(TEMPLATE, PHYSICAL),
    );
    expect(alarm.input.Metrics?.[0]?.MetricStat?.Metric?.Dimensions).toEqual([
      { Name: 'QueueName', Value: 'Replicator-us-east-1-Dlq-ABC' },
    ]);
    expect(alarm.rule).toBeUndefined();
    expect(alarm.notEvaluated).toMatch(/metric math is not evaluated locally/);
  });
});

describe('LocalAlarms.evaluateOnce', () => {
  const cw = mockClient(CloudWatchClient);
  beforeEach(() => cw.reset());

  it('reads the aligned window, sets the new state and notifies the actions of that state', async () => {
    const alarm = await resolveAlarm(STACK, 'DeadLetterAlarm', DLQ_ALARM, resolverFor(TEMPLATE, PHYSICAL));
    const now = Date.UTC(2026, 0, 1, 12, 0, 30);
    cw.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'replicator-orders-dlq', StateValue: 'OK' }] });
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [{ Id: 'q0', Timestamps: [new Date(Date.UTC(2026, 0, 1, 12, 0, 0))], Values: [3] }],
    });
    const notifications: AlarmNotification[] = [];
    const local = new LocalAlarms([alarm as AlarmInfo], {
      cloudWatch: () => new CloudWatchClient({ region: 'us-east-1' }),
      now: () => now,
      notify: async (n) => {
        notifications.push(n);
      },
    });
    const transitions = await local.evaluateOnce();
    expect(transitions).toMatchObject([{ alarmName: 'replicator-orders-dlq', from: 'OK', to: 'ALARM' }]);
    expect(cw).toReceiveCommandWith(GetMetricDataCommand, {
      StartTime: new Date(Date.UTC(2026, 0, 1, 12, 0, 0)),
      EndTime: new Date(Date.UTC(2026, 0, 1, 12, 1, 0)),
    });
    expect(cw).toReceiveCommandWith(SetAlarmStateCommand, { AlarmName: 'replicator-orders-dlq', StateValue: 'ALARM' });
    expect(notifications).toHaveLength(1);
    expect(notifications[0]?.topicArns).toEqual([PHYSICAL.Topic]);
    expect(JSON.parse(notifications[0]!.message)).toMatchObject({
      AlarmName: 'replicator-orders-dlq',
      OldStateValue: 'OK',
      NewStateValue: 'ALARM',
      Trigger: { Dimensions: [{ name: 'QueueName', value: 'Replicator-us-east-1-Dlq-ABC' }] },
    });
  });

  it('changes nothing when the state is already right', async () => {
    const alarm = await resolveAlarm(STACK, 'DeadLetterAlarm', DLQ_ALARM, resolverFor(TEMPLATE, PHYSICAL));
    cw.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'replicator-orders-dlq', StateValue: 'OK' }] });
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'q0', Timestamps: [], Values: [] }] });
    const local = new LocalAlarms([alarm], { cloudWatch: () => new CloudWatchClient({ region: 'us-east-1' }) });
    expect(await local.evaluateOnce()).toEqual([]);
    expect(cw).not.toReceiveCommand(SetAlarmStateCommand);
  });

  it('reads alarms of the same period and window in one GetMetricData call', async () => {
    const resolver = resolverFor(TEMPLATE, PHYSICAL);
    const dlq = await resolveAlarm(STACK, 'DeadLetterAlarm', DLQ_ALARM, resolver);
    const errors = await resolveAlarm(
      STACK,
      'ApplyErrorsAlarm',
      {
        ...DLQ_ALARM,
        AlarmName: 'replicator-orders-apply-errors',
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Statistic: 'Sum',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'Apply' } }],
      },
      resolver,
    );
    cw.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        { AlarmName: 'replicator-orders-dlq', StateValue: 'OK' },
        { AlarmName: 'replicator-orders-apply-errors', StateValue: 'OK' },
      ],
    });
    const now = Date.UTC(2026, 0, 1, 12, 0, 30);
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'q0', Timestamps: [], Values: [] },
        { Id: 'q1', Timestamps: [new Date(Date.UTC(2026, 0, 1, 12, 0, 0))], Values: [2] },
      ],
    });
    const local = new LocalAlarms([dlq, errors], {
      cloudWatch: () => new CloudWatchClient({ region: 'us-east-1' }),
      now: () => now,
    });
    expect(await local.evaluateOnce()).toMatchObject([{ alarmName: 'replicator-orders-apply-errors', to: 'ALARM' }]);
    expect(cw).toReceiveCommandTimes(GetMetricDataCommand, 1);
    expect(cw).toReceiveCommandWith(GetMetricDataCommand, {
      MetricDataQueries: [
        expect.objectContaining({ Id: 'q0' }),
        expect.objectContaining({
          Id: 'q1',
          MetricStat: expect.objectContaining({
            Metric: {
              Namespace: 'AWS/Lambda',
              MetricName: 'Errors',
              Dimensions: [{ Name: 'FunctionName', Value: PHYSICAL.Apply }],
            },
            Stat: 'Sum',
          }),
        }),
      ],
    });
  });

  it('does not evaluate with an interval of 0, and evaluates on the interval otherwise', async () => {
    const alarm = await resolveAlarm(STACK, 'DeadLetterAlarm', DLQ_ALARM, resolverFor(TEMPLATE, PHYSICAL));
    cw.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
    vi.useFakeTimers();
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const client = () => new CloudWatchClient({ region: 'us-east-1' });
    const off = new LocalAlarms([alarm], { cloudWatch: client, intervalMs: 0 });
    off.start();
    await vi.advanceTimersByTimeAsync(60_000);
    await off.stop();
    expect(cw).not.toReceiveCommand(DescribeAlarmsCommand);
    const on = new LocalAlarms([alarm], { cloudWatch: client });
    on.start();
    await vi.advanceTimersByTimeAsync(10_000);
    await on.stop();
    expect(cw).toReceiveCommandTimes(DescribeAlarmsCommand, 1);
  });
});
