/**
 * What every pair type builds the same way in its source region: the per-pair state table, the pair tag,
 * and the grants of the function that applies envelopes (state table, cross-account roles, resend and
 * dead-letter). Helpers, not a construct, so the resources keep their place (and logical ids) in each pair.
 */
import { Duration, RemovalPolicy, type Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { DynamoTargetConfig, TargetConfig } from '../config';
import { pairResourceNames } from './names';
import type { PairQueue } from './pair-queue';

/** Tag key set on every resource of a pair. */
export const PAIR_TAG = 'replicator:pair';

/** Timeout of every capture function (stream or S3 events). */
export const CAPTURE_TIMEOUT = Duration.seconds(60);

/**
 * The per-pair state table `replicator-<pair>-state` (construct id `StateTable`): tombstones and checkpoints,
 * never in a target. Keyed by `pk`, with a `ttl` attribute, on demand, with point-in-time recovery.
 */
export function createStateTable(scope: Construct, pairName: string): dynamodb.Table {
  return new dynamodb.Table(scope, 'StateTable', {
    tableName: pairResourceNames(pairName).stateTable,
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    timeToLiveAttribute: 'ttl',
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    // Only replication metadata: the source and targets can rebuild it (reconcile), so it goes with the stack.
    removalPolicy: RemovalPolicy.DESTROY,
  });
}

/** Lets `role` assume the roles of the targets that name one (statement `AssumeTargetRoles`); nothing without any. */
export function grantAssumeTargetRoles(role: iam.IRole, targets: readonly TargetConfig[]): void {
  const roleArns = [...new Set(targets.flatMap((t) => (t.roleArn ? [t.roleArn] : [])))];
  if (roleArns.length > 0) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'AssumeTargetRoles', actions: ['sts:AssumeRole'], resources: roleArns }),
    );
  }
}

/** Lets `role` read and write the pair's state table (statement `UseStateTable`). */
export function grantStateTable(role: iam.IRole, stateTable: dynamodb.ITable): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'UseStateTable',
      actions: [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:BatchGetItem',
      ],
      resources: [stateTable.tableArn],
    }),
  );
}

/** Lets `role` re-send failed envelopes to the pair queue and dead-letter them (statement `ResendAndDeadLetter`). */
export function grantResendAndDeadLetter(role: iam.IRole, queues: PairQueue): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ResendAndDeadLetter',
      actions: ['sqs:SendMessage'],
      resources: [queues.queue.queueArn, queues.deadLetterQueue.queueArn],
    }),
  );
}

/** ARN of a DynamoDB target table, in the target's region and account (the stack's account when it has none). */
export function targetTableArn(stack: Stack, target: DynamoTargetConfig): string {
  return stack.formatArn({
    service: 'dynamodb',
    region: target.region,
    account: target.account ?? stack.account,
    resource: 'table',
    resourceName: target.table,
  });
}

/** The object ARN pattern `arn:<partition>:s3:::<bucket>/<prefix>*`. */
export function objectsArn(stack: Stack, bucket: string, prefix: string): string {
  return stack.formatArn({ service: 's3', region: '', account: '', resource: bucket, resourceName: `${prefix}*` });
}

/** The bucket ARN `arn:<partition>:s3:::<bucket>`. */
export function bucketArn(stack: Stack, bucket: string): string {
  return stack.formatArn({ service: 's3', region: '', account: '', resource: bucket });
}

/**
 * Acknowledges, on `role`, its object-level S3 grants under the pair's prefix: objects are not known at
 * deploy time, so each bucket's is acknowledged on its own (the prefix is the narrowest scope the config allows).
 */
export function acknowledgeObjectGrants(role: iam.IRole, buckets: readonly string[], prefix: string): void {
  for (const bucket of buckets) {
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${bucket}/${prefix}*]`,
      reason: `Object-level S3 actions on the objects of bucket ${bucket} under the pair's prefix "${prefix}": object keys are not known at deploy time.`,
    });
  }
}
