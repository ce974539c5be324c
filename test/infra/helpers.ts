/**
 * Shared helpers of the infra tests: configs, an app that skips bundling, and readers of IAM statements.
 */
import { App, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { type BuildAppOptions, type BuiltApp, buildApp } from '../../lib/app-builder';
import type { ReplicationConfigInput } from '../../lib/config';

/** The README's example pair: a created source and two created targets. */
export const ORDERS_CONFIG: ReplicationConfigInput = {
  sourceRegion: 'us-east-1',
  pairs: [
    {
      name: 'orders',
      type: 'dynamodb',
      source: { table: 'orders', create: { partitionKey: 'pk:S', sortKey: 'sk:S' } },
      targets: [
        { region: 'eu-west-1', table: 'orders', create: true },
        { region: 'ap-northeast-1', table: 'orders-replica', create: true },
      ],
    },
  ],
};

/** An imported source with a stream ARN, plus a second pair with a cross-account target and a filter. */
export const TWO_PAIRS_CONFIG: ReplicationConfigInput = {
  sourceRegion: 'us-east-1',
  account: '123456789012',
  pairs: [
    {
      name: 'orders',
      type: 'dynamodb',
      source: { table: 'orders', create: { partitionKey: 'pk:S', sortKey: 'sk:S' } },
      targets: [{ region: 'eu-west-1', table: 'orders', create: true }],
    },
    {
      name: 'users',
      type: 'dynamodb',
      source: {
        table: 'users',
        streamArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/2024-01-01T00:00:00.000',
      },
      targets: [
        { region: 'eu-west-1', table: 'users', create: { partitionKey: 'id:S' } },
        {
          region: 'eu-central-1',
          table: 'users-copy',
          account: '210987654321',
          roleArn: 'arn:aws:iam::210987654321:role/replicator-writer',
          externalId: 'replicator-ext',
        },
      ],
      filter: { deny: ['password'] },
      options: {
        captureBatchSize: 500,
        applyBatchSize: 5,
        maxAttempts: 3,
        envelopesPerMessage: 10,
        applyConcurrency: 4,
      },
    },
  ],
};

/**
 * The README's example S3 pair with a versioned created source and a prefix, a created target, and a
 * cross-account imported target with a role and a storage class; plus an imported source with a suffix and
 * tuned options.
 */
export const DATASETS_CONFIG: ReplicationConfigInput = {
  sourceRegion: 'us-east-1',
  account: '123456789012',
  pairs: [
    {
      name: 'datasets',
      type: 's3',
      prefix: 'datasets/',
      source: { bucket: 'training-data', create: { versioned: true } },
      targets: [
        { region: 'eu-west-1', bucket: 'training-data-eu', create: true },
        {
          region: 'ap-northeast-1',
          bucket: 'training-data-partner',
          account: '210987654321',
          roleArn: 'arn:aws:iam::210987654321:role/replicator-writer',
          externalId: 'replicator-ext',
          storageClass: 'STANDARD_IA',
        },
      ],
    },
    {
      name: 'checkpoints',
      type: 's3',
      suffix: '.ckpt',
      source: { bucket: 'model-checkpoints' },
      targets: [{ region: 'eu-west-1', bucket: 'model-checkpoints-eu', create: true }],
      options: {
        multipartThresholdBytes: 16 * 1024 * 1024,
        partSizeBytes: 8 * 1024 * 1024,
        copyConcurrency: 16,
        maxAttempts: 3,
        retryFor: '2h',
        applyBatchSize: 2,
        applyConcurrency: 4,
        envelopesPerMessage: 5,
      },
    },
  ],
};

/** A DynamoDB pair and an S3 pair side by side. */
export const MIXED_CONFIG: ReplicationConfigInput = {
  sourceRegion: 'us-east-1',
  pairs: [ORDERS_CONFIG.pairs[0]!, DATASETS_CONFIG.pairs[0]!],
};

const kmsKey = (region: string, id: string, account = '123456789012') => `arn:aws:kms:${region}:${account}:key/${id}`;
/** The keys of {@link KMS_CONFIG}'s imported tables and buckets. */
export const KMS_KEYS = {
  SOURCE_TABLE_KEY: kmsKey('us-east-1', 'source-table'),
  TARGET_TABLE_KEY: kmsKey('eu-west-1', 'target-table'),
  SOURCE_BUCKET_KEY: kmsKey('us-east-1', 'source-bucket'),
  TARGET_BUCKET_KEY: kmsKey('eu-west-1', 'target-bucket'),
  PARTNER_BUCKET_KEY: kmsKey('ap-northeast-1', 'partner-bucket', '210987654321'),
};
const { SOURCE_TABLE_KEY, TARGET_TABLE_KEY, SOURCE_BUCKET_KEY, TARGET_BUCKET_KEY, PARTNER_BUCKET_KEY } = KMS_KEYS;

/** Imported tables and buckets encrypted with customer managed keys, one target in another account. */
export const KMS_CONFIG: ReplicationConfigInput = {
  sourceRegion: 'us-east-1',
  account: '123456789012',
  reconcile: { schedule: 'rate(6 hours)', repair: true },
  pairs: [
    {
      name: 'orders',
      type: 'dynamodb',
      source: {
        table: 'orders',
        streamArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000',
        kmsKeyArn: SOURCE_TABLE_KEY,
      },
      targets: [{ region: 'eu-west-1', table: 'orders', kmsKeyArn: TARGET_TABLE_KEY }],
    },
    {
      name: 'datasets',
      type: 's3',
      prefix: 'datasets/',
      source: { bucket: 'training-data', kmsKeyArn: SOURCE_BUCKET_KEY },
      targets: [
        { region: 'eu-west-1', bucket: 'training-data-eu', kmsKeyArn: TARGET_BUCKET_KEY },
        {
          region: 'ap-northeast-1',
          bucket: 'partner-data',
          account: '210987654321',
          roleArn: 'arn:aws:iam::210987654321:role/replicator-writer',
          externalId: 'ext-id',
          kmsKeyArn: PARTNER_BUCKET_KEY,
        },
      ],
    },
  ],
};

/**
 * A bundling-free App. `autoSynth: false`: with CDK_OUTDIR set (test/setup.ts) an App would otherwise synthesize
 * again when its process is about to exit, into a folder the file's afterAll has already removed (an uncaught
 * ENOENT that fails the run only when the child process drains its event loop before vitest ends it).
 */
export function testApp(): App {
  return new App({ autoSynth: false, context: { 'aws:cdk:bundling-stacks': [] } });
}

/** buildApp on a bundling-free App, without cdk-nag unless asked. */
export async function build(config: ReplicationConfigInput, options: BuildAppOptions = {}): Promise<BuiltApp> {
  return buildApp(testApp(), config, { nag: false, ...options });
}

/** A stack to hold a single construct under test. */
export function testStack(region = 'us-east-1'): Stack {
  return new Stack(testApp(), 'TestStack', { env: { account: '123456789012', region } });
}

/** One IAM statement, with Action and Resource always as arrays. */
export interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string[];
  readonly Resource: unknown[];
  readonly Condition?: Record<string, unknown>;
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** Logical id of the function with this physical name. */
export function functionLogicalId(template: Template, functionName: string): string {
  const found = Object.keys(
    template.findResources('AWS::Lambda::Function', { Properties: { FunctionName: functionName } }),
  );
  if (found.length !== 1) throw new Error(`expected one function named ${functionName}, found ${found.length}`);
  return found[0]!;
}

/** The function's properties. */
export function functionProps(template: Template, functionName: string): Record<string, unknown> {
  const id = functionLogicalId(template, functionName);
  return (template.toJSON().Resources as Resources)[id]!.Properties!;
}

/** Every statement of every IAM policy attached to the role of the function with this physical name. */
export function statementsOf(template: Template, functionName: string): Statement[] {
  const props = functionProps(template, functionName);
  const roleId = ((props.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'] ?? [])[0];
  const resources = template.toJSON().Resources as Resources;
  const out: Statement[] = [];
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    const roles = (r.Properties?.Roles ?? []) as { Ref?: string }[];
    if (!roles.some((x) => x.Ref === roleId)) continue;
    const doc = r.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] };
    for (const s of doc.Statement) {
      out.push({
        ...(s.Sid ? { Sid: s.Sid as string } : {}),
        Effect: s.Effect as string,
        Action: ([] as string[]).concat(s.Action as string | string[]),
        Resource: ([] as unknown[]).concat(s.Resource as unknown),
        ...(s.Condition ? { Condition: s.Condition as Record<string, unknown> } : {}),
      });
    }
  }
  return out;
}

/** The resources that statements grant an action on. */
export function resourcesFor(statements: readonly Statement[], action: string): unknown[] {
  return statements.filter((s) => s.Effect === 'Allow' && s.Action.includes(action)).flatMap((s) => s.Resource);
}

/** The logical id of the one resource of this type matching these properties. */
export function logicalIdOf(template: Template, type: string, properties: Record<string, unknown>): string {
  const found = Object.keys(template.findResources(type, { Properties: properties }));
  if (found.length !== 1) throw new Error(`expected one ${type} matching, found ${found.length}`);
  return found[0]!;
}

/** An ARN as text: `Fn::Join` parts concatenated, `AWS::Partition` as `aws`, other tokens as `<Ref>`/`<Id.Attr>`. */
export function arnText(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (v.Ref === 'AWS::Partition') return 'aws';
  if (typeof v.Ref === 'string') return `<${v.Ref}>`;
  if (Array.isArray(v['Fn::GetAtt'])) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
  if (Array.isArray(v['Fn::Join'])) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(arnText).join(sep);
  }
  return JSON.stringify(value);
}
