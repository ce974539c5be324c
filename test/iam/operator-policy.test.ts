/**
 * The README's IAM policy for the CLI (the JSON block after `<!-- readme-test: iam-operator-policy -->`),
 * filled in for the README's config, evaluated against every call `status`, `redrive`, `backfill` and
 * `reconcile` make (read from src/cli: queue reads and moves, the state table's reports and checkpoints, the
 * source's and targets' reads, metrics, a target role). Each must be allowed, and calls outside them refused.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Call, denied, describeDenials } from './evaluate';
import type { IamModel, PolicyDocument } from './template-model';

const ROOT = resolve(__dirname, '..', '..');
const ACCOUNT = '123456789012';
const OPERATOR = `arn:aws:iam::${ACCOUNT}:role/platform-admin`;
const TARGET_ROLE = 'arn:aws:iam::210987654321:role/replicator-writer';

/** The README's operator policy with the README config's names. */
function operatorPolicy(): PolicyDocument {
  const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('<!-- readme-test: iam-operator-policy -->');
  const block = /```json\n([\s\S]*?)\n```/.exec(readme.slice(at))?.[1];
  if (at < 0 || block === undefined) throw new Error('README: no operator policy block');
  const filled = block
    .replaceAll('SOURCE_REGION', 'us-east-1')
    .replaceAll('ACCOUNT', ACCOUNT)
    .replaceAll('SOURCE_TABLE', 'orders')
    .replaceAll('TARGET_TABLE', 'orders-replica')
    .replaceAll('SOURCE_BUCKET', 'replicator-demo-training-data')
    .replaceAll('TARGET_BUCKET', 'replicator-demo-training-data-eu')
    .replaceAll('PREFIX', 'datasets/')
    .replaceAll('TARGET_ROLE_ARN', TARGET_ROLE);
  return JSON.parse(filled) as PolicyDocument;
}

function model(): IamModel {
  return {
    roles: new Map([
      [
        OPERATOR,
        {
          arn: OPERATOR,
          account: ACCOUNT,
          stack: 'operator',
          logicalId: 'Operator',
          trust: { Statement: [] },
          policies: [{ name: 'replicator-operator', policy: operatorPolicy() }],
        },
      ],
    ]),
    resourcePolicies: new Map(),
    functionRoles: new Map(),
    arns: new Map(),
    bucketAccounts: new Map(),
  };
}

const call = (action: string, resource: string, context?: Record<string, string>): Call => ({
  principal: OPERATOR,
  action,
  resource,
  resourceAccount: ACCOUNT,
  ...(context ? { context } : {}),
  why: `the CLI calls ${action}`,
});
const queue = (name: string) => `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`;
const table = (region: string, name: string) => `arn:aws:dynamodb:${region}:${ACCOUNT}:table/${name}`;

describe("the README's IAM policy for the CLI", () => {
  it('allows every call of status, redrive, backfill, reconcile and wait', async () => {
    const calls: Call[] = [
      // status: queue depths, the state table's report and checkpoint, the lag and counts.
      ...['replicator-orders', 'replicator-orders-dlq', 'replicator-orders-capture-failures'].flatMap((q) => [
        call('sqs:GetQueueUrl', queue(q)),
        call('sqs:GetQueueAttributes', queue(q)),
      ]),
      call('dynamodb:GetItem', table('us-east-1', 'replicator-orders-state')),
      call('cloudwatch:GetMetricData', '*'),
      // redrive (and --dry-run): read, move back, make visible again.
      call('sqs:ReceiveMessage', queue('replicator-orders-dlq')),
      call('sqs:SendMessage', queue('replicator-orders')),
      call('sqs:DeleteMessage', queue('replicator-orders-dlq')),
      call('sqs:ChangeMessageVisibility', queue('replicator-orders-dlq')),
      // backfill: read the source (DynamoDB: scan, its item count; S3: list), look each page up on the targets,
      // checkpoint after every page, give the checkpoint up when stopped, keep the report, enqueue.
      call('dynamodb:DescribeTable', table('us-east-1', 'orders')),
      call('dynamodb:Scan', table('us-east-1', 'orders')),
      call('dynamodb:PutItem', table('us-east-1', 'replicator-orders-state')),
      call('dynamodb:UpdateItem', table('us-east-1', 'replicator-orders-state')),
      call('dynamodb:DeleteItem', table('us-east-1', 'replicator-orders-state')),
      // backfill --deployed / --stop: the job record, and the job's first message.
      call('sqs:GetQueueUrl', queue('replicator-orders-backfill-jobs')),
      call('sqs:SendMessage', queue('replicator-orders-backfill-jobs')),
      // wait: the targets' copies (and the source's current version), read directly.
      call('dynamodb:BatchGetItem', table('eu-west-1', 'orders')),
      call('s3:GetObject', 'arn:aws:s3:::replicator-demo-training-data-eu/datasets/ckpt/step-1/part-0'),
      // reconcile: both sides of each pair, its report, its metrics, and a target's role.
      call('dynamodb:Scan', table('ap-northeast-1', 'orders-replica')),
      call('dynamodb:BatchGetItem', table('ap-northeast-1', 'orders-replica')),
      call('dynamodb:GetItem', table('us-east-1', 'orders')),
      // Tombstones, to tell a lost delete from an extra item.
      call('dynamodb:BatchGetItem', table('us-east-1', 'replicator-orders-state')),
      call('s3:ListBucket', 'arn:aws:s3:::replicator-demo-training-data', { 's3:prefix': 'datasets/' }),
      call('s3:ListBucket', 'arn:aws:s3:::replicator-demo-training-data-eu', { 's3:prefix': 'datasets/' }),
      call('s3:GetObject', 'arn:aws:s3:::replicator-demo-training-data/datasets/a/b.bin'),
      call('s3:GetObject', 'arn:aws:s3:::replicator-demo-training-data-eu/datasets/a/b.bin'),
      call('cloudwatch:PutMetricData', '*', { 'cloudwatch:namespace': 'Replicator' }),
      call('sts:AssumeRole', TARGET_ROLE),
    ];
    expect(describeDenials(await denied(model(), calls))).toBe('');
  });

  it('refuses what the CLI never does', async () => {
    const refused = await denied(model(), [
      call('sqs:DeleteQueue', queue('replicator-orders')),
      call('sqs:ReceiveMessage', queue('another-teams-queue')),
      call('dynamodb:PutItem', table('us-east-1', 'orders')),
      call('s3:PutObject', 'arn:aws:s3:::replicator-demo-training-data-eu/datasets/x'),
      call('s3:GetObject', 'arn:aws:s3:::replicator-demo-training-data/private/x'),
      call('cloudwatch:PutMetricData', '*', { 'cloudwatch:namespace': 'Other' }),
    ]);
    expect(refused).toHaveLength(6);
  });
});
