import { existsSync } from 'node:fs';
import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { type DynamoPairConfig, PAIR_DEFAULTS, parseConfig, type ReplicationConfigInput } from '../../lib/config';
import { DYNAMODB_HANDLERS, TablePair } from '../../lib/pair-types/dynamodb';
import { ReplicationStack } from '../../lib/replication-stack';
import {
  arnText,
  functionLogicalId,
  functionProps,
  logicalIdOf,
  ORDERS_CONFIG,
  resourcesFor,
  statementsOf,
  TWO_PAIRS_CONFIG,
  testApp,
  testStack,
} from './helpers';

function pairOf(config: ReplicationConfigInput, name: string): DynamoPairConfig {
  const pair = parseConfig(config).pairs.find((p) => p.name === name);
  if (pair?.type !== 'dynamodb') throw new Error(`no DynamoDB pair ${name}`);
  return pair;
}

function ordersTemplate(extra: Partial<ConstructorParameters<typeof TablePair>[2]> = {}): Template {
  const stack = testStack();
  new TablePair(stack, 'OrdersPair', { pair: pairOf(ORDERS_CONFIG, 'orders'), ...extra });
  return Template.fromStack(stack);
}

function twoPairsTemplate(): Template {
  const stack = new ReplicationStack(testApp(), 'Replicator-us-east-1', { config: TWO_PAIRS_CONFIG });
  return Template.fromStack(stack);
}

function envOf(template: Template, functionName: string): Record<string, string> {
  return (functionProps(template, functionName).Environment as { Variables: Record<string, string> }).Variables;
}

describe('capture stream mapping', () => {
  const template = ordersTemplate();

  it('bisects, retries 10 times, drops records older than a day and reports item failures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionLogicalId(template, 'replicator-orders-capture') },
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('SourceTable'), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: PAIR_DEFAULTS.captureBatchSize,
      MaximumBatchingWindowInSeconds: 0,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 86400,
      ParallelizationFactor: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('sends records it gives up on to the capture failure queue', () => {
    const failureQueue = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-orders-capture-failures' });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionLogicalId(template, 'replicator-orders-capture') },
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [failureQueue, 'Arn'] } } },
    });
  });
});

describe('apply queue mapping', () => {
  const template = ordersTemplate();

  it('reads the pair queue with partial batch responses, no batching window and the concurrency cap', () => {
    const queue = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-orders' });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionLogicalId(template, 'replicator-orders-apply') },
      EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
      BatchSize: PAIR_DEFAULTS.applyBatchSize,
      MaximumBatchingWindowInSeconds: 0,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: PAIR_DEFAULTS.applyConcurrency },
    });
  });
});

describe('pair options', () => {
  const template = twoPairsTemplate();

  it('gives both mappings the batching window asked for', () => {
    const config = { ...ORDERS_CONFIG, pairs: [{ ...ORDERS_CONFIG.pairs[0]!, options: { batchWindowSeconds: 5 } }] };
    const stack = testStack();
    new TablePair(stack, 'OrdersPair', { pair: pairOf(config, 'orders') });
    const windows = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::EventSourceMapping')).map(
      (r) =>
        (r as { Properties: { MaximumBatchingWindowInSeconds?: number } }).Properties.MaximumBatchingWindowInSeconds,
    );
    // Capture's and apply's; the backfill job's mapping (batch size 1) has none.
    expect(windows.filter((w) => w !== undefined)).toEqual([5, 5]);
  });

  it('takes the pair options over the defaults', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionLogicalId(template, 'replicator-users-capture') },
      BatchSize: 500,
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionLogicalId(template, 'replicator-users-apply') },
      BatchSize: 5,
      ScalingConfig: { MaximumConcurrency: 4 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'replicator-users',
      RedrivePolicy: { maxReceiveCount: 5 },
    });
    expect(envOf(template, 'replicator-users-capture').ENVELOPES_PER_MESSAGE).toBe('10');
    expect(envOf(template, 'replicator-users-apply').MAX_ATTEMPTS).toBe('3');
  });

  // One test per default of PairOptions (PAIR_DEFAULTS), so the documented defaults cannot drift.
  const defaults = ordersTemplate();
  it(`defaults captureBatchSize to ${PAIR_DEFAULTS.captureBatchSize}`, () => {
    defaults.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionLogicalId(defaults, 'replicator-orders-capture') },
      BatchSize: 100,
    });
  });
  it(`defaults applyBatchSize to ${PAIR_DEFAULTS.applyBatchSize}`, () => {
    defaults.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionLogicalId(defaults, 'replicator-orders-apply') },
      BatchSize: 10,
    });
  });
  it(`defaults retryFor to ${PAIR_DEFAULTS.retryFor}: transient failures are retried a day`, () => {
    expect(envOf(defaults, 'replicator-orders-apply').RETRY_FOR_SECONDS).toBe('86400');
  });
  it(`defaults requestTimeout to ${PAIR_DEFAULTS.requestTimeout} on every function of the pair`, () => {
    for (const fn of ['replicator-orders-capture', 'replicator-orders-apply']) {
      expect(envOf(defaults, fn).REQUEST_TIMEOUT_SECONDS).toBe('10');
    }
  });
  it(`defaults maxAttempts to ${PAIR_DEFAULTS.maxAttempts}`, () => {
    expect(envOf(defaults, 'replicator-orders-apply').MAX_ATTEMPTS).toBe('5');
    defaults.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'replicator-orders',
      RedrivePolicy: { maxReceiveCount: 7 },
    });
  });
  it(`defaults envelopesPerMessage to ${PAIR_DEFAULTS.envelopesPerMessage}`, () => {
    expect(envOf(defaults, 'replicator-orders-capture').ENVELOPES_PER_MESSAGE).toBe('25');
  });
  it(`defaults applyConcurrency to ${PAIR_DEFAULTS.applyConcurrency}`, () => {
    defaults.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionLogicalId(defaults, 'replicator-orders-apply') },
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });
});

