import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { AlarmTopic } from '../../lib/constructs/alarm-topic';
import { ReplicationStack } from '../../lib/replication-stack';
import { logicalIdOf, ORDERS_CONFIG, testApp, testStack } from './helpers';

const sourceTemplate = (alarms?: { email?: string }) =>
  Template.fromStack(
    new ReplicationStack(testApp(), 'Replicator-us-east-1', {
      config: { ...ORDERS_CONFIG, ...(alarms ? { alarms } : {}) },
    }),
  );

describe('AlarmTopic', () => {
  it('creates one replicator-alarms topic per deployment, encrypted with its own rotating key', () => {
    const t = sourceTemplate();
    t.resourceCountIs('AWS::SNS::Topic', 1);
    const topic = Object.values(t.findResources('AWS::SNS::Topic'))[0]!;
    expect(topic.Properties.TopicName).toBe('replicator-alarms');
    const key = logicalIdOf(t, 'AWS::KMS::Key', { EnableKeyRotation: true });
    expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [key, 'Arn'] });
  });

  it('lets CloudWatch use the topic key, so alarm notifications are not dropped', () => {
    const t = sourceTemplate();
    const key = Object.values(t.findResources('AWS::KMS::Key'))[0]!;
    const statements = key.Properties.KeyPolicy.Statement as { Sid?: string; Principal?: unknown; Action?: unknown }[];
    expect(statements).toContainEqual(
      expect.objectContaining({
        Sid: 'CloudWatchAlarmsPublish',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      }),
    );
  });

  it("denies publishing to the topic without TLS, and lets only this account's Replicator alarms publish", () => {
    const t = sourceTemplate();
    const topic = logicalIdOf(t, 'AWS::SNS::Topic', { TopicName: 'replicator-alarms' });
    const fromReplicatorAlarms = {
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: {
        'aws:SourceArn': {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':cloudwatch:us-east-1:',
              { Ref: 'AWS::AccountId' },
              ':alarm:replicator-*',
            ],
          ],
        },
      },
    };
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topic }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Deny',
            Principal: '*',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
          {
            Sid: 'CloudWatchAlarmsPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: topic },
            Condition: fromReplicatorAlarms,
          },
        ],
      },
    });
    const key = Object.values(t.findResources('AWS::KMS::Key'))[0]!;
    expect(key.Properties.KeyPolicy.Statement).toContainEqual(
      expect.objectContaining({ Sid: 'CloudWatchAlarmsPublish', Condition: fromReplicatorAlarms }),
    );
  });

  it('subscribes alarms.email to the topic', () => {
    const t = sourceTemplate({ email: 'ops@example.com' });
    const topic = logicalIdOf(t, 'AWS::SNS::Topic', { TopicName: 'replicator-alarms' });
    t.resourceCountIs('AWS::SNS::Subscription', 1);
    t.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: topic },
    });
  });

  it('subscribes nobody without alarms.email (email default)', () => {
    sourceTemplate().resourceCountIs('AWS::SNS::Subscription', 0);
    const stack = testStack();
    new AlarmTopic(stack, 'Topic');
    Template.fromStack(stack).resourceCountIs('AWS::SNS::Subscription', 0);
  });
});
