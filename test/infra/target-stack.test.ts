import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { ReplicationConfigInput } from '../../lib/config';
import { TargetStack } from '../../lib/target-stack';
import { ORDERS_CONFIG, TWO_PAIRS_CONFIG, testApp } from './helpers';

function targetTemplate(config: ReplicationConfigInput, region: 'eu-west-1' | 'ap-northeast-1' | 'eu-central-1') {
  return Template.fromStack(new TargetStack(testApp(), `Replicator-Target-${region}`, { config, region }));
}

describe('TargetStack', () => {
  it("creates a `create: true` target with the source's key schema", () => {
    targetTemplate(ORDERS_CONFIG, 'eu-west-1').hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'orders',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('creates a target with its own key schema', () => {
    targetTemplate(TWO_PAIRS_CONFIG, 'eu-west-1').hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'users',
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    });
  });

  it('holds only the created targets of its region, retained, without streams', () => {
    const template = targetTemplate(TWO_PAIRS_CONFIG, 'eu-west-1');
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
    template.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
    for (const table of Object.values(template.findResources('AWS::DynamoDB::Table'))) {
      expect(table.Properties.StreamSpecification).toBeUndefined();
    }
    // eu-central-1's target is imported (no create): nothing to create there.
    targetTemplate(TWO_PAIRS_CONFIG, 'eu-central-1').resourceCountIs('AWS::DynamoDB::Table', 0);
  });

  it('derives stable logical ids from the pair and table names', () => {
    const ids = Object.keys(targetTemplate(ORDERS_CONFIG, 'ap-northeast-1').findResources('AWS::DynamoDB::Table'));
    expect(ids).toHaveLength(1);
    expect(ids[0]).toMatch(/^OrdersOrdersReplicaTable[0-9A-F]{8}$/);
  });

  it('tags each table with its pair', () => {
    targetTemplate(TWO_PAIRS_CONFIG, 'eu-west-1').hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'users',
      Tags: [{ Key: 'replicator:pair', Value: 'users' }],
    });
  });

  it('deploys to the config account and the given region by default (env)', () => {
    const stack = new TargetStack(testApp(), 'Replicator-Target-eu-west-1', {
      config: TWO_PAIRS_CONFIG,
      region: 'eu-west-1',
    });
    expect(stack.region).toBe('eu-west-1');
    expect(stack.account).toBe('123456789012');
  });

  it('fails when two pairs create the same table in one region', () => {
    const config: ReplicationConfigInput = {
      sourceRegion: 'us-east-1',
      pairs: ['a', 'b'].map((name) => ({
        name,
        type: 'dynamodb' as const,
        source: { table: `src-${name}`, create: { partitionKey: 'pk:S' } },
        targets: [{ region: 'eu-west-1' as const, table: 'shared', create: true }],
      })),
    };
    expect(() => targetTemplate(config, 'eu-west-1')).toThrow(
      /target table "shared" in eu-west-1 is already created for pair "a"/,
    );
  });

  it('fails on an invalid config with the ConfigError message', () => {
    expect(() => targetTemplate({ ...ORDERS_CONFIG, sourceRegion: 'mars-1' } as never, 'eu-west-1')).toThrow(
      /sourceRegion: unknown region/,
    );
  });
});
