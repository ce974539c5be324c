import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { ReplicationConfigInput } from '../../lib/config';
import { TablePair } from '../../lib/pair-types/dynamodb';
import { BucketPair } from '../../lib/pair-types/s3';
import { ReplicationStack } from '../../lib/replication-stack';
import { DATASETS_CONFIG, MIXED_CONFIG, ORDERS_CONFIG, TWO_PAIRS_CONFIG, testApp } from './helpers';

describe('ReplicationStack', () => {
  it('has only SQS mappings Lambda accepts: a batch above 10 with a window of at least 1 s (moto checks neither)', () => {
    for (const windowSeconds of [0, 3]) {
      const config: ReplicationConfigInput = {
        ...MIXED_CONFIG,
        pairs: MIXED_CONFIG.pairs.map((p) => ({ ...p, options: { batchWindowSeconds: windowSeconds } })),
      } as ReplicationConfigInput;
      const mappings = Object.values(
        Template.fromStack(new ReplicationStack(testApp(), 'Replicator-us-east-1', { config })).findResources(
          'AWS::Lambda::EventSourceMapping',
        ),
      ).map(
        (r) => r.Properties as { EventSourceArn: unknown; BatchSize?: number; MaximumBatchingWindowInSeconds?: number },
      );
      // Stream mappings have no such rule; every SQS source here is a queue of the stack (Fn::GetAtt ... Arn).
      const sqs = mappings.filter((m) => JSON.stringify(m.EventSourceArn).includes('Queue'));
      expect(sqs.length).toBeGreaterThanOrEqual(5);
      for (const m of sqs) {
        if ((m.BatchSize ?? 10) > 10) expect(m.MaximumBatchingWindowInSeconds ?? 0).toBeGreaterThanOrEqual(1);
      }
      expect(sqs.some((m) => (m.BatchSize ?? 10) > 10)).toBe(true);
    }
  });

  it('takes typed config props and builds one pair construct per pair', () => {
    const stack = new ReplicationStack(testApp(), 'Replicator-us-east-1', { config: TWO_PAIRS_CONFIG });
    expect([...stack.pairs.keys()]).toEqual(['orders', 'users']);
    expect(stack.pairs.get('orders')!.node.id).toBe('OrdersPair');
    // Capture, apply and backfill of each pair.
    Template.fromStack(stack).resourceCountIs('AWS::Lambda::Function', 6);
  });

  it('builds a TablePair per DynamoDB pair and a BucketPair per S3 pair', () => {
    const stack = new ReplicationStack(testApp(), 'Replicator-us-east-1', { config: MIXED_CONFIG });
    expect(stack.pairs.get('orders')).toBeInstanceOf(TablePair);
    expect(stack.pairs.get('datasets')).toBeInstanceOf(BucketPair);
    expect(stack.pairs.get('datasets')!.node.id).toBe('DatasetsPair');
    Template.fromStack(stack).resourceCountIs('Custom::S3BucketNotifications', 1);
  });

  it('shares one access-log bucket between the source buckets it creates, and has none without one', () => {
    const stack = new ReplicationStack(testApp(), 'Replicator-us-east-1', { config: DATASETS_CONFIG });
    const template = Template.fromStack(stack);
    // The created source and the access-log bucket; the checkpoints source is imported.
    template.resourceCountIs('AWS::S3::Bucket', 2);
    expect(stack.accessLogs?.node.path).toBe('Replicator-us-east-1/AccessLogs');
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'training-data',
      LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('^AccessLogsBucket') } },
    });
    const tables = new ReplicationStack(testApp(), 'Replicator-us-east-1', { config: ORDERS_CONFIG });
    expect(tables.accessLogs).toBeUndefined();
    Template.fromStack(tables).resourceCountIs('AWS::S3::Bucket', 0);
  });

  it('deploys to the config sourceRegion and account by default (env)', () => {
    const stack = new ReplicationStack(testApp(), 'Replicator-us-east-1', { config: TWO_PAIRS_CONFIG });
    expect(stack.region).toBe('us-east-1');
    expect(stack.account).toBe('123456789012');
  });

  it('fails when env.region is not the sourceRegion', () => {
    expect(
      () =>
        new ReplicationStack(testApp(), 'Replicator', {
          config: ORDERS_CONFIG,
          env: { region: 'eu-west-1' },
        }),
    ).toThrow(/env.region must be the config's sourceRegion "us-east-1" \(given "eu-west-1"\)/);
  });

  it('validates typed props and fails with the field, the value and what is allowed', () => {
    const bad = {
      ...ORDERS_CONFIG,
      pairs: [{ ...ORDERS_CONFIG.pairs[0]!, options: { applyBatchSize: 11 } }],
    } as ReplicationConfigInput;
    expect(() => new ReplicationStack(testApp(), 'Replicator-us-east-1', { config: bad })).toThrow(
      /pairs\[0\]\.options\.applyBatchSize: .*\(given 11\)/,
    );
  });

  it('uses source.streamArn for imported sources by default (sourceStreamArns)', () => {
    const template = Template.fromStack(
      new ReplicationStack(testApp(), 'Replicator-us-east-1', { config: TWO_PAIRS_CONFIG }),
    );
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/2024-01-01T00:00:00.000',
    });
  });

  it('fails for pair names that map to the same construct id', () => {
    const pair = ORDERS_CONFIG.pairs[0]!;
    const config: ReplicationConfigInput = {
      ...ORDERS_CONFIG,
      pairs: [
        { ...pair, name: 'a-1', source: { ...pair.source, table: 'one' } },
        { ...pair, name: 'a1', source: { ...pair.source, table: 'two' } },
      ] as ReplicationConfigInput['pairs'],
    };
    expect(() => new ReplicationStack(testApp(), 'Replicator-us-east-1', { config })).toThrow(
      /Pairs "a-1" and "a1" map to the same construct id "A1Pair"/,
    );
  });
});
