import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { RECONCILE_DEFAULTS, type ReplicationConfigInput } from '../../lib/config';
import { RECONCILE_TIMEOUT } from '../../lib/constructs/reconciler';
import { ReplicationStack } from '../../lib/replication-stack';
import {
  arnText,
  DATASETS_CONFIG,
  functionLogicalId,
  functionProps,
  logicalIdOf,
  MIXED_CONFIG,
  ORDERS_CONFIG,
  resourcesFor,
  statementsOf,
  TWO_PAIRS_CONFIG,
  testApp,
} from './helpers';

function template(config: ReplicationConfigInput): Template {
  return Template.fromStack(new ReplicationStack(testApp(), 'Replicator-us-east-1', { config }));
}

function envOf(t: Template, functionName: string): Record<string, string> {
  return (functionProps(t, functionName).Environment as { Variables: Record<string, string> }).Variables;
}

const RECONCILED_ORDERS: ReplicationConfigInput = {
  ...ORDERS_CONFIG,
  reconcile: { schedule: 'rate(6 hours)', repair: true },
};

type DynamoPairInput = Extract<ReplicationConfigInput['pairs'][number], { type: 'dynamodb' }>;

/** The users pair deletes extra items; the run is tuned. */
const RECONCILED_TWO_PAIRS: ReplicationConfigInput = {
  ...TWO_PAIRS_CONFIG,
  pairs: [TWO_PAIRS_CONFIG.pairs[0]!, { ...(TWO_PAIRS_CONFIG.pairs[1] as DynamoPairInput), deleteExtra: true }],
  reconcile: { schedule: 'cron(0 3 * * ? *)', repair: false, readRate: 250, segments: 8 },
};

describe('reconcile function', () => {
  it('exists only when the config has reconcile', () => {
    const without = template(ORDERS_CONFIG);
    expect(
      Object.keys(
        without.findResources('AWS::Lambda::Function', { Properties: { FunctionName: 'replicator-orders-reconcile' } }),
      ),
    ).toEqual([]);
    without.resourceCountIs('AWS::Events::Rule', 0);
    expect(() => functionLogicalId(template(RECONCILED_ORDERS), 'replicator-orders-reconcile')).not.toThrow();
  });

  it('gives S3 pairs a reconciler too, with its own handler', () => {
    const t = template({ ...MIXED_CONFIG, reconcile: { schedule: 'rate(1 day)', repair: true } });
    t.resourceCountIs('AWS::Events::Rule', 2);
    expect(() => functionLogicalId(t, 'replicator-datasets-reconcile')).not.toThrow();
  });

  it('runs for 900 seconds with 1024 MB', () => {
    const props = functionProps(template(RECONCILED_ORDERS), 'replicator-orders-reconcile');
    expect(RECONCILE_TIMEOUT.toSeconds()).toBe(900);
    expect(props).toMatchObject({ Timeout: 900, MemorySize: 1024 });
  });

  it.each([
    [RECONCILED_ORDERS, 'orders', 'rate(6 hours)'],
    [RECONCILED_TWO_PAIRS, 'users', 'cron(0 3 * * ? *)'],
  ])('is invoked by a rule on the configured schedule (%#)', (config, pair, schedule) => {
    const t = template(config);
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: schedule,
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [functionLogicalId(t, `replicator-${pair}-reconcile`), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
        }),
      ],
    });
    t.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [functionLogicalId(t, `replicator-${pair}-reconcile`), 'Arn'] },
    });
  });

  it('defaults to 100 read units/s, 4 segments and no deletes of extra items', () => {
    const t = template(RECONCILED_ORDERS);
    const env = envOf(t, 'replicator-orders-reconcile');
    expect(env).toMatchObject({
      PAIR_NAME: 'orders',
      SOURCE_TABLE: 'orders',
      SOURCE_REGION: 'us-east-1',
      STATE_TABLE: { Ref: logicalIdOf(t, 'AWS::DynamoDB::Table', { TableName: 'replicator-orders-state' }) },
      QUEUE_URL: { Ref: logicalIdOf(t, 'AWS::SQS::Queue', { QueueName: 'replicator-orders' }) },
      REPAIR: 'true',
      REQUEST_TIMEOUT_SECONDS: '10',
      DELETE_EXTRA: String(RECONCILE_DEFAULTS.deleteExtra),
      READ_RATE: String(RECONCILE_DEFAULTS.readRate),
      SEGMENTS: String(RECONCILE_DEFAULTS.segments),
      POWERTOOLS_SERVICE_NAME: 'replicator-reconcile',
      POWERTOOLS_METRICS_NAMESPACE: 'Replicator',
    });
    expect(RECONCILE_DEFAULTS).toMatchObject({ readRate: 100, segments: 4, deleteExtra: false });
    expect(env.FILTER).toBeUndefined();
    expect(JSON.parse(env.TARGETS!)).toEqual([
      { id: 'eu-west-1/orders', region: 'eu-west-1', table: 'orders' },
      { id: 'ap-northeast-1/orders-replica', region: 'ap-northeast-1', table: 'orders-replica' },
    ]);
  });

  it('passes the tuning, repair, deleteExtra, filter and cross-account targets of the config', () => {
    const env = envOf(template(RECONCILED_TWO_PAIRS), 'replicator-users-reconcile');
    expect(env).toMatchObject({ REPAIR: 'false', DELETE_EXTRA: 'true', READ_RATE: '250', SEGMENTS: '8' });
    expect(JSON.parse(env.FILTER!)).toEqual({ deny: ['password'] });
    expect(JSON.parse(env.TARGETS!)).toContainEqual({
      id: '210987654321/eu-central-1/users-copy',
      region: 'eu-central-1',
      table: 'users-copy',
      roleArn: 'arn:aws:iam::210987654321:role/replicator-writer',
      externalId: 'replicator-ext',
    });
    expect(envOf(template(RECONCILED_TWO_PAIRS), 'replicator-orders-reconcile').DELETE_EXTRA).toBe('false');
  });
});

