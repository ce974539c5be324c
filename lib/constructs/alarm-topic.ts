/**
 * The one SNS topic of a deployment that every pair's alarms notify, encrypted and reachable over TLS only,
 * with an optional e-mail subscription.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/** Name of the alarm topic. */
export const ALARM_TOPIC_NAME = 'replicator-alarms';

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
 */
export class AlarmTopic extends Construct {
  /** The topic. */
  readonly topic: sns.Topic;
  /** The topic's encryption key (CloudWatch may use it to publish). */
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlarmTopicProps = {}) {
    super(scope, id);
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
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: ALARM_TOPIC_NAME,
      displayName: 'Replicator alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    if (props.email !== undefined) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    }
  }
}
