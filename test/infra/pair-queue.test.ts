import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { COMMON_PAIR_DEFAULTS } from '../../lib/config';
import { PairQueue } from '../../lib/constructs/pair-queue';
import { ReplicationStack } from '../../lib/replication-stack';
import { logicalIdOf, ORDERS_CONFIG, testApp, testStack } from './helpers';

function queueTemplate(props: Partial<ConstructorParameters<typeof PairQueue>[2]> = {}): Template {
  const stack = testStack();
  new PairQueue(stack, 'Queues', { pairName: 'orders', ...props });
  return Template.fromStack(stack);
}

const QUEUE_NAMES = ['replicator-orders', 'replicator-orders-dlq', 'replicator-orders-capture-failures'];

describe('PairQueue', () => {
  it('names the pair queue, its DLQ and the capture failure queue after the pair', () => {
    const template = queueTemplate();
    for (const name of QUEUE_NAMES) template.resourcePropertiesCountIs('AWS::SQS::Queue', { QueueName: name }, 1);
    template.resourceCountIs('AWS::SQS::Queue', 3);
  });

  it('encrypts every queue with SQS-managed keys', () => {
    const template = queueTemplate();
    for (const name of QUEUE_NAMES) {
      template.hasResourceProperties('AWS::SQS::Queue', { QueueName: name, SqsManagedSseEnabled: true });
    }
  });

  it('refuses requests without TLS on every queue', () => {
    const template = queueTemplate();
    for (const name of QUEUE_NAMES) {
      const queue = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: name });
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queue }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  it('redrives to the DLQ after maxAttempts + 2 receives', () => {
    const template = queueTemplate({ maxAttempts: 9 });
    const dlq = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-orders-dlq' });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'replicator-orders',
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 11 },
    });
  });

  it(`defaults maxAttempts to COMMON_PAIR_DEFAULTS.maxAttempts (${COMMON_PAIR_DEFAULTS.maxAttempts}), so maxReceiveCount 7`, () => {
    queueTemplate().hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'replicator-orders',
      RedrivePolicy: { maxReceiveCount: 7 },
    });
  });

  it('sets the visibility timeout to six times the apply timeout', () => {
    queueTemplate({ applyTimeout: Duration.seconds(30) }).hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'replicator-orders',
      VisibilityTimeout: 180,
    });
  });

  it('defaults applyTimeout to 60 seconds, so a visibility timeout of 360 seconds', () => {
    queueTemplate().hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'replicator-orders',
      VisibilityTimeout: 360,
    });
  });

  it('defaults retentionPeriod to 14 days on every queue', () => {
    const template = queueTemplate();
    for (const name of QUEUE_NAMES) {
      template.hasResourceProperties('AWS::SQS::Queue', { QueueName: name, MessageRetentionPeriod: 1209600 });
    }
  });

  it('keeps every queue visible at least 6 × the timeout of the function that consumes it (pair queue, backfill jobs)', () => {
    const template = Template.fromStack(
      new ReplicationStack(testApp(), 'Replicator-us-east-1', { config: ORDERS_CONFIG }),
    );
    interface Resource {
      Type: string;
      Properties: {
        EventSourceArn?: { 'Fn::GetAtt'?: [string, string] };
        FunctionName?: { Ref: string };
        VisibilityTimeout?: number;
        Timeout?: number;
      };
    }
    const resources = template.toJSON().Resources as Record<string, Resource>;
    const sourceOf = (r: Resource) => resources[r.Properties.EventSourceArn?.['Fn::GetAtt']?.[0] ?? ''];
    const mappings = Object.values(resources).filter(
      (r) => r.Type === 'AWS::Lambda::EventSourceMapping' && sourceOf(r)?.Type === 'AWS::SQS::Queue',
    );
    expect(mappings).toHaveLength(2);
    for (const mapping of mappings) {
      const queue = sourceOf(mapping)!;
      const fn = resources[mapping.Properties.FunctionName!.Ref]!;
      expect(queue.Type).toBe('AWS::SQS::Queue');
      expect(fn.Properties.Timeout).toBeGreaterThan(0);
      expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Properties.Timeout!);
    }
  });
});
