import { Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildApp, type DescribeTableFn, resolveSourceStreams } from '../../lib/app-builder';
import { parseConfig, type ReplicationConfigInput } from '../../lib/config';
import { build, DATASETS_CONFIG, MIXED_CONFIG, ORDERS_CONFIG, TWO_PAIRS_CONFIG, testApp } from './helpers';

const IMPORTED: ReplicationConfigInput = {
  sourceRegion: 'us-east-1',
  pairs: [
    {
      name: 'legacy',
      type: 'dynamodb',
      source: { table: 'legacy-orders' },
      targets: [{ region: 'eu-west-1', table: 'legacy-orders' }],
    },
  ],
};
const STREAM = 'arn:aws:dynamodb:us-east-1:123456789012:table/legacy-orders/stream/2024-05-05T00:00:00.000';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('buildApp stacks', () => {
  it('creates the source stack and one target stack per region with a created target', async () => {
    const built = await build(ORDERS_CONFIG);
    expect(built.source.stackName).toBe('Replicator-us-east-1');
    expect(built.source.region).toBe('us-east-1');
    expect([...built.targets.keys()]).toEqual(['eu-west-1', 'ap-northeast-1']);
    expect([...built.targets.values()].map((s) => [s.stackName, s.region])).toEqual([
      ['Replicator-Target-eu-west-1', 'eu-west-1'],
      ['Replicator-Target-ap-northeast-1', 'ap-northeast-1'],
    ]);
  });

  it('creates no target stack for a region whose targets are all imported', async () => {
    const built = await build(TWO_PAIRS_CONFIG);
    expect([...built.targets.keys()]).toEqual(['eu-west-1']);
  });

  it('creates a target stack for a region with a created bucket only, and none for imported buckets', async () => {
    const built = await build(DATASETS_CONFIG);
    // ap-northeast-1 holds only the partner's imported bucket.
    expect([...built.targets.keys()]).toEqual(['eu-west-1']);
    expect([...built.targets.get('eu-west-1')!.created.keys()]).toEqual([
      'datasets/training-data-eu',
      'checkpoints/model-checkpoints-eu',
    ]);
    expect(built.source.dependencies.map((s) => s.stackName)).toEqual([
      'Replicator-Target-eu-west-1',
      'Replicator-TargetAccount-210987654321-ap-northeast-1',
    ]);
  });

  it("builds a target account's stack for its role, in the region of the role's first target", async () => {
    const built = await build(DATASETS_CONFIG);
    expect(built.targetAccounts.map((s) => [s.stackName, s.account, s.region])).toEqual([
      ['Replicator-TargetAccount-210987654321-ap-northeast-1', '210987654321', 'ap-northeast-1'],
    ]);
    expect([...built.targetAccounts[0]!.roles.keys()]).toEqual(['arn:aws:iam::210987654321:role/replicator-writer']);
    expect([...built.targetAccounts[0]!.created.keys()]).toEqual([]);
  });

  it('describes no table for S3 pairs in the preflight', async () => {
    const describeTable = vi.fn<DescribeTableFn>();
    const built = await build(MIXED_CONFIG, { describeTable });
    expect(describeTable).not.toHaveBeenCalled();
    expect([...built.targets.keys()]).toEqual(['eu-west-1', 'ap-northeast-1']);
  });

  it('makes the source stack depend on every target stack', async () => {
    const built = await build(ORDERS_CONFIG);
    expect(built.source.dependencies.map((s) => s.stackName).sort()).toEqual([
      'Replicator-Target-ap-northeast-1',
      'Replicator-Target-eu-west-1',
    ]);
  });

  it('deploys to the config account', async () => {
    const built = await build(TWO_PAIRS_CONFIG);
    expect(built.source.account).toBe('123456789012');
    expect(built.targets.get('eu-west-1')!.account).toBe('123456789012');
  });

  it('defaults the account to CDK_DEFAULT_ACCOUNT when the config names none', async () => {
    vi.stubEnv('CDK_DEFAULT_ACCOUNT', '111122223333');
    const built = await build(ORDERS_CONFIG);
    expect(built.source.account).toBe('111122223333');
    expect(built.targets.get('eu-west-1')!.account).toBe('111122223333');
  });

  it('fails on an invalid config with the ConfigError message', async () => {
    await expect(build({ ...ORDERS_CONFIG, pairs: [] })).rejects.toThrow(
      /Invalid replication config \(stack props\):\n {2}- pairs: must list at least one pair/,
    );
  });
});

