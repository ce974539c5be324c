import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { AccessLogsBucket } from '../../lib/constructs/access-logs-bucket';
import { TargetBucket } from '../../lib/pair-types/s3';
import { logicalIdOf, testStack } from './helpers';

function bucketTemplate(props: Partial<ConstructorParameters<typeof TargetBucket>[2]> = {}): Template {
  const stack = testStack('eu-west-1');
  const accessLogs = new AccessLogsBucket(stack, 'AccessLogs');
  new TargetBucket(stack, 'Datasets', {
    pairName: 'datasets',
    bucketName: 'training-data-eu',
    accessLogs,
    ...props,
  });
  return Template.fromStack(stack);
}

describe('TargetBucket', () => {
  it('creates a bucket with all public access blocked, SSE-S3, no ACLs and the pair tag', () => {
    bucketTemplate().hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'training-data-eu',
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      Tags: [{ Key: 'replicator:pair', Value: 'datasets' }],
    });
  });

  it('refuses requests without TLS (a TLS-only bucket policy)', () => {
    const template = bucketTemplate();
    const bucket = logicalIdOf(template, 'AWS::S3::Bucket', { BucketName: 'training-data-eu' });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucket },
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: [
              { 'Fn::GetAtt': [bucket, 'Arn'] },
              { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/*']] },
            ],
          },
        ],
      },
    });
  });

  it('sends its server access logs to the access-log bucket under its name', () => {
    const template = bucketTemplate();
    const logs = logicalIdOf(template, 'AWS::S3::Bucket', { LifecycleConfiguration: Match.anyValue() });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'training-data-eu',
      LoggingConfiguration: { DestinationBucketName: { Ref: logs }, LogFilePrefix: 'training-data-eu/' },
    });
  });

  it('is not versioned by default (versioned)', () => {
    const template = bucketTemplate();
    const bucket = template.findResources('AWS::S3::Bucket', { Properties: { BucketName: 'training-data-eu' } });
    expect(Object.values(bucket)[0]!.Properties.VersioningConfiguration).toBeUndefined();
  });

  it('keeps every version with versioned: true', () => {
    bucketTemplate({ versioned: true }).hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'training-data-eu',
      VersioningConfiguration: { Status: 'Enabled' },
    });
  });

  it('retains the bucket by default (removalPolicy)', () => {
    bucketTemplate().hasResource('AWS::S3::Bucket', {
      Properties: { BucketName: 'training-data-eu' },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('takes another removalPolicy', () => {
    bucketTemplate({ removalPolicy: RemovalPolicy.DESTROY }).hasResource('AWS::S3::Bucket', {
      Properties: { BucketName: 'training-data-eu' },
      DeletionPolicy: 'Delete',
    });
  });
});