describe('reconcile least privilege', () => {
  const t = template(RECONCILED_TWO_PAIRS);
  const readActions = ['dynamodb:BatchGetItem', 'dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:Scan'];

  it('grants no action on "*"', () => {
    for (const fn of ['replicator-orders-reconcile', 'replicator-users-reconcile']) {
      for (const s of statementsOf(t, fn)) expect(s.Resource).not.toContain('*');
    }
  });

  it('reads exactly its source and its same-account targets, and writes neither', () => {
    const statements = statementsOf(t, 'replicator-users-reconcile');
    const targets = statements.find((s) => s.Sid === 'ReadTargets')!;
    expect([...targets.Action].sort()).toEqual(readActions);
    // The cross-account target (users-copy) is read as its role only: no grant of the function's own.
    expect(targets.Resource.map(arnText)).toEqual(['arn:aws:dynamodb:eu-west-1:123456789012:table/users']);
    const source = statements.find((s) => s.Sid === 'ReadSource')!;
    expect([...source.Action].sort()).toEqual(readActions);
    expect(source.Resource.map(arnText)).toEqual(['arn:aws:dynamodb:us-east-1:123456789012:table/users']);
    for (const action of ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem']) {
      expect(resourcesFor(statements, action).map(arnText).join(' ')).not.toMatch(/table\/users(-copy)?$/);
    }
  });

  it('assumes exactly the target roles, uses its state table and sends only to its pair queue and its failure queue', () => {
    const statements = statementsOf(t, 'replicator-users-reconcile');
    expect(resourcesFor(statements, 'sts:AssumeRole')).toEqual(['arn:aws:iam::210987654321:role/replicator-writer']);
    expect(resourcesFor(statementsOf(t, 'replicator-orders-reconcile'), 'sts:AssumeRole')).toEqual([]);
    const state = logicalIdOf(t, 'AWS::DynamoDB::Table', { TableName: 'replicator-users-state' });
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem']) {
      expect(resourcesFor(statements, action)).toContainEqual({ 'Fn::GetAtt': [state, 'Arn'] });
    }
    const queue = logicalIdOf(t, 'AWS::SQS::Queue', { QueueName: 'replicator-users' });
    const failures = logicalIdOf(t, 'AWS::SQS::Queue', { QueueName: 'replicator-users-reconcile-failures' });
    // The failure queue is the on-failure destination of its scheduled invocations (Lambda sends as the function).
    expect(resourcesFor(statements, 'sqs:SendMessage')).toEqual(
      expect.arrayContaining([{ 'Fn::GetAtt': [queue, 'Arn'] }, { 'Fn::GetAtt': [failures, 'Arn'] }]),
    );
    expect(resourcesFor(statements, 'sqs:SendMessage')).toHaveLength(2);
    expect(statements.flatMap((s) => s.Action).filter((a) => a.startsWith('cloudwatch:'))).toEqual([]);
  });
});

type S3PairInput = Extract<ReplicationConfigInput['pairs'][number], { type: 's3' }>;

