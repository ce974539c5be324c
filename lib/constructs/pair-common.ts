/**
 * Helpers that every pair type uses in its source region: the pair tag, the capture timeout, the per-pair
 * state table, and the grants shared by the functions that write targets and by the reconciler (state table,
 * target roles, re-send and dead-letter). Helpers, not a construct, so the resources keep their place (and
 * logical ids) in each pair. The pair constructs themselves stand on `ReplicationPair` (replication-pair.ts).
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  type BucketTargetEnv,
  ENV,
  type FunctionEnvironment,
  pairResourceNames,
  type TableTargetEnv,
} from '../../functions/contract';
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

/**
 * Lets `role` assume the roles of the targets that name one (statement `AssumeTargetRoles`); nothing without
 * any. `targets` are config targets or TARGETS entries: both carry the target's `roleArn`.
 */
export function grantAssumeTargetRoles(role: iam.IRole, targets: readonly { readonly roleArn?: string }[]): void {
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

/**
 * The targets a function reaches with its own role: not those with a `roleArn`, which it reaches only as that
 * role (a grant of its own on them would be unused, and in another account could never suffice).
 */
export function directTargets<T extends { readonly roleArn?: string | undefined }>(targets: readonly T[]): T[] {
  return targets.filter((t) => t.roleArn === undefined);
}

/** What reading data under a KMS key takes (items, stream records, objects). */
export const KMS_READ_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey'];

/**
 * What writing data under a KMS key takes: new data keys (S3 objects, DynamoDB's table key), decrypting them
 * again (multipart copies, conditional writes that read the item), no wildcard.
 */
export const KMS_WRITE_ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'];

/**
 * A statement that lets a role use the KMS keys of imported tables or buckets, only through `service` in
 * `regions` (kms:ViaService): the role can then read or write data under them there, and use them for nothing
 * else. Undefined when there is no key.
 */
export function kmsStatement(
  keyArns: readonly (string | undefined)[],
  actions: readonly string[],
  service: 'dynamodb' | 's3',
  regions: readonly string[],
): iam.PolicyStatement | undefined {
  const keys = [...new Set(keyArns.filter((k): k is string => k !== undefined))];
  if (keys.length === 0) return undefined;
  const via = [...new Set(regions)].map((r) => `${service}.${r}.amazonaws.com`);
  return new iam.PolicyStatement({
    actions: [...actions],
    resources: keys,
    conditions: { StringEquals: { 'kms:ViaService': via.length === 1 ? via[0]! : via } },
  });
}

/** {@link kmsStatement} for the keys of some targets, each used through `service` in its own region. */
export function targetKeysStatement(
  targets: readonly { readonly kmsKeyArn?: string | undefined; readonly region: string }[],
  actions: readonly string[],
  service: 'dynamodb' | 's3',
): iam.PolicyStatement | undefined {
  return kmsStatement(
    targets.map((t) => t.kmsKeyArn),
    actions,
    service,
    targets.map((t) => t.region),
  );
}

/** The defined ones of some statements (a {@link kmsStatement} is undefined without a key). */
export function definedStatements(...statements: (iam.PolicyStatement | undefined)[]): iam.PolicyStatement[] {
  return statements.filter((s): s is iam.PolicyStatement => s !== undefined);
}

/** Adds each defined statement to `role`'s policy. */
export function addStatements(role: iam.IRole, ...statements: (iam.PolicyStatement | undefined)[]): void {
  for (const s of definedStatements(...statements)) role.addToPrincipalPolicy(s);
}

/**
 * What a function that reads a pair's source and targets and enqueues copies through the pair queue is given:
 * the reconciler and the backfiller alike.
 */
export interface PairReaderProps {
  /** The pair's targets as its TARGETS variable lists them (their roles are assumed). */
  readonly targets: readonly (TableTargetEnv | BucketTargetEnv)[];
  /** The pair's state table (checkpoints and reports). */
  readonly stateTable: dynamodb.ITable;
  /** The pair queue: repairs and backfilled copies travel through the normal apply/copy path. */
  readonly queue: sqs.IQueue;
  /** Entry file of the pair type's handler (absolute). */
  readonly entry: string;
  /** The pair type's own variables (source, filters). */
  readonly environment: FunctionEnvironment;
  /** The pair type's reads of its source and targets. */
  readonly readStatements: readonly iam.PolicyStatement[];
}

/** The variables every such function reads: the pair, its source region, state table, queue and targets. */
export function pairReaderEnvironment(scope: Construct, pairName: string, props: PairReaderProps): FunctionEnvironment {
  return {
    [ENV.PAIR_NAME]: pairName,
    [ENV.SOURCE_REGION]: Stack.of(scope).region,
    [ENV.STATE_TABLE]: props.stateTable.tableName,
    [ENV.QUEUE_URL]: props.queue.queueUrl,
    [ENV.TARGETS]: JSON.stringify(props.targets),
  };
}

/** Its grants: the type's reads, the targets' roles, the state table, and sending to the pair queue (`sid`). */
export function grantPairReader(role: iam.IRole, props: PairReaderProps, sid: string): void {
  for (const statement of props.readStatements) role.addToPrincipalPolicy(statement);
  grantAssumeTargetRoles(role, props.targets);
  grantStateTable(role, props.stateTable);
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ sid, actions: ['sqs:SendMessage'], resources: [props.queue.queueArn] }),
  );
}
