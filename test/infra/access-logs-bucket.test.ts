import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, it } from 'vitest';
import { AccessLogsBucket } from '../../lib/constructs/access-logs-bucket';
import { logicalIdOf, testStack } from './helpers';

function logsTemplate(props: ConstructorParameters<typeof AccessLogsBucket>[2] = {}): Template {
  const stack = testStack();
  const logs = new AccessLogsBucket(stack, 'AccessLogs', props);
  logs.logsOf(new s3.Bucket(stack, 'Data', { bucketName: 'data-bucket' }), 'data-bucket/');
  return Template.fromStack(stack);
}

const LOGS = { LifecycleConfiguration: Match.anyValue() };

describe('AccessLogsBucket', () => {
  it('is private, SSE-S3 encrypted (what log delivery supports) and without ACLs', () => {
    logsTemplate().hasResourceProperties('AWS::S3::Bucket', {
      ...LOGS,
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true, RestrictPublicBuckets: true }),
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
  });

  it('lets S3 log delivery write under the prefix for that bucket only, and refuses requests without TLS', () => {
    const template = logsTemplate();
    const logs = logicalIdOf(template, 'AWS::S3::Bucket', LOGS);
    const data = logicalIdOf(template, 'AWS::S3::Bucket', { BucketName: 'data-bucket' });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logs },
      PolicyDocument: {
        Statement: [
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          {
            Effect: 'Allow',
            Action: 's3:PutObject',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logs, 'Arn'] }, '/data-bucket/*']] },
            Condition: {
              ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [data, 'Arn'] } },
              StringEquals: { 'aws:SourceAccount': '123456789012' },
            },
          },
        ],
      },
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'data-bucket',
      LoggingConfiguration: { DestinationBucketName: { Ref: logs }, LogFilePrefix: 'data-bucket/' },
    });
  });

  it('expires logs after 90 days by default (expiration)', () => {
    logsTemplate().hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [{ ExpirationInDays: 90, Status: 'Enabled' }] },
    });
  });

  it('takes another expiration', () => {
    logsTemplate({ expiration: Duration.days(7) }).hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [{ ExpirationInDays: 7, Status: 'Enabled' }] },
    });
  });

  it('retains the logs by default (removalPolicy), or not when told', () => {
    logsTemplate().hasResource('AWS::S3::Bucket', { Properties: LOGS, DeletionPolicy: 'Retain' });
    logsTemplate({ removalPolicy: RemovalPolicy.DESTROY }).hasResource('AWS::S3::Bucket', {
      Properties: LOGS,
      DeletionPolicy: 'Delete',
    });
  });
});
