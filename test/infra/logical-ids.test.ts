import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, type ReplicationConfigInput } from '../../lib/config';
import { PROJECT_ROOT } from '../../lib/constructs/replicator-function';
import { build, TWO_PAIRS_CONFIG } from './helpers';

// A stack deployed from an earlier version must update in place: a new logical id for a table, bucket or
// queue would make CloudFormation replace it, and the data in it would be lost (or orphaned, when retained).
// The fixture holds the ids these configs had; construct ids, not file names, decide them. Data resources added
// since (the reconcilers' failure queues) are new resources, which an update creates.

const FIXTURE = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'test/fixtures/logical-ids.json'), 'utf8')) as {
  readonly configs: Record<string, Record<string, Record<string, string>>>;
};

/** Resource types that hold data. */
const DATA_TYPES = ['AWS::DynamoDB::Table', 'AWS::S3::Bucket', 'AWS::SQS::Queue'];

/** Both pair types with an imported source, a filter, created targets and targets in another account. */
const CROSS_ACCOUNT_CONFIG: ReplicationConfigInput = {
  sourceRegion: 'us-east-1',
  account: '123456789012',
  pairs: [
    // The same DynamoDB pair as TWO_PAIRS_CONFIG's second; role ARNs and options do not enter logical ids.
    TWO_PAIRS_CONFIG.pairs[1]!,
    {
      name: 'models',
      type: 's3',
      prefix: 'ckpt/',
      suffix: '.bin',
      source: { bucket: 'models-src' },
      targets: [
        {
          region: 'eu-central-1',
          bucket: 'models-x',
          account: '210987654321',
          roleArn: 'arn:aws:iam::210987654321:role/w',
          externalId: 'ext-1',
        },
        { region: 'eu-west-1', bucket: 'models-eu', create: true, storageClass: 'STANDARD_IA' },
      ],
    },
  ],
  reconcile: { schedule: 'rate(1 hour)', repair: true },
};

const CONFIGS: [string, ReplicationConfigInput][] = [
  ['synth', loadConfigFile(path.join(PROJECT_ROOT, 'test/fixtures/configs/synth.json'))],
  ['cross-account', CROSS_ACCOUNT_CONFIG],
];

describe('logical ids of data resources', () => {
  it.each(CONFIGS)('stay those of the fixture for the %s config', async (name, config) => {
    const built = await build(config, { account: '123456789012' });
    const actual: Record<string, Record<string, string>> = {};
    for (const stack of [built.source, ...built.targets.values()]) {
      const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string }>;
      actual[stack.stackName] = Object.fromEntries(
        Object.entries(resources)
          .filter(([, r]) => DATA_TYPES.includes(r.Type))
          .map(([id, r]) => [id, r.Type]),
      );
    }
    // Every data resource of the fixture keeps its id and type; resources added since are created, not replaced.
    const kept = Object.fromEntries(
      Object.entries(FIXTURE.configs[name]!).map(([stack, ids]) => [
        stack,
        Object.fromEntries(Object.keys(ids).map((id) => [id, actual[stack]?.[id]])),
      ]),
    );
    expect(kept).toEqual(FIXTURE.configs[name]);
  });
});

describe('adding a target to a pair', () => {
  // S3: a target in a new region (a new target stack). DynamoDB: a second table in a target region (its stack
  // updated). The same fixtures the end-to-end tests deploy and then redeploy.
  it.each([
    ['s3', 'e2e-backfill.json', 'e2e-backfill-added.json'],
    ['dynamodb', 'e2e-dynamodb.json', 'e2e-dynamodb-added.json'],
  ])(
    '%s: keeps every resource of every stack (ids and types): cdk deploy adds, never replaces',
    async (_, from, to) => {
      const config = (file: string) => loadConfigFile(path.join(PROJECT_ROOT, 'test/fixtures/configs', file));
      const resources = async (input: ReplicationConfigInput) => {
        const built = await build(input, { account: '123456789012' });
        const stacks = [built.source, ...built.targets.values(), ...built.targetAccounts];
        return Object.fromEntries(
          stacks.map((stack) => [
            stack.stackName,
            Template.fromStack(stack).toJSON().Resources as Record<
              string,
              { Type: string; Properties?: Record<string, unknown> }
            >,
          ]),
        );
      };
      const [before, after] = [await resources(config(from)), await resources(config(to))];
      for (const [stack, a] of Object.entries(before)) {
        const b = after[stack] ?? {};
        for (const [id, r] of Object.entries(a))
          expect({ stack, id, type: b[id]?.Type }).toEqual({ stack, id, type: r.Type });
        // The data resources keep their physical names too (a changed name replaces the resource).
        for (const [id, r] of Object.entries(a).filter(([, r]) => DATA_TYPES.includes(r.Type))) {
          const name = (p?: Record<string, unknown>) => p?.TableName ?? p?.BucketName ?? p?.QueueName;
          expect({ stack, id, name: name(b[id]?.Properties) }).toEqual({ stack, id, name: name(r.Properties) });
        }
      }
      // Something was added: the new target's table or bucket.
      const count = (stacks: typeof before) => Object.values(stacks).flatMap((r) => Object.values(r)).length;
      expect(count(after)).toBeGreaterThan(count(before));
    },
  );
});
