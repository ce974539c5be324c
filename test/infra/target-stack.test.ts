import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { ReplicationConfigInput } from '../../lib/config';
import { TargetStack } from '../../lib/target-stack';
import { DATASETS_CONFIG, MIXED_CONFIG, ORDERS_CONFIG, TWO_PAIRS_CONFIG, testApp } from './helpers';

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

  it('creates the created target buckets of its region, versioned as the created source is, retained', () => {
    const template = targetTemplate(DATASETS_CONFIG, 'eu-west-1');
    template.hasResource('AWS::S3::Bucket', {
      Properties: {
        BucketName: 'training-data-eu',
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true, RestrictPublicBuckets: true }),
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        Tags: [{ Key: 'replicator:pair', Value: 'datasets' }],
      },
      DeletionPolicy: 'Retain',
    });
    // The checkpoints source is imported, so its target is not versioned.
    const checkpoints = template.findResources('AWS::S3::Bucket', {
      Properties: { BucketName: 'model-checkpoints-eu' },
    });
    expect(Object.values(checkpoints)[0]!.Properties.VersioningConfiguration).toBeUndefined();
    // Two targets and one access-log bucket; the partner bucket lives in ap-northeast-1 (imported).
    template.resourceCountIs('AWS::S3::Bucket', 3);
    const ids = Object.keys(
      template.findResources('AWS::S3::Bucket', { Properties: { BucketName: 'training-data-eu' } }),
    );
    expect(ids[0]).toMatch(/^DatasetsTrainingDataEuBucket[0-9A-F]{8}$/);
  });

  it('makes every created bucket TLS-only and logs it to one access-log bucket', () => {
    const stack = new TargetStack(testApp(), 'Replicator-Target-eu-west-1', {
      config: DATASETS_CONFIG,
      region: 'eu-west-1',
    });
    const template = Template.fromStack(stack);
    expect([...stack.created.keys()]).toEqual(['datasets/training-data-eu', 'checkpoints/model-checkpoints-eu']);
    for (const name of ['training-data-eu', 'model-checkpoints-eu']) {
      const bucket = Object.keys(template.findResources('AWS::S3::Bucket', { Properties: { BucketName: name } }))[0]!;
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: bucket },
        PolicyDocument: {
          Statement: [Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })],
        },
      });
      template.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: name,
        LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('^AccessLogsBucket') } },
      });
    }
  });

  it('creates no bucket and no access-log bucket in a region with tables only', () => {
    const template = targetTemplate(MIXED_CONFIG, 'ap-northeast-1');
    template.resourceCountIs('AWS::S3::Bucket', 0);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    const both = targetTemplate(MIXED_CONFIG, 'eu-west-1');
    both.resourceCountIs('AWS::DynamoDB::Table', 1);
    both.resourceCountIs('AWS::S3::Bucket', 2);
  });

  it('fails on an invalid config with the ConfigError message', () => {
    expect(() => targetTemplate({ ...ORDERS_CONFIG, sourceRegion: 'mars-1' } as never, 'eu-west-1')).toThrow(
      /sourceRegion: unknown region/,
    );
  });
});
