import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { functionRoleName } from '../../functions/contract';
import type { ReplicationConfigInput } from '../../lib/config';
import { parseConfig } from '../../lib/config';
import { roleNameAndPath } from '../../lib/constructs/target-access-role';
import { targetAccountEnvironments } from '../../lib/target-accounts';
import { TargetAccountStack } from '../../lib/target-stack';
import { build, testApp } from './helpers';

const PARTNER = '210987654321';
const ROLE = `arn:aws:iam::${PARTNER}:role/replicator/writer`;

/** A table pair and an S3 pair whose targets in the partner account share one role; reconcile and an operator. */
const CONFIG: ReplicationConfigInput = {
  sourceRegion: 'us-east-1',
  account: '123456789012',
  operators: ['arn:aws:iam::123456789012:role/platform-admin'],
  reconcile: { schedule: 'rate(6 hours)', repair: true },
  pairs: [
    {
      name: 'orders',
      type: 'dynamodb',
      source: { table: 'orders', create: { partitionKey: 'pk:S' } },
      targets: [
        { region: 'eu-west-1', table: 'orders', create: true },
        { region: 'eu-central-1', table: 'orders-partner', create: true, roleArn: ROLE, externalId: 'ext-orders' },
      ],
    },
    {
      name: 'datasets',
      type: 's3',
      prefix: 'datasets/',
      source: { bucket: 'training-data', create: true },
      targets: [
        {
          region: 'ap-northeast-1',
          bucket: 'partner-data',
          account: PARTNER,
          create: true,
          roleArn: ROLE,
          externalId: 'ext-datasets',
        },
      ],
    },
  ],
};

function stack(region: 'eu-central-1' | 'ap-northeast-1') {
  return new TargetAccountStack(testApp(), `Replicator-TargetAccount-${PARTNER}-${region}`, {
    config: CONFIG,
    account: PARTNER,
    region,
    sourceAccount: '123456789012',
  });
}

describe('TargetAccountStack', () => {
  it("is needed in each region of the account's created targets and of its role's first target", () => {
    expect(targetAccountEnvironments(parseConfig(CONFIG), '123456789012')).toEqual([
      { account: PARTNER, region: 'ap-northeast-1' },
      { account: PARTNER, region: 'eu-central-1' },
    ]);
    expect(targetAccountEnvironments(parseConfig(CONFIG), PARTNER)).toEqual([]);
  });

  it('builds the role where its first target is, with the name and path of the roleArn', () => {
    const home = Template.fromStack(stack('eu-central-1'));
    home.resourceCountIs('AWS::IAM::Role', 1);
    home.hasResourceProperties('AWS::IAM::Role', { RoleName: 'writer', Path: '/replicator/' });
    Template.fromStack(stack('ap-northeast-1')).resourceCountIs('AWS::IAM::Role', 0);
    expect(roleNameAndPath('arn:aws:iam::1:role/w')).toEqual({ path: '/', name: 'w' });
  });

  it('trusts only the named appliers, reconcilers and backfill functions of the source account, and the operators, with the external ids', () => {
    const trusted = [
      'arn:aws:iam::123456789012:role/platform-admin',
      ...[
        'replicator-orders-apply',
        'replicator-orders-reconcile',
        'replicator-orders-backfill',
        'replicator-datasets-copy',
        'replicator-datasets-reconcile',
        'replicator-datasets-backfill',
      ].map((fn) => `arn:aws:iam::123456789012:role/${functionRoleName(fn, 'us-east-1')}`),
    ];
    Template.fromStack(stack('eu-central-1')).hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'sts:AssumeRole',
            Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::123456789012:root']] } },
            Condition: {
              StringEquals: { 'sts:ExternalId': ['ext-orders', 'ext-datasets'] },
              ArnEquals: { 'aws:PrincipalArn': trusted },
            },
          },
        ],
      },
    });
  });

  it('may write and read only its targets: the table, and the bucket and copy source under the prefix', () => {
    const template = Template.fromStack(stack('eu-central-1'));
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    expect(policies).toHaveLength(1);
    const text = JSON.stringify(policies[0]!.Properties.PolicyDocument);
    expect(text).toContain('"dynamodb:PutItem","dynamodb:DeleteItem","dynamodb:Scan"');
    expect(text).toContain(':dynamodb:eu-central-1:210987654321:table/orders-partner');
    expect(text).toContain(':s3:::partner-data/datasets/*');
    expect(text).toContain(':s3:::training-data/datasets/*');
    expect(text).not.toMatch(/"Resource":"\*"/);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 's3:ListBucket',
            Condition: { StringLikeIfExists: { 's3:prefix': 'datasets/*' } },
          }),
        ]),
      },
    });
  });

  it("creates the account's targets of its region", () => {
    Template.fromStack(stack('eu-central-1')).hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'orders-partner',
    });
    Template.fromStack(stack('ap-northeast-1')).hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'partner-data',
    });
    Template.fromStack(stack('eu-central-1')).resourceCountIs('AWS::S3::Bucket', 0);
  });

  it('is built by buildApp; the source stack depends on it and names its function roles', async () => {
    const built = await build(CONFIG);
    expect(built.targetAccounts.map((s) => s.stackName)).toEqual([
      `Replicator-TargetAccount-${PARTNER}-ap-northeast-1`,
      `Replicator-TargetAccount-${PARTNER}-eu-central-1`,
    ]);
    expect(built.source.dependencies.map((s) => s.stackName)).toEqual(
      expect.arrayContaining(built.targetAccounts.map((s) => s.stackName)),
    );
    // The source's own targets stay in its account's target stack.
    expect([...built.targets.get('eu-west-1')!.created.keys()]).toEqual(['orders/orders']);
    Template.fromStack(built.source).hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'replicator-orders-apply-us-east-1',
    });
  });

  it('passes cfn-lint without errors', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'replicator-target-account-'));
    try {
      const files = (['eu-central-1', 'ap-northeast-1'] as const).map((region) => {
        const file = path.join(dir, `${region}.template.json`);
        writeFileSync(file, JSON.stringify(Template.fromStack(stack(region)).toJSON()));
        return file;
      });
      const result = spawnSync('cfn-lint', ['--format', 'parseable', ...files], { encoding: 'utf8' });
      expect(result.error).toBeUndefined();
      expect(`${result.stdout}\n${result.stderr}`.split('\n').filter((l) => /:E\d{4}:/.test(l))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('builds no target account stack, and says so, when the source account is unknown', async () => {
    const saved = process.env.CDK_DEFAULT_ACCOUNT;
    delete process.env.CDK_DEFAULT_ACCOUNT;
    try {
      const { account: _account, ...agnostic } = CONFIG;
      const built = await build(agnostic);
      expect(built.targetAccounts).toEqual([]);
      const warnings = Annotations.fromStack(built.source).findWarning('*', Match.stringLikeRegexp('name the config'));
      expect(warnings).toHaveLength(1);
    } finally {
      if (saved !== undefined) process.env.CDK_DEFAULT_ACCOUNT = saved;
    }
  });

  it('keeps role names within 64 characters, distinct and stable', () => {
    const long = `replicator-${'a'.repeat(40)}-reconcile`;
    const name = functionRoleName(long, 'ap-southeast-2');
    expect(name.length).toBeLessThanOrEqual(64);
    expect(name).toMatch(/^replicator-a+-[0-9a-f]{8}-ap-southeast-2$/);
    expect(functionRoleName(long, 'ap-southeast-2')).toBe(name);
    expect(functionRoleName(`${long}x`, 'ap-southeast-2')).not.toBe(name);
  });
});
