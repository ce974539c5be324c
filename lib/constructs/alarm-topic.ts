/**
 * The one SNS topic of a deployment that every pair's alarms notify, encrypted and reachable over TLS only,
 * with an optional e-mail subscription.
 */
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/** Name of the alarm topic. */
export const ALARM_TOPIC_NAME = 'replicator-alarms';

/** Every Replicator alarm's name starts with this (monitoring.ts, reconciler.ts). */
export const ALARM_NAME_PREFIX = 'replicator-';

/** Props of an {@link AlarmTopic}. */
export interface AlarmTopicProps {
  /**
   * Address subscribed to the topic (it must confirm the subscription).
   * @default - no subscription: subscribe to the topic yourself
   */
  readonly email?: string;
}

/**
 * The `replicator-alarms` topic, TLS enforced, encrypted with a key of its own. Not the AWS-managed
 * `alias/aws/sns` key: its policy cannot let CloudWatch use it, so alarm notifications would be dropped.
 *
 * CloudWatch publishes as the service principal `cloudwatch.amazonaws.com`, so both the topic's policy and the
 * key's must allow it; both are limited to Replicator's alarms in this account and region (aws:SourceAccount,
 * aws:SourceArn), so no other account's alarms can use the topic through CloudWatch (the confused deputy).
 * `enforceSSL` replaces SNS's default topic policy with its Deny alone: without the Allow below no alarm could
 * ever notify.
 */
export class AlarmTopic extends Construct {
  /** The topic. */
  readonly topic: sns.Topic;
  /** The topic's encryption key (CloudWatch may use it to publish). */
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlarmTopicProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const fromReplicatorAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: `${ALARM_NAME_PREFIX}*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the replicator-alarms SNS topic',
      enableKeyRotation: true,
      // Holds no data of its own: the topic's messages are transient.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromReplicatorAlarms,
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: ALARM_TOPIC_NAME,
      displayName: 'Replicator alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: fromReplicatorAlarms,
      }),
    );
    if (props.email !== undefined) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    }
  }
}