describe('environment', () => {
  it('gives capture its pair, queue, origin region, packing and no FILTER without a filter', () => {
    const template = ordersTemplate();
    const queue = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-orders' });
    const env = envOf(template, 'replicator-orders-capture');
    expect(Object.keys(env).sort()).toEqual(
      [
        'ENVELOPES_PER_MESSAGE',
        'NODE_OPTIONS',
        'ORIGIN_REGION',
        'PAIR_NAME',
        'POWERTOOLS_LOG_LEVEL',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_SERVICE_NAME',
        'QUEUE_URL',
        'REQUEST_TIMEOUT_SECONDS',
      ].sort(),
    );
    expect(env).toMatchObject({
      PAIR_NAME: 'orders',
      QUEUE_URL: { Ref: queue },
      ORIGIN_REGION: 'us-east-1',
      POWERTOOLS_SERVICE_NAME: 'replicator-capture',
      POWERTOOLS_METRICS_NAMESPACE: 'Replicator',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('passes the pair filter as JSON to capture and apply', () => {
    const template = twoPairsTemplate();
    expect(JSON.parse(envOf(template, 'replicator-users-capture').FILTER!)).toEqual({ deny: ['password'] });
    expect(JSON.parse(envOf(template, 'replicator-users-apply').FILTER!)).toEqual({ deny: ['password'] });
    expect(envOf(template, 'replicator-orders-apply').FILTER).toBeUndefined();
  });

  it('gives apply its queues, tables, source region, attempts and targets', () => {
    const template = ordersTemplate();
    const queue = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-orders' });
    const dlq = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-orders-dlq' });
    const state = logicalIdOf(template, 'AWS::DynamoDB::Table', { TableName: 'replicator-orders-state' });
    const env = envOf(template, 'replicator-orders-apply');
    expect(env).toMatchObject({
      PAIR_NAME: 'orders',
      QUEUE_URL: { Ref: queue },
      DLQ_URL: { Ref: dlq },
      STATE_TABLE: { Ref: state },
      SOURCE_TABLE: 'orders',
      SOURCE_REGION: 'us-east-1',
      MAX_ATTEMPTS: '5',
      POWERTOOLS_SERVICE_NAME: 'replicator-apply',
      POWERTOOLS_METRICS_NAMESPACE: 'Replicator',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    });
    expect(JSON.parse(env.TARGETS!)).toEqual([
      { id: 'eu-west-1/orders', region: 'eu-west-1', table: 'orders' },
      { id: 'ap-northeast-1/orders-replica', region: 'ap-northeast-1', table: 'orders-replica' },
    ]);
  });

  it('lists a cross-account target with its account in the id, its role and external id', () => {
    const targets = JSON.parse(envOf(twoPairsTemplate(), 'replicator-users-apply').TARGETS!);
    expect(targets).toContainEqual({
      id: '210987654321/eu-central-1/users-copy',
      region: 'eu-central-1',
      table: 'users-copy',
      roleArn: 'arn:aws:iam::210987654321:role/replicator-writer',
      externalId: 'replicator-ext',
    });
  });
});

describe('tables', () => {
  it('creates the source with its key schema, on demand, a NEW_AND_OLD_IMAGES stream and PITR', () => {
    ordersTemplate().hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'orders',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ]),
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('retains a created source table by default (sourceRemovalPolicy)', () => {
    ordersTemplate().hasResource('AWS::DynamoDB::Table', {
      Properties: { TableName: 'orders' },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('applies another sourceRemovalPolicy when given', () => {
    ordersTemplate({ sourceRemovalPolicy: RemovalPolicy.DESTROY }).hasResource('AWS::DynamoDB::Table', {
      Properties: { TableName: 'orders' },
      DeletionPolicy: 'Delete',
    });
  });

  it('creates the state table with pk, ttl, PITR, on demand, deleted with the stack', () => {
    ordersTemplate().hasResource('AWS::DynamoDB::Table', {
      Properties: {
        TableName: 'replicator-orders-state',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      },
      DeletionPolicy: 'Delete',
    });
  });

  it('imports a source with a stream ARN without creating it and maps its stream', () => {
    const template = twoPairsTemplate();
    template.resourcePropertiesCountIs('AWS::DynamoDB::Table', { TableName: 'users' }, 0);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionLogicalId(template, 'replicator-users-capture') },
      EventSourceArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/2024-01-01T00:00:00.000',
    });
  });

  it('takes sourceStreamArn over the config (defaults to source.streamArn)', () => {
    const stack = testStack();
    const streamArn = 'arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/2025-02-02T00:00:00.000';
    new TablePair(stack, 'UsersPair', { pair: pairOf(TWO_PAIRS_CONFIG, 'users'), sourceStreamArn: streamArn });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: streamArn,
    });
  });

  it('fails for an imported source with no stream ARN, naming the pair and the table', () => {
    const pair = pairOf(
      {
        sourceRegion: 'us-east-1',
        pairs: [
          {
            name: 'legacy',
            type: 'dynamodb',
            source: { table: 'legacy-table' },
            targets: [{ region: 'eu-west-1', table: 'legacy-table' }],
          },
        ],
      },
      'legacy',
    );
    expect(() => new TablePair(testStack(), 'LegacyPair', { pair })).toThrow(
      /Pair "legacy": the imported source table "legacy-table" needs a stream ARN/,
    );
  });

  it('defaults its handler entries to DYNAMODB_HANDLERS, files of this project', () => {
    for (const entry of Object.values(DYNAMODB_HANDLERS)) expect(existsSync(entry)).toBe(true);
    expect(Object.keys(DYNAMODB_HANDLERS)).toEqual(['capture', 'apply', 'reconcile', 'backfill']);
  });

  it('fails on a handler entry that does not exist (captureEntry)', () => {
    expect(
      () =>
        new TablePair(testStack(), 'OrdersPair', {
          pair: pairOf(ORDERS_CONFIG, 'orders'),
          captureEntry: '/nonexistent/handler.ts',
        }),
    ).toThrow(/Cannot find entry file at \/nonexistent\/handler.ts/);
  });
});

describe('least privilege', () => {
  const template = twoPairsTemplate();
  // Conditional PutItem and DeleteItem: all apply does on a target (functions/dynamodb/store.ts).
  const writeActions = ['dynamodb:PutItem', 'dynamodb:DeleteItem'];
  const anyTableWrite = [...writeActions, 'dynamodb:BatchWriteItem', 'dynamodb:UpdateItem'];
  const flat = (v: unknown) => JSON.stringify(v);

  it('grants no dynamodb or sqs action on "*" except ListStreams', () => {
    for (const fn of ['replicator-orders-capture', 'replicator-orders-apply', 'replicator-users-apply']) {
      for (const s of statementsOf(template, fn)) {
        if (s.Resource.includes('*')) expect(s.Action).toEqual(['dynamodb:ListStreams']);
      }
    }
  });

  it('lets apply write exactly its same-account targets; a cross-account one only as its role', () => {
    const statements = statementsOf(template, 'replicator-users-apply').filter((s) => s.Sid === 'WriteTargets');
    expect(statements).toHaveLength(1);
    expect(statements[0]!.Action.sort()).toEqual([...writeActions].sort());
    expect(statements[0]!.Resource.map(arnText)).toEqual(['arn:aws:dynamodb:eu-west-1:123456789012:table/users']);
    // No other statement of the pair's apply function may write a target.
    const others = statementsOf(template, 'replicator-users-apply').filter((s) => s.Sid !== 'WriteTargets');
    expect(others.flatMap((s) => s.Resource.map(arnText)).join(' ')).not.toMatch(/eu-(west|central)-1/);
  });

  it('lets apply assume exactly the target roles', () => {
    expect(resourcesFor(statementsOf(template, 'replicator-users-apply'), 'sts:AssumeRole')).toEqual([
      'arn:aws:iam::210987654321:role/replicator-writer',
    ]);
    expect(resourcesFor(statementsOf(template, 'replicator-orders-apply'), 'sts:AssumeRole')).toEqual([]);
  });

  it('lets apply use its state table, read its source and send to its queue and DLQ', () => {
    const statements = statementsOf(template, 'replicator-orders-apply');
    const state = logicalIdOf(template, 'AWS::DynamoDB::Table', { TableName: 'replicator-orders-state' });
    const source = logicalIdOf(template, 'AWS::DynamoDB::Table', { TableName: 'orders' });
    const queue = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-orders' });
    const dlq = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-orders-dlq' });
    const stateArn = { 'Fn::GetAtt': [state, 'Arn'] };
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchGetItem']) {
      expect(resourcesFor(statements, action)).toContainEqual(stateArn);
    }
    expect(resourcesFor(statements, 'dynamodb:BatchGetItem')).toContainEqual({ 'Fn::GetAtt': [source, 'Arn'] });
    expect(resourcesFor(statements, 'dynamodb:BatchWriteItem')).not.toContainEqual({ 'Fn::GetAtt': [source, 'Arn'] });
    expect(resourcesFor(statements, 'sqs:SendMessage').map(flat).sort()).toEqual(
      [{ 'Fn::GetAtt': [queue, 'Arn'] }, { 'Fn::GetAtt': [dlq, 'Arn'] }].map(flat).sort(),
    );
  });

  it('reads an imported source by an ARN in the source region', () => {
    expect(
      resourcesFor(statementsOf(template, 'replicator-users-apply'), 'dynamodb:BatchGetItem').map(arnText),
    ).toContain('arn:aws:dynamodb:us-east-1:123456789012:table/users');
  });

  it('lets capture send to its pair queue and failure queue only, and write no table', () => {
    const statements = statementsOf(template, 'replicator-orders-capture');
    const queue = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-orders' });
    const failures = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-orders-capture-failures' });
    expect(resourcesFor(statements, 'sqs:SendMessage').map(flat).sort()).toEqual(
      [{ 'Fn::GetAtt': [queue, 'Arn'] }, { 'Fn::GetAtt': [failures, 'Arn'] }].map(flat).sort(),
    );
    for (const action of anyTableWrite) expect(resourcesFor(statements, action)).toEqual([]);
  });

  it("gives a second pair's functions nothing of the first pair's queues or tables", () => {
    const ordersIds = [
      logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-orders' }),
      logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-orders-dlq' }),
      logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-orders-capture-failures' }),
      logicalIdOf(template, 'AWS::DynamoDB::Table', { TableName: 'orders' }),
      logicalIdOf(template, 'AWS::DynamoDB::Table', { TableName: 'replicator-orders-state' }),
    ];
    for (const fn of ['replicator-users-capture', 'replicator-users-apply']) {
      const text = flat(statementsOf(template, fn));
      for (const id of ordersIds) expect(text).not.toContain(id);
      expect(text).not.toContain(':table/orders');
    }
  });
});

describe('tags', () => {
  it('tags every taggable resource of the pair with replicator:pair', () => {
    const template = ordersTemplate();
    const resources = template.toJSON().Resources as Record<string, { Type: string; Properties?: { Tags?: unknown } }>;
    const taggable = [
      'AWS::DynamoDB::Table',
      'AWS::SQS::Queue',
      'AWS::Lambda::Function',
      'AWS::IAM::Role',
      'AWS::Logs::LogGroup',
    ];
    const checked = Object.values(resources).filter((r) => taggable.includes(r.Type));
    expect(checked.length).toBeGreaterThan(10);
    for (const r of checked) {
      expect(r.Properties?.Tags).toContainEqual({ Key: 'replicator:pair', Value: 'orders' });
    }
  });
});