describe('S3 pair reconciler', () => {
  const config: ReplicationConfigInput = {
    ...DATASETS_CONFIG,
    pairs: [{ ...(DATASETS_CONFIG.pairs[0] as S3PairInput), deleteExtra: true }, DATASETS_CONFIG.pairs[1]!],
    reconcile: { schedule: 'rate(12 hours)', repair: true, readRate: 400 },
  };
  const t = template(config);

  it("runs the S3 handler with the pair's bucket, prefix, suffix, targets and deleteExtra", () => {
    const env = envOf(t, 'replicator-datasets-reconcile');
    expect(env).toMatchObject({
      PAIR_NAME: 'datasets',
      SOURCE_BUCKET: 'training-data',
      SOURCE_REGION: 'us-east-1',
      PREFIX: 'datasets/',
      REPAIR: 'true',
      DELETE_EXTRA: 'true',
      READ_RATE: '400',
      STATE_TABLE: { Ref: logicalIdOf(t, 'AWS::DynamoDB::Table', { TableName: 'replicator-datasets-state' }) },
      QUEUE_URL: { Ref: logicalIdOf(t, 'AWS::SQS::Queue', { QueueName: 'replicator-datasets' }) },
    });
    expect(env.SUFFIX).toBeUndefined();
    expect(env.SOURCE_TABLE).toBeUndefined();
    expect(JSON.parse(env.TARGETS!).map((x: { id: string }) => x.id)).toEqual([
      'eu-west-1/training-data-eu',
      '210987654321/ap-northeast-1/training-data-partner',
    ]);
    const checkpoints = envOf(t, 'replicator-checkpoints-reconcile');
    expect(checkpoints).toMatchObject({ SUFFIX: '.ckpt', DELETE_EXTRA: 'false' });
    expect(checkpoints.PREFIX).toBeUndefined();
  });

  it('lists and reads objects under the prefix only, and writes no bucket', () => {
    const statements = statementsOf(t, 'replicator-datasets-reconcile');
    const list = statements.find((s) => s.Sid === 'ListPrefix')!;
    expect(list.Action).toEqual(['s3:ListBucket']);
    expect(list.Condition).toEqual({ StringLikeIfExists: { 's3:prefix': 'datasets/*' } });
    // training-data-partner is in another account: read as its role only.
    expect(list.Resource.map(arnText).sort()).toEqual(['arn:aws:s3:::training-data', 'arn:aws:s3:::training-data-eu']);
    const read = statements.find((s) => s.Sid === 'ReadObjects')!;
    expect(read.Action).toEqual(['s3:GetObject']);
    expect(read.Resource.map(arnText).sort()).toEqual([
      'arn:aws:s3:::training-data-eu/datasets/*',
      'arn:aws:s3:::training-data/datasets/*',
    ]);
    const s3Actions = statements.flatMap((s) => s.Action).filter((a) => a.startsWith('s3:'));
    expect([...new Set(s3Actions)].sort()).toEqual(['s3:GetObject', 's3:ListBucket']);
    expect(resourcesFor(statements, 'sts:AssumeRole')).toEqual(['arn:aws:iam::210987654321:role/replicator-writer']);
    const queue = logicalIdOf(t, 'AWS::SQS::Queue', { QueueName: 'replicator-datasets' });
    const failures = logicalIdOf(t, 'AWS::SQS::Queue', { QueueName: 'replicator-datasets-reconcile-failures' });
    expect(resourcesFor(statements, 'sqs:SendMessage')).toEqual(
      expect.arrayContaining([{ 'Fn::GetAtt': [queue, 'Arn'] }, { 'Fn::GetAtt': [failures, 'Arn'] }]),
    );
    expect(resourcesFor(statements, 'sqs:SendMessage')).toHaveLength(2);
  });
});

describe("the reconciler can't fail silently", () => {
  const t = template({ ...TWO_PAIRS_CONFIG, reconcile: { schedule: 'rate(2 hours)', repair: true } });

  it('runs one invocation at a time and sends a scheduled invocation that keeps failing to its failure queue', () => {
    const fn = functionLogicalId(t, 'replicator-orders-reconcile');
    t.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'replicator-orders-reconcile',
      ReservedConcurrentExecutions: 1,
    });
    const failures = logicalIdOf(t, 'AWS::SQS::Queue', { QueueName: 'replicator-orders-reconcile-failures' });
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fn },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [failures, 'Arn'] } } },
    });
  });

  it('alarms on its errors, its failed invocations, and no run finishing for two schedule periods', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'replicator-orders-reconcile-errors',
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'replicator-orders-reconcile-failures',
      MetricName: 'ApproximateNumberOfMessagesVisible',
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'replicator-orders-reconcile-overdue',
      Namespace: 'Replicator',
      MetricName: 'ReconcileRuns',
      Dimensions: [{ Name: 'Pair', Value: 'orders' }],
      Statistic: 'Sum',
      Period: 7200,
      EvaluationPeriods: 2,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('watches a schedule of days in day-long periods, and warns that a cron schedule has no overdue alarm', () => {
    const daily = template({ ...TWO_PAIRS_CONFIG, reconcile: { schedule: 'rate(3 days)', repair: true } });
    daily.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'replicator-orders-reconcile-overdue',
      Period: 86400,
      EvaluationPeriods: 6,
    });
    const cron = template({ ...TWO_PAIRS_CONFIG, reconcile: { schedule: 'cron(0 3 * * ? *)', repair: true } });
    expect(
      Object.values(cron.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties.AlarmName),
    ).not.toContain('replicator-orders-reconcile-overdue');
  });
});