describe('preflight of imported source tables', () => {
  const described = (info: Awaited<ReturnType<DescribeTableFn>>): DescribeTableFn => vi.fn(async () => info);

  it('maps the stream that DescribeTable reports', async () => {
    const describeTable = described({ streamArn: STREAM, streamViewType: 'NEW_AND_OLD_IMAGES', streamEnabled: true });
    const built = await build(IMPORTED, { describeTable });
    expect(describeTable).toHaveBeenCalledWith('us-east-1', 'legacy-orders');
    Template.fromStack(built.source).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: STREAM,
    });
  });

  it('does not describe a source that gives its streamArn', async () => {
    const describeTable = vi.fn<DescribeTableFn>();
    await build(TWO_PAIRS_CONFIG, { describeTable });
    expect(describeTable).not.toHaveBeenCalled();
  });

  it('fails for a table without a stream, naming the pair and the table', async () => {
    await expect(build(IMPORTED, { describeTable: described({}) })).rejects.toThrow(
      /pair "legacy": source table "legacy-orders" in us-east-1 has no stream; enable a NEW_AND_OLD_IMAGES stream/,
    );
  });

  it('fails for a disabled stream', async () => {
    const describeTable = described({ streamArn: STREAM, streamViewType: 'NEW_AND_OLD_IMAGES', streamEnabled: false });
    await expect(build(IMPORTED, { describeTable })).rejects.toThrow(/"legacy-orders" in us-east-1 has no stream/);
  });

  it('fails for a stream without both images', async () => {
    const describeTable = described({ streamArn: STREAM, streamViewType: 'KEYS_ONLY', streamEnabled: true });
    await expect(build(IMPORTED, { describeTable })).rejects.toThrow(
      /pair "legacy": source table "legacy-orders" in us-east-1 has a KEYS_ONLY stream, but Replicator needs NEW_AND_OLD_IMAGES/,
    );
  });

  it('fails for a table encrypted with a KMS key the config does not name, and passes once it does', async () => {
    const key = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const describeTable = described({
      streamArn: STREAM,
      streamViewType: 'NEW_AND_OLD_IMAGES',
      streamEnabled: true,
      kmsKeyArn: key,
    });
    await expect(build(IMPORTED, { describeTable })).rejects.toThrow(
      `Preflight failed for pair "legacy": source table "legacy-orders" in us-east-1: it is encrypted with the KMS key ${key}, which Replicator's functions must be granted; set pairs[0].source.kmsKeyArn to "${key}" (given nothing)`,
    );
    const named = structuredClone(IMPORTED) as { pairs: { source: Record<string, unknown> }[] };
    named.pairs[0]!.source.kmsKeyArn = key;
    await expect(build(named as typeof IMPORTED, { describeTable })).resolves.toBeDefined();
  });

  it('fails with a PreflightError when DescribeTable fails', async () => {
    const describeTable: DescribeTableFn = async () => {
      const err = new Error('Requested resource not found');
      err.name = 'ResourceNotFoundException';
      throw err;
    };
    await expect(resolveSourceStreams(parseConfig(IMPORTED), describeTable)).rejects.toMatchObject({
      name: 'PreflightError',
      message: expect.stringMatching(
        /pair "legacy": source table "legacy-orders" in us-east-1: DescribeTable failed \(ResourceNotFoundException: Requested resource not found\)/,
      ),
    });
  });

  it('describes with the AWS SDK by default, honouring AWS_ENDPOINT_URL (closed port: a clear failure)', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', 'http://127.0.0.1:9');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    await expect(buildApp(testApp(), IMPORTED, { nag: false })).rejects.toThrow(
      /Preflight failed for pair "legacy": source table "legacy-orders" in us-east-1: DescribeTable failed \(.*ECONNREFUSED/,
    );
  });
});

describe('cdk-nag', () => {
  it('registers AwsSolutionsChecks by default (nag), so synth fails on an unacknowledged finding', async () => {
    const app = testApp();
    const built = await buildApp(app, ORDERS_CONFIG);
    new sqs.Queue(built.source, 'Unencrypted', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS/);
  });

  it('registers nothing with nag: false', async () => {
    const app = testApp();
    const built = await buildApp(app, ORDERS_CONFIG, { nag: false });
    new sqs.Queue(built.source, 'Unencrypted', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    expect(() => app.synth()).not.toThrow();
  });
});
