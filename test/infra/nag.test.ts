import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import type { ReplicationConfigInput } from '../../lib/config';
import { build, DATASETS_CONFIG, KMS_CONFIG, MIXED_CONFIG, ORDERS_CONFIG, TWO_PAIRS_CONFIG } from './helpers';

const configs: [string, ReplicationConfigInput][] = [
  ['the example config', ORDERS_CONFIG],
  ['an imported source, a filter and a cross-account target', TWO_PAIRS_CONFIG],
  ['S3 pairs: created and imported sources, created and cross-account targets', DATASETS_CONFIG],
  ['a DynamoDB pair and an S3 pair', MIXED_CONFIG],
  [
    'scheduled reconcilers, one with a cross-account target',
    { ...TWO_PAIRS_CONFIG, reconcile: { schedule: 'rate(6 hours)', repair: true } },
  ],
  ['imported tables and buckets with KMS keys, reconciled', KMS_CONFIG],
  [
    'S3 pairs with scheduled reconcilers, one with a cross-account target',
    { ...DATASETS_CONFIG, reconcile: { schedule: 'rate(6 hours)', repair: true } },
  ],
];

/** Every acknowledged rule of a pack (by its prefix) in the tree as `<path>: <rule id>`. */
function acknowledgements(root: IConstruct, pack = 'AwsSolutions'): string[] {
  return root.node
    .findAll()
    .flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) =>
          Object.keys(m.data as object).map((id) => `${c.node.path}: ${id.replace(/^annotation::/i, '')}`),
        ),
    )
    .filter((a) => a.split(': ')[1]?.startsWith(`${pack}-`))
    .sort();
}

/** What a pack finds, unacknowledged, in the app a config builds: one line per finding. */
async function findings(
  config: ReplicationConfigInput,
  Pack: typeof AwsSolutionsChecks | typeof ServerlessChecks,
): Promise<string[]> {
  const built = await build(config);
  const app = built.source.node.root;
  const report = new Pack(app, { verbose: true }).validateScope(app);
  return report.violations.map(
    (v) => `${v.severity} ${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
  );
}

describe('cdk-nag AwsSolutions', () => {
  it.each(configs)('finds no unacknowledged error or warning in %s', async (_name, config) => {
    expect(await findings(config, AwsSolutionsChecks)).toEqual([]);
  });

  it('acknowledges only the stream ListStreams wildcard and the failure queue without a DLQ, per pair', async () => {
    const built = await build(ORDERS_CONFIG);
    expect(acknowledgements(built.source)).toEqual([
      'Replicator-us-east-1/OrdersPair/Capture/Role: AwsSolutions-IAM5[Resource::*]',
      'Replicator-us-east-1/OrdersPair/Queues/CaptureFailureQueue: AwsSolutions-SQS3',
    ]);
    for (const target of built.targets.values()) expect(acknowledgements(target)).toEqual([]);
  });

  it("acknowledges, for S3 pairs, only prefix-scoped object grants, the log bucket and CDK's notifications handler", async () => {
    const built = await build(DATASETS_CONFIG);
    expect(acknowledgements(built.source)).toEqual(
      [
        'Replicator-us-east-1/AccessLogs/Bucket: AwsSolutions-S1',
        'Replicator-us-east-1/BucketNotificationsHandler050a0587b7544547bf325f094a3db834: AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        // The backfill job reads what the copy function reads: objects under the prefix.
        'Replicator-us-east-1/CheckpointsPair/Backfiller/Function/Role: AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::model-checkpoints-eu/*]',
        'Replicator-us-east-1/CheckpointsPair/Backfiller/Function/Role: AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::model-checkpoints/*]',
        'Replicator-us-east-1/DatasetsPair/Backfiller/Function/Role: AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::training-data-eu/datasets/*]',
        'Replicator-us-east-1/DatasetsPair/Backfiller/Function/Role: AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::training-data/datasets/*]',
        'Replicator-us-east-1/CheckpointsPair/Copy/Role: AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::model-checkpoints-eu/*]',
        'Replicator-us-east-1/CheckpointsPair/Copy/Role: AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::model-checkpoints/*]',
        'Replicator-us-east-1/CheckpointsPair/Queues/CaptureFailureQueue: AwsSolutions-SQS3',
        'Replicator-us-east-1/DatasetsPair/Copy/Role: AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::training-data-eu/datasets/*]',
        'Replicator-us-east-1/DatasetsPair/Copy/Role: AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::training-data/datasets/*]',
        'Replicator-us-east-1/DatasetsPair/Queues/CaptureFailureQueue: AwsSolutions-SQS3',
      ].sort(),
    );
    for (const target of built.targets.values()) {
      expect(acknowledgements(target)).toEqual([`${target.stackName}/AccessLogs/Bucket: AwsSolutions-S1`]);
    }
  });

  it('synthesizes with the checks registered as buildApp does', async () => {
    for (const config of [TWO_PAIRS_CONFIG, DATASETS_CONFIG]) {
      const built = await build(config, { nag: true });
      expect(() => (built.source.node.root as App).synth()).not.toThrow();
    }
  });
});

describe('cdk-nag Serverless', () => {
  it.each(configs)('finds no unacknowledged error or warning in %s', async (_name, config) => {
    expect(await findings(config, ServerlessChecks)).toEqual([]);
  });

  it('acknowledges only DLQs without a DLQ, SQS mappings without a destination, function DLQs and tracing', async () => {
    const built = await build({ ...MIXED_CONFIG, reconcile: { schedule: 'rate(6 hours)', repair: true } });
    const rules = new Set(acknowledgements(built.source, 'Serverless').map((a) => a.split(': ')[1]));
    expect([...rules].sort()).toEqual([
      'Serverless-LambdaDLQ',
      'Serverless-LambdaEventSourceMappingDestination',
      'Serverless-LambdaTracing',
      'Serverless-SQSRedrivePolicy',
    ]);
    // The redrive acknowledgement is on dead-letter queues only, never on a queue that feeds a function.
    for (const a of acknowledgements(built.source, 'Serverless')) {
      if (a.endsWith('Serverless-SQSRedrivePolicy'))
        expect(a).toMatch(/(DeadLetterQueue|CaptureFailureQueue|FailureQueue): /);
    }
  });
});
