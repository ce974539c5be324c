import { existsSync } from 'node:fs';
import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parseConfig, type ReplicationConfigInput, S3_PAIR_DEFAULTS, type S3PairConfig } from '../../lib/config';
import {
  BucketPair,
  COPY_TIMEOUT,
  S3_CAPTURE_BATCH_SIZE,
  S3_HANDLERS,
  SQS_LARGE_BATCH_MIN_WINDOW_SECONDS,
} from '../../lib/pair-types/s3';
import { ReplicationStack } from '../../lib/replication-stack';
import {
  arnText,
  DATASETS_CONFIG,
  functionLogicalId,
  functionProps,
  logicalIdOf,
  resourcesFor,
  type Statement,
  statementsOf,
  testApp,
  testStack,
} from './helpers';

function pairOf(config: ReplicationConfigInput, name: string): S3PairConfig {
  const pair = parseConfig(config).pairs.find((p) => p.name === name);
  if (pair?.type !== 's3') throw new Error(`no S3 pair ${name}`);
  return pair;
}

function pairTemplate(
  pair: S3PairConfig = pairOf(DATASETS_CONFIG, 'datasets'),
  extra: Partial<ConstructorParameters<typeof BucketPair>[2]> = {},
): Template {
  const stack = testStack();
  new BucketPair(stack, 'DatasetsPair', { pair, ...extra });
  return Template.fromStack(stack);
}

/** A one-pair S3 config with the given pair fields over a minimal imported-source pair. */
function onePair(fields: Record<string, unknown>): S3PairConfig {
  return pairOf(
    {
      sourceRegion: 'us-east-1',
      pairs: [
        {
          name: 'plain',
          type: 's3',
          source: { bucket: 'plain-source' },
          targets: [{ region: 'eu-west-1', bucket: 'plain-target' }],
          ...fields,
        } as ReplicationConfigInput['pairs'][number],
      ],
    },
    'plain',
  );
}

function stackTemplate(): Template {
  return Template.fromStack(new ReplicationStack(testApp(), 'Replicator-us-east-1', { config: DATASETS_CONFIG }));
}

function envOf(template: Template, functionName: string): Record<string, string> {
  return (functionProps(template, functionName).Environment as { Variables: Record<string, string> }).Variables;
}

function notificationConfig(template: Template): { QueueConfigurations: Record<string, unknown>[] } {
  const found = Object.values(template.findResources('Custom::S3BucketNotifications'));
  expect(found).toHaveLength(1);
  return found[0]!.Properties.NotificationConfiguration;
}

const flat = (v: unknown) => JSON.stringify(v);

describe('source bucket', () => {
  it('creates a versioned source with all public access blocked, SSE-S3, no ACLs and server access logs', () => {
    const template = pairTemplate();
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'training-data',
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LoggingConfiguration: { DestinationBucketName: { Ref: Match.anyValue() }, LogFilePrefix: 'training-data/' },
    });
  });

  it('creates an unversioned source for create: true', () => {
    const template = pairTemplate(onePair({ source: { bucket: 'plain-source', create: true } }));
    const bucket = template.findResources('AWS::S3::Bucket', { Properties: { BucketName: 'plain-source' } });
    expect(Object.values(bucket)[0]!.Properties.VersioningConfiguration).toBeUndefined();
  });

  it('refuses requests without TLS (a TLS-only bucket policy)', () => {
    const template = pairTemplate();
    const bucket = logicalIdOf(template, 'AWS::S3::Bucket', { BucketName: 'training-data' });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: [
              { 'Fn::GetAtt': [bucket, 'Arn'] },
              { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/*']] },
            ],
          }),
        ]),
      },
    });
  });

  it('lets the role of a target in another account read the objects under the prefix, as its copies do', () => {
    const template = pairTemplate();
    const bucket = logicalIdOf(template, 'AWS::S3::Bucket', { BucketName: 'training-data' });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'TargetRolesReadSource',
            Effect: 'Allow',
            Principal: { AWS: 'arn:aws:iam::210987654321:role/replicator-writer' },
            Action: ['s3:GetObject', 's3:GetObjectVersion'],
            Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::training-data/datasets/*']] },
          },
        ]),
      },
    });
  });

  it('retains a created source by default (sourceRemovalPolicy)', () => {
    pairTemplate().hasResource('AWS::S3::Bucket', {
      Properties: { BucketName: 'training-data' },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('applies another sourceRemovalPolicy when given', () => {
    pairTemplate(undefined, { sourceRemovalPolicy: RemovalPolicy.DESTROY }).hasResource('AWS::S3::Bucket', {
      Properties: { BucketName: 'training-data' },
      DeletionPolicy: 'Delete',
    });
  });

  it('sends the access logs of a created source to a log bucket of its own by default (accessLogs)', () => {
    const template = pairTemplate();
    const logs = Object.keys(
      template.findResources('AWS::S3::Bucket', { Properties: { LifecycleConfiguration: Match.anyValue() } }),
    );
    expect(logs).toHaveLength(1);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'training-data',
      LoggingConfiguration: { DestinationBucketName: { Ref: logs[0] } },
    });
  });

  it('imports a source that is not created, without a bucket or access logs', () => {
    const template = pairTemplate(onePair({}));
    template.resourceCountIs('AWS::S3::Bucket', 0);
    template.resourceCountIs('AWS::S3::BucketPolicy', 0);
  });
});

describe('notifications', () => {
  it('sends ObjectCreated:* and ObjectRemoved:* under the prefix to the events queue (Custom::S3BucketNotifications)', () => {
    const template = pairTemplate();
    const bucket = logicalIdOf(template, 'AWS::S3::Bucket', { BucketName: 'training-data' });
    const queue = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-datasets-events' });
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: bucket },
      Managed: true,
    });
    const filter = { Key: { FilterRules: [{ Name: 'prefix', Value: 'datasets/' }] } };
    expect(notificationConfig(template)).toEqual({
      QueueConfigurations: [
        { Events: ['s3:ObjectCreated:*'], Filter: filter, QueueArn: { 'Fn::GetAtt': [queue, 'Arn'] } },
        { Events: ['s3:ObjectRemoved:*'], Filter: filter, QueueArn: { 'Fn::GetAtt': [queue, 'Arn'] } },
      ],
    });
  });

  it('filters on the prefix and the suffix together', () => {
    const config = notificationConfig(pairTemplate(onePair({ prefix: 'models/', suffix: '.ckpt' })));
    for (const c of config.QueueConfigurations) {
      expect(c.Filter).toEqual({
        Key: {
          FilterRules: [
            { Name: 'suffix', Value: '.ckpt' },
            { Name: 'prefix', Value: 'models/' },
          ],
        },
      });
    }
  });

  it('sends every key without a prefix or suffix (no filter)', () => {
    const config = notificationConfig(pairTemplate(onePair({})));
    expect(config.QueueConfigurations).toHaveLength(2);
    for (const c of config.QueueConfigurations) expect(c.Filter).toBeUndefined();
  });

  it('adds to the notifications of an imported bucket by name, keeping the ones it did not make (Managed: false)', () => {
    pairTemplate(onePair({})).hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: 'plain-source',
      Managed: false,
    });
  });

  it('lets S3 send to the events queue for the source bucket of this account only, over TLS only', () => {
    const template = pairTemplate();
    const bucket = logicalIdOf(template, 'AWS::S3::Bucket', { BucketName: 'training-data' });
    const queue = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-datasets-events' });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Action: Match.arrayWith(['sqs:SendMessage']),
            Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [bucket, 'Arn'] } } },
          }),
          Match.objectLike({
            Sid: 'OnlyThisAccountsBuckets',
            Effect: 'Deny',
            Principal: { Service: 's3.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Condition: { StringNotEquals: { 'aws:SourceAccount': '123456789012' } },
          }),
        ]),
      },
    });
  });
});

describe('queues', () => {
  const template = pairTemplate();

  it('creates the events queue SSE-SQS encrypted, redriven to the capture failure queue after 5 receives', () => {
    const failures = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-datasets-capture-failures' });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'replicator-datasets-events',
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1209600,
      VisibilityTimeout: 360,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [failures, 'Arn'] }, maxReceiveCount: 5 },
    });
  });

  it('creates the pair queue, its DLQ and the state table as a DynamoDB pair does', () => {
    for (const name of ['replicator-datasets', 'replicator-datasets-dlq', 'replicator-datasets-capture-failures']) {
      template.hasResourceProperties('AWS::SQS::Queue', { QueueName: name, SqsManagedSseEnabled: true });
    }
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        TableName: 'replicator-datasets-state',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      },
      DeletionPolicy: 'Delete',
    });
    // Pair queue, DLQ, capture failures, events; and the backfill job's queue and its DLQ.
    template.resourceCountIs('AWS::SQS::Queue', 6);
  });

  it('keeps every queue visible at least 6 × the timeout of the function that consumes it', () => {
    interface Resource {
      Type: string;
      Properties: {
        EventSourceArn?: { 'Fn::GetAtt'?: [string, string] };
        FunctionName?: { Ref: string };
        VisibilityTimeout?: number;
        Timeout?: number;
      };
    }
    const resources = template.toJSON().Resources as Record<string, Resource>;
    const sourceOf = (r: Resource) => resources[r.Properties.EventSourceArn?.['Fn::GetAtt']?.[0] ?? ''];
    const mappings = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
    // Events → capture, pair queue → copy, backfill jobs → backfill.
    expect(mappings).toHaveLength(3);
    for (const mapping of mappings) {
      const queue = sourceOf(mapping)!;
      const fn = resources[mapping.Properties.FunctionName!.Ref]!;
      expect(queue.Type).toBe('AWS::SQS::Queue');
      expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Properties.Timeout!);
    }
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'replicator-datasets',
      VisibilityTimeout: 6 * COPY_TIMEOUT.toSeconds(),
    });
  });
});

describe('event sources', () => {
  const template = pairTemplate();

  it('maps the events queue to capture with partial batch responses and a 1 s window (Lambda needs one above 10)', () => {
    const queue = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-datasets-events' });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionLogicalId(template, 'replicator-datasets-capture') },
      EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
      BatchSize: S3_CAPTURE_BATCH_SIZE,
      MaximumBatchingWindowInSeconds: SQS_LARGE_BATCH_MIN_WINDOW_SECONDS,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('maps the pair queue to copy with partial batch responses and the concurrency cap', () => {
    const queue = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-datasets' });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionLogicalId(template, 'replicator-datasets-copy') },
      EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
      BatchSize: S3_PAIR_DEFAULTS.applyBatchSize,
      MaximumBatchingWindowInSeconds: 0,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: S3_PAIR_DEFAULTS.applyConcurrency },
    });
  });
});

describe('functions', () => {
  const template = pairTemplate();

  it('gives copy 900 s and 1024 MB, capture 60 s and 512 MB', () => {
    expect(functionProps(template, 'replicator-datasets-copy')).toMatchObject({ Timeout: 900, MemorySize: 1024 });
    expect(functionProps(template, 'replicator-datasets-capture')).toMatchObject({ Timeout: 60, MemorySize: 512 });
  });

  it('gives capture its pair, queue, origin region, source bucket, prefix and packing', () => {
    const queue = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-datasets' });
    const env = envOf(template, 'replicator-datasets-capture');
    expect(Object.keys(env).sort()).toEqual(
      [
        'ENVELOPES_PER_MESSAGE',
        'NODE_OPTIONS',
        'ORIGIN_REGION',
        'PAIR_NAME',
        'POWERTOOLS_LOG_LEVEL',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_SERVICE_NAME',
        'PREFIX',
        'QUEUE_URL',
        'REQUEST_TIMEOUT_SECONDS',
        'SOURCE_BUCKET',
      ].sort(),
    );
    expect(env).toMatchObject({
      PAIR_NAME: 'datasets',
      QUEUE_URL: { Ref: queue },
      ORIGIN_REGION: 'us-east-1',
      SOURCE_BUCKET: 'training-data',
      PREFIX: 'datasets/',
      ENVELOPES_PER_MESSAGE: '25',
      POWERTOOLS_SERVICE_NAME: 'replicator-s3-capture',
      POWERTOOLS_METRICS_NAMESPACE: 'Replicator',
    });
  });

  it('passes SUFFIX only when the pair has one, and PREFIX only when it has one', () => {
    const env = envOf(pairTemplate(onePair({ suffix: '.ckpt' })), 'replicator-plain-capture');
    expect(env.SUFFIX).toBe('.ckpt');
    expect(env.PREFIX).toBeUndefined();
    expect(envOf(template, 'replicator-datasets-capture').SUFFIX).toBeUndefined();
  });

  it('gives copy its queues, state table, source, targets and copy settings', () => {
    const queue = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-datasets' });
    const dlq = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-datasets-dlq' });
    const state = logicalIdOf(template, 'AWS::DynamoDB::Table', { TableName: 'replicator-datasets-state' });
    const env = envOf(template, 'replicator-datasets-copy');
    expect(env).toMatchObject({
      PAIR_NAME: 'datasets',
      QUEUE_URL: { Ref: queue },
      DLQ_URL: { Ref: dlq },
      STATE_TABLE: { Ref: state },
      SOURCE_BUCKET: 'training-data',
      SOURCE_REGION: 'us-east-1',
      MAX_ATTEMPTS: '5',
      MULTIPART_THRESHOLD: String(64 * 1024 * 1024),
      PART_SIZE: String(64 * 1024 * 1024),
      COPY_CONCURRENCY: '8',
      POWERTOOLS_SERVICE_NAME: 'replicator-copy',
      POWERTOOLS_METRICS_NAMESPACE: 'Replicator',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    });
    expect(JSON.parse(env.TARGETS!)).toEqual([
      { id: 'eu-west-1/training-data-eu', region: 'eu-west-1', bucket: 'training-data-eu' },
      {
        id: '210987654321/ap-northeast-1/training-data-partner',
        region: 'ap-northeast-1',
        bucket: 'training-data-partner',
        roleArn: 'arn:aws:iam::210987654321:role/replicator-writer',
        externalId: 'replicator-ext',
        storageClass: 'STANDARD_IA',
      },
    ]);
  });

  it('defaults its handler entries to S3_HANDLERS, files of this project', () => {
    for (const entry of Object.values(S3_HANDLERS)) expect(existsSync(entry)).toBe(true);
    expect(Object.keys(S3_HANDLERS)).toEqual(['capture', 'copy', 'reconcile', 'backfill']);
  });

  it('fails on a handler entry that does not exist (copyEntry)', () => {
    expect(() => pairTemplate(undefined, { copyEntry: '/nonexistent/copy.ts' })).toThrow(
      /Cannot find entry file at \/nonexistent\/copy.ts/,
    );
  });

  it('takes the reconcile handler from reconcileEntry (default S3_HANDLERS.reconcile)', () => {
    const reconcile = { schedule: 'rate(1 hour)', repair: true };
    expect(() => pairTemplate(undefined, { reconcile })).not.toThrow();
    expect(() => pairTemplate(undefined, { reconcile, reconcileEntry: '/nonexistent/reconcile.ts' })).toThrow(
      /Cannot find entry file at \/nonexistent\/reconcile.ts/,
    );
  });
});

describe('pair options', () => {
  const template = stackTemplate();

  it('takes the pair options over the defaults', () => {
    const env = envOf(template, 'replicator-checkpoints-copy');
    expect(env).toMatchObject({
      MULTIPART_THRESHOLD: String(16 * 1024 * 1024),
      PART_SIZE: String(8 * 1024 * 1024),
      COPY_CONCURRENCY: '16',
      MAX_ATTEMPTS: '3',
      RETRY_FOR_SECONDS: '7200',
    });
    expect(envOf(template, 'replicator-checkpoints-capture').ENVELOPES_PER_MESSAGE).toBe('5');
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionLogicalId(template, 'replicator-checkpoints-copy') },
      BatchSize: 2,
      ScalingConfig: { MaximumConcurrency: 4 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'replicator-checkpoints',
      RedrivePolicy: { maxReceiveCount: 5 },
    });
  });

  // One test per default of S3PairOptions (S3_PAIR_DEFAULTS), so the documented defaults cannot drift.
  const defaults = envOf(template, 'replicator-datasets-copy');
  it(`defaults multipartThresholdBytes to ${S3_PAIR_DEFAULTS.multipartThresholdBytes} (64 MiB)`, () => {
    expect(defaults.MULTIPART_THRESHOLD).toBe('67108864');
  });
  it(`defaults partSizeBytes to ${S3_PAIR_DEFAULTS.partSizeBytes} (64 MiB)`, () => {
    expect(defaults.PART_SIZE).toBe('67108864');
  });
  it(`defaults copyConcurrency to ${S3_PAIR_DEFAULTS.copyConcurrency}`, () => {
    expect(defaults.COPY_CONCURRENCY).toBe('8');
  });
  it(`defaults requestTimeout to ${S3_PAIR_DEFAULTS.requestTimeout}: a copy may be quiet while S3 copies`, () => {
    for (const fn of ['replicator-datasets-capture', 'replicator-datasets-copy']) {
      expect(envOf(template, fn).REQUEST_TIMEOUT_SECONDS).toBe('60');
    }
  });
  it(`defaults retryFor to ${S3_PAIR_DEFAULTS.retryFor}: transient failures are retried a day`, () => {
    expect(defaults.RETRY_FOR_SECONDS).toBe('86400');
  });
  it(`defaults maxAttempts to ${S3_PAIR_DEFAULTS.maxAttempts}`, () => {
    expect(defaults.MAX_ATTEMPTS).toBe('5');
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'replicator-datasets',
      RedrivePolicy: { maxReceiveCount: 7 },
    });
  });
  it(`defaults envelopesPerMessage to ${S3_PAIR_DEFAULTS.envelopesPerMessage}`, () => {
    expect(envOf(template, 'replicator-datasets-capture').ENVELOPES_PER_MESSAGE).toBe('25');
  });
  it(`defaults applyBatchSize to ${S3_PAIR_DEFAULTS.applyBatchSize} and applyConcurrency to ${S3_PAIR_DEFAULTS.applyConcurrency}`, () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionLogicalId(template, 'replicator-datasets-copy') },
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });
});

describe('least privilege', () => {
  const template = stackTemplate();
  const copy = statementsOf(template, 'replicator-datasets-copy');
  const bySid = (statements: readonly Statement[], sid: string) => {
    const found = statements.filter((s) => s.Sid === sid);
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  it('lets copy read exactly the source objects under the prefix', () => {
    const s = bySid(copy, 'ReadSourceObjects');
    expect(s.Action.sort()).toEqual(
      ['s3:GetObject', 's3:GetObjectTagging', 's3:GetObjectVersion', 's3:GetObjectVersionTagging'].sort(),
    );
    expect(s.Resource.map(arnText)).toEqual(['arn:aws:s3:::training-data/datasets/*']);
  });

  it('lets copy list the source bucket only under the prefix (s3:prefix condition)', () => {
    const s = bySid(copy, 'ListSourcePrefix');
    expect(s.Action).toEqual(['s3:ListBucket']);
    expect(s.Resource.map(arnText)).toEqual(['arn:aws:s3:::training-data']);
    expect(s.Condition).toEqual({ StringLikeIfExists: { 's3:prefix': 'datasets/*' } });
  });

  it('lets copy write exactly the target objects under the prefix, and list the target buckets under it', () => {
    const s = bySid(copy, 'WriteTargetObjects');
    expect(s.Action.sort()).toEqual(
      ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:PutObject', 's3:PutObjectTagging'].sort(),
    );
    // The cross-account target (training-data-partner) is reached only as its role: no grant of copy's own.
    expect(s.Resource.map(arnText)).toEqual(['arn:aws:s3:::training-data-eu/datasets/*']);
    const list = bySid(copy, 'ListTargetBuckets');
    expect(list.Resource.map(arnText)).toEqual(['arn:aws:s3:::training-data-eu']);
    expect(list.Condition).toEqual({ StringLikeIfExists: { 's3:prefix': 'datasets/*' } });
  });

  it('grants no S3 action outside the pair buckets, no object action outside the prefix, and nothing on "*"', () => {
    for (const s of copy) {
      expect(s.Resource).not.toContain('*');
      for (const r of s.Resource.map(arnText)) {
        if (!r.startsWith('arn:aws:s3:::')) continue;
        expect(r).toMatch(/^arn:aws:s3:::(training-data|training-data-eu|training-data-partner)(\/datasets\/\*)?$/);
      }
    }
    expect(copy.flatMap((s) => s.Action).filter((a) => a.startsWith('s3:') && a.includes('*'))).toEqual([]);
    expect(resourcesFor(copy, 's3:DeleteObject').map(arnText)).not.toContain('arn:aws:s3:::training-data/datasets/*');
    expect(resourcesFor(copy, 's3:PutObject').map(arnText)).not.toContain('arn:aws:s3:::training-data/datasets/*');
  });

  it('scopes to the whole bucket without a prefix, and lists it without a condition', () => {
    const t = pairTemplate(onePair({}));
    const statements = statementsOf(t, 'replicator-plain-copy');
    expect(resourcesFor(statements, 's3:GetObjectVersion').map(arnText)).toEqual(['arn:aws:s3:::plain-source/*']);
    expect(resourcesFor(statements, 's3:PutObject').map(arnText)).toEqual(['arn:aws:s3:::plain-target/*']);
    const list = statements.find((s) => s.Sid === 'ListSourcePrefix');
    expect(list?.Resource.map(arnText)).toEqual(['arn:aws:s3:::plain-source']);
    expect(list?.Condition).toBeUndefined();
  });

  it('lets copy assume exactly the target roles', () => {
    expect(resourcesFor(copy, 'sts:AssumeRole')).toEqual(['arn:aws:iam::210987654321:role/replicator-writer']);
    expect(resourcesFor(statementsOf(template, 'replicator-checkpoints-copy'), 'sts:AssumeRole')).toEqual([]);
  });

  it('lets copy use its state table and send to its queue and DLQ', () => {
    const state = logicalIdOf(template, 'AWS::DynamoDB::Table', { TableName: 'replicator-datasets-state' });
    const queue = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-datasets' });
    const dlq = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-datasets-dlq' });
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) {
      expect(resourcesFor(copy, action)).toEqual([{ 'Fn::GetAtt': [state, 'Arn'] }]);
    }
    expect(resourcesFor(copy, 'sqs:SendMessage').map(flat).sort()).toEqual(
      [{ 'Fn::GetAtt': [queue, 'Arn'] }, { 'Fn::GetAtt': [dlq, 'Arn'] }].map(flat).sort(),
    );
  });

  it('lets capture send to its pair queue and consume its events queue, and touch no bucket or table', () => {
    const capture = statementsOf(template, 'replicator-datasets-capture');
    const queue = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-datasets' });
    const events = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-datasets-events' });
    expect(resourcesFor(capture, 'sqs:SendMessage')).toEqual([{ 'Fn::GetAtt': [queue, 'Arn'] }]);
    for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage']) {
      expect(resourcesFor(capture, action)).toEqual([{ 'Fn::GetAtt': [events, 'Arn'] }]);
    }
    const actions = capture.flatMap((s) => s.Action);
    expect(actions.filter((a) => a.startsWith('s3:') || a.startsWith('dynamodb:'))).toEqual([]);
    for (const s of capture) expect(s.Resource).not.toContain('*');
  });

  it("gives a second pair's functions nothing of the first pair's buckets or queues", () => {
    const text = flat([
      ...statementsOf(template, 'replicator-checkpoints-copy'),
      ...statementsOf(template, 'replicator-checkpoints-capture'),
    ]).replaceAll('model-checkpoints', '');
    expect(text).not.toContain('training-data');
    expect(text).not.toContain(logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-datasets' }));
  });
});

describe('alarms', () => {
  const template = pairTemplate();

  it('alarms on the DLQ, the capture failure queue and a copy error', () => {
    for (const [name, metric] of [
      ['replicator-datasets-dlq', 'ApproximateNumberOfMessagesVisible'],
      ['replicator-datasets-capture-failures', 'ApproximateNumberOfMessagesVisible'],
      ['replicator-datasets-copy-errors', 'Errors'],
    ]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: name,
        MetricName: metric,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'replicator-datasets-copy-errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionLogicalId(template, 'replicator-datasets-copy') } }],
    });
  });

  it('alarms when the oldest S3 event waits more than 5 minutes (instead of an iterator age)', () => {
    const events = logicalIdOf(template, 'AWS::SQS::Queue', { QueueName: 'replicator-datasets-events' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'replicator-datasets-events-age',
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [events, 'QueueName'] } }],
      Statistic: 'Maximum',
      Threshold: 300,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'IteratorAge' }, 0);
    // 5 pair alarms, plus latency, backlog age, apply errors and reconcile mismatches of each of the 2 targets.
    // 5 pair alarms and the backfill job's, plus 4 per target.
    template.resourceCountIs('AWS::CloudWatch::Alarm', 6 + 2 * 4);
  });
});

describe('tags', () => {
  it('tags every taggable resource of the pair with replicator:pair', () => {
    const template = pairTemplate();
    const resources = template.toJSON().Resources as Record<string, { Type: string; Properties?: { Tags?: unknown } }>;
    const taggable = [
      'AWS::S3::Bucket',
      'AWS::DynamoDB::Table',
      'AWS::SQS::Queue',
      'AWS::Lambda::Function',
      'AWS::IAM::Role',
      'AWS::Logs::LogGroup',
    ];
    const checked = Object.entries(resources).filter(
      // CDK's notifications handler belongs to the stack, not to the pair.
      ([id, r]) => taggable.includes(r.Type) && !id.startsWith('BucketNotificationsHandler'),
    );
    expect(checked.length).toBeGreaterThan(10);
    for (const [, r] of checked) {
      expect(r.Properties?.Tags).toContainEqual({ Key: 'replicator:pair', Value: 'datasets' });
    }
  });
});
