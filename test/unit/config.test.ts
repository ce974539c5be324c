import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ALARMS_DEFAULTS,
  bucketNameProblem,
  loadConfigFile,
  PAIR_DEFAULTS,
  parseConfig,
  RECONCILE_DEFAULTS,
  regionsOf,
  S3_PAIR_DEFAULTS,
  targetId,
} from '../../lib/config';
import { durationSeconds } from '../../lib/pair-types/common-schema';

const valid = () => ({
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
});

describe('parseConfig', () => {
  it('accepts the documented example', () => {
    const cfg = parseConfig(valid());
    expect(regionsOf(cfg)).toEqual(['us-east-1', 'eu-west-1', 'ap-northeast-1']);
    expect(targetId(cfg.pairs[0]!, cfg.pairs[0]!.targets[0]!)).toBe('eu-west-1/orders');
  });

  it('accepts the repository default config file', () => {
    expect(loadConfigFile(join(__dirname, '../../replication.config.json')).pairs.map((p) => p.type)).toEqual([
      'dynamodb',
      's3',
    ]);
  });

  it('fails on an unknown region, naming the field and the value', () => {
    const c = valid();
    c.pairs[0]!.targets[0]!.region = 'eu-middle-9';
    expect(() => parseConfig(c)).toThrow(
      /pairs\[0\]\.targets\[0\]\.region: unknown region; allowed: us-east-1.*\(given "eu-middle-9"\)/,
    );
  });

  it('fails if a target repeats the source', () => {
    const c = valid();
    c.pairs[0]!.targets[0] = { region: 'us-east-1', table: 'orders', create: true };
    expect(() => parseConfig(c)).toThrow(
      /pairs\[0\]\.targets\[0\]: target repeats the source \(given region "us-east-1" and table "orders"\)/,
    );
  });

  it('accepts a target in the source region under another table name', () => {
    const c = valid();
    c.pairs[0]!.targets[0] = { region: 'us-east-1', table: 'orders-copy', create: true };
    expect(() => parseConfig(c)).not.toThrow();
  });

  it('fails on an empty targets list', () => {
    const c = valid();
    c.pairs[0]!.targets = [];
    expect(() => parseConfig(c)).toThrow(/pairs\[0\]\.targets: must list at least one target \(given \[\]\)/);
  });

  it("fails on a pair name that would share another pair's resource names, and allows any other continuation", () => {
    const c = valid();
    const other = (name: string) => ({
      ...c.pairs[0]!,
      name,
      source: { table: name, create: { partitionKey: 'pk:S', sortKey: 'sk:S' } },
    });
    expect(() => parseConfig({ ...c, pairs: [other('orders-dlq'), ...c.pairs] })).toThrow(
      /pairs\[0\]\.name: would share resource names with pair "orders", whose resources are named replicator-orders-dlq… \(given "orders-dlq"\); a pair name must not continue another's with apply, backfill/,
    );
    expect(() => parseConfig({ ...c, pairs: [...c.pairs, other('orders-state-eu')] })).toThrow(
      /pairs\[1\]\.name: would share resource names with pair "orders"/,
    );
    expect(() => parseConfig({ ...c, pairs: [...c.pairs, other('orders-eu'), other('orders-dlqs')] })).not.toThrow();
  });

  it('fails on duplicate pair names', () => {
    const c = valid();
    c.pairs.push({ ...c.pairs[0]!, source: { table: 'other', create: { partitionKey: 'pk:S', sortKey: 'sk:S' } } });
    expect(() => parseConfig(c)).toThrow(
      /pairs\[1\]\.name: duplicate pair name \(given "orders", already used by pairs\[0\]\)/,
    );
  });

  it('fails on a duplicate target', () => {
    const c = valid();
    c.pairs[0]!.targets.push({ region: 'eu-west-1', table: 'orders', create: true });
    expect(() => parseConfig(c)).toThrow(/pairs\[0\]\.targets\[2\]: duplicate target \(given "eu-west-1\/orders"/);
  });

  it('fails on an unsupported pair type, naming the allowed ones', () => {
    const c = valid() as { pairs: { type: string }[] };
    c.pairs[0]!.type = 'kafka';
    expect(() => parseConfig(c)).toThrow(
      /pairs\[0\]\.type: unsupported pair type; allowed: "dynamodb", "s3" \(given "kafka"\)/,
    );
  });

  it('fails on a bad key schema', () => {
    const c = valid();
    c.pairs[0]!.source.create.partitionKey = 'pk:X';
    expect(() => parseConfig(c)).toThrow(
      /pairs\[0\]\.source\.create\.partitionKey: must be "attributeName:TYPE".*\(given "pk:X"\)/,
    );
  });

  it('fails on unknown fields, naming them', () => {
    const c = { ...valid(), colour: 'blue' };
    expect(() => parseConfig(c)).toThrow(/\(root\): unknown field "colour"/);
  });

  it('fails when a created target has no key schema because the source is imported', () => {
    const c = valid();
    (c.pairs[0] as { source: object }).source = { table: 'orders' };
    expect(() => parseConfig(c)).toThrow(/targets\[0\]\.create: true needs a key schema/);
  });

  it('fails when both an allow and a deny filter are given, or a key is denied', () => {
    const both = { ...valid(), pairs: [{ ...valid().pairs[0]!, filter: { allow: ['a'], deny: ['b'] } }] };
    expect(() => parseConfig(both)).toThrow(/pairs\[0\]\.filter: give either allow or deny/);
    const key = { ...valid(), pairs: [{ ...valid().pairs[0]!, filter: { deny: ['sk'] } }] };
    expect(() => parseConfig(key)).toThrow(/filter\.deny: key attributes are always replicated \(given "sk"\)/);
  });

  it('needs a roleArn for a target in another account', () => {
    const c = { ...valid(), account: '111111111111' };
    c.pairs[0]!.targets[0] = { region: 'eu-west-1', table: 'orders', account: '222222222222' } as never;
    expect(() => parseConfig(c)).toThrow(
      /targets\[0\]\.roleArn: a target in another account \(given account "222222222222"\) needs a roleArn/,
    );
  });

  it('fails on an out-of-range option, naming the limit', () => {
    const c = { ...valid(), pairs: [{ ...valid().pairs[0]!, options: { applyBatchSize: 11 } }] };
    expect(() => parseConfig(c)).toThrow(/options\.applyBatchSize: Too big: expected number to be <=10 \(given 11\)/);
  });

  it('lists every problem at once', () => {
    const c = valid();
    c.pairs[0]!.targets[0]!.region = 'nowhere';
    c.pairs[0]!.name = 'Bad Name';
    expect(() => parseConfig(c)).toThrow(/name:.*\n.*region:|region:.*\n.*name:/);
  });
});

describe('loadConfigFile', () => {
  it('names the file when it is not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const path = join(dir, 'replication.config.json');
    writeFileSync(path, '{ nope');
    try {
      expect(() => loadConfigFile(path)).toThrow(
        new RegExp(`Invalid replication config \\(${path}\\):\\n  - not valid JSON`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseConfig of retryFor', () => {
  const withRetryFor = (retryFor: unknown) => {
    const cfg = valid();
    (cfg.pairs[0] as Record<string, unknown>).options = { retryFor };
    return cfg;
  };

  it('accepts a duration in s, min, h or d', () => {
    for (const v of ['0s', '90s', '30min', '24h', '13d']) expect(() => parseConfig(withRetryFor(v))).not.toThrow();
    expect(durationSeconds('30min')).toBe(1800);
    expect(durationSeconds('2d')).toBe(172_800);
  });

  it('names the field and the value of a duration without a unit, or longer than the queue keeps a message', () => {
    expect(() => parseConfig(withRetryFor('24'))).toThrow(
      /pairs\[0\]\.options\.retryFor: must be a whole number and a unit: s, min, h or d \(e\.g\. "24h"\) \(given "24"\)/,
    );
    expect(() => parseConfig(withRetryFor('14d'))).toThrow(
      /pairs\[0\]\.options\.retryFor: must be at most 13d.*\(given "14d"\)/,
    );
  });
});

describe('parseConfig of requestTimeout', () => {
  const withTimeout = (requestTimeout: unknown) => {
    const cfg = valid();
    (cfg.pairs[0] as Record<string, unknown>).options = { requestTimeout };
    return cfg;
  };

  it('accepts 1s to 5min', () => {
    for (const v of ['1s', '10s', '2min', '5min']) expect(() => parseConfig(withTimeout(v))).not.toThrow();
  });

  it('names the field and the value of a timeout of zero, or longer than 5 minutes', () => {
    expect(() => parseConfig(withTimeout('0s'))).toThrow(
      /pairs\[0\]\.options\.requestTimeout: must be at least 1s.*\(given "0s"\)/,
    );
    expect(() => parseConfig(withTimeout('1h'))).toThrow(
      /pairs\[0\]\.options\.requestTimeout: must be at most 5min.*\(given "1h"\)/,
    );
  });
});

describe('PAIR_DEFAULTS', () => {
  it('documents the defaults the stacks use', () => {
    expect(PAIR_DEFAULTS).toEqual({
      captureBatchSize: 100,
      applyBatchSize: 10,
      maxAttempts: 5,
      retryFor: '24h',
      maxBacklogAge: '15min',
      requestTimeout: '10s',
      envelopesPerMessage: 25,
      applyConcurrency: 10,
      batchWindowSeconds: 0,
    });
  });
});

/** The DESIGN example's S3 pair, with a second target in another account. */
const validS3 = () => ({
  sourceRegion: 'us-east-1',
  account: '123456789012',
  pairs: [
    {
      name: 'datasets',
      type: 's3',
      prefix: 'datasets/',
      source: { bucket: 'training-data', create: true } as Record<string, unknown>,
      targets: [
        { region: 'eu-west-1', bucket: 'training-data-eu', create: true } as Record<string, unknown>,
        {
          region: 'ap-northeast-1',
          bucket: 'training-data-partner',
          account: '210987654321',
          roleArn: 'arn:aws:iam::210987654321:role/replicator-writer',
          externalId: 'replicator-ext',
          storageClass: 'GLACIER_IR',
        } as Record<string, unknown>,
      ],
    } as Record<string, unknown> & { targets: Record<string, unknown>[] },
  ],
});

describe('parseConfig of S3 pairs', () => {
  it('accepts the documented example and a versioned created source', () => {
    const cfg = parseConfig(validS3());
    expect(cfg.pairs[0]).toMatchObject({ type: 's3', prefix: 'datasets/', source: { bucket: 'training-data' } });
    const versioned = validS3();
    versioned.pairs[0]!.source = { bucket: 'training-data', create: { versioned: true } };
    expect(parseConfig(versioned).pairs[0]!.source).toEqual({ bucket: 'training-data', create: { versioned: true } });
  });

  it('includes S3 target regions in regionsOf', () => {
    expect(regionsOf(parseConfig(validS3()))).toEqual(['us-east-1', 'eu-west-1', 'ap-northeast-1']);
  });

  it('gives S3 targets the id region/bucket, with the account in front when given', () => {
    const pair = parseConfig(validS3()).pairs[0]!;
    const [a, b] = pair.targets;
    expect(targetId(pair, a!)).toBe('eu-west-1/training-data-eu');
    expect(targetId(pair, b!)).toBe('210987654321/ap-northeast-1/training-data-partner');
  });

  it('accepts a DynamoDB pair and an S3 pair side by side', () => {
    const c = { ...validS3(), pairs: [...valid().pairs, ...validS3().pairs] };
    expect(parseConfig(c).pairs.map((p) => p.type)).toEqual(['dynamodb', 's3']);
  });

  it.each([
    ['Training-Data', /lowercase letters, digits/],
    ['ab', /3-63 characters/],
    ['a'.repeat(64), /3-63 characters/],
    ['-data', /start and end with a letter or digit/],
    ['data.', /start and end with a letter or digit/],
    ['my..data', /two adjacent periods/],
    ['192.168.5.4', /IP address/],
    ['xn--data', /reserved prefix "xn--"/],
    ['data-s3alias', /reserved suffix "-s3alias"/],
    ['my_data', /lowercase letters, digits/],
  ])('fails on the bucket name %s, naming the rule', (bucket, rule) => {
    const c = validS3();
    c.pairs[0]!.targets[0]!.bucket = bucket;
    expect(() => parseConfig(c)).toThrow(
      new RegExp(`pairs\\[0\\]\\.targets\\[0\\]\\.bucket: bucket name .*${rule.source}`),
    );
    expect(() => parseConfig(c)).toThrow(`(given ${JSON.stringify(bucket)})`);
  });

  it('accepts bucket names with digits, dots and hyphens', () => {
    for (const name of ['abc', 'my.data-2024', '1data', 'a'.repeat(63)])
      expect(bucketNameProblem(name)).toBeUndefined();
  });

  it('fails if a target repeats the source (same region, bucket and account)', () => {
    const c = validS3();
    c.pairs[0]!.targets[0] = { region: 'us-east-1', bucket: 'training-data' };
    expect(() => parseConfig(c)).toThrow(
      /pairs\[0\]\.targets\[0\]: target repeats the source \(given region "us-east-1" and bucket "training-data"\)/,
    );
  });

  it('fails if a target names the source bucket in another region (bucket names are global)', () => {
    const c = validS3();
    c.pairs[0]!.targets[0] = { region: 'eu-west-1', bucket: 'training-data' };
    expect(() => parseConfig(c)).toThrow(/targets\[0\]: target repeats the source .*bucket names are global/);
  });

  it('fails on a duplicate target, even in another region', () => {
    const c = validS3();
    c.pairs[0]!.targets.push({ region: 'eu-central-1', bucket: 'training-data-eu' });
    expect(() => parseConfig(c)).toThrow(
      /pairs\[0\]\.targets\[2\]: duplicate target \(given "eu-central-1\/training-data-eu", already listed as pairs\[0\]\.targets\[0\]\)/,
    );
  });

  it('fails on duplicate pair names across pair types', () => {
    const c = { ...validS3(), pairs: [...valid().pairs, { ...validS3().pairs[0]!, name: 'orders' }] };
    expect(() => parseConfig(c)).toThrow(
      /pairs\[1\]\.name: duplicate pair name \(given "orders", already used by pairs\[0\]\)/,
    );
  });

  it('needs a roleArn for a target in another account, and an external id only with a roleArn', () => {
    const c = validS3();
    delete c.pairs[0]!.targets[1]!.roleArn;
    expect(() => parseConfig(c)).toThrow(
      /targets\[1\]\.roleArn: a target in another account \(given account "210987654321"\) needs a roleArn/,
    );
    expect(() => parseConfig(c)).toThrow(
      /targets\[1\]\.externalId: an external id only applies with a roleArn \(given "replicator-ext"\)/,
    );
  });

  it('needs an external id with every roleArn, naming the field', () => {
    const c = validS3();
    delete c.pairs[0]!.targets[1]!.externalId;
    expect(() => parseConfig(c)).toThrow(
      /targets\[1\]\.externalId: a target with a roleArn needs an external id, which the role's trust policy requires \(sts:ExternalId\) \(given nothing\)/,
    );
  });

  it('takes operators as IAM role or user ARNs, naming a bad one', () => {
    const c = { ...validS3(), operators: ['arn:aws:iam::123456789012:role/platform-admin'] };
    expect(parseConfig(c).operators).toEqual(['arn:aws:iam::123456789012:role/platform-admin']);
    expect(() => parseConfig({ ...validS3(), operators: ['platform-admin'] })).toThrow(
      /operators\[0\]: must be an IAM role or user ARN \(given "platform-admin"\)/,
    );
  });

  it("creates a target in another account only through that account's role, which must be in that account", () => {
    const c = validS3();
    c.pairs[0]!.targets[1]!.create = true;
    expect(parseConfig(c).pairs[0]!.targets[1]).toMatchObject({ create: true, account: '210987654321' });
    const noRole = validS3();
    delete (noRole as { account?: string }).account;
    noRole.pairs[0]!.targets[1]!.create = true;
    delete noRole.pairs[0]!.targets[1]!.roleArn;
    delete noRole.pairs[0]!.targets[1]!.externalId;
    expect(() => parseConfig(noRole)).toThrow(
      /targets\[1\]\.create: a bucket created in another account \(given account "210987654321"\) is built by that account's stack with the target's role; give a roleArn/,
    );
    const elsewhere = validS3();
    elsewhere.pairs[0]!.targets[1]!.roleArn = 'arn:aws:iam::333333333333:role/w';
    expect(() => parseConfig(elsewhere)).toThrow(
      /targets\[1\]\.roleArn: the role must be in the target's account 210987654321 \(given "arn:aws:iam::333333333333:role\/w"\)/,
    );
  });

  it('fails when a bucket is created twice, or is the source of two pairs', () => {
    const twice = validS3();
    twice.pairs.push({
      ...validS3().pairs[0]!,
      name: 'other',
      source: { bucket: 'other-source' },
      targets: [{ region: 'eu-west-1', bucket: 'training-data-eu', create: true }],
    });
    expect(() => parseConfig(twice)).toThrow(
      /pairs\[1\]\.targets\[0\]\.create: bucket "training-data-eu" is already created by pairs\[0\]\.targets\[0\]/,
    );
    const shared = validS3();
    shared.pairs.push({
      ...validS3().pairs[0]!,
      name: 'other',
      prefix: 'other/',
      source: { bucket: 'training-data' },
      targets: [{ region: 'eu-west-1', bucket: 'other-copy' }],
    });
    expect(() => parseConfig(shared)).toThrow(
      /pairs\[1\]\.source\.bucket: bucket "training-data" is already the source of pairs\[0\]; a bucket can be the source of one pair only/,
    );
  });

  it('fails on an unknown storage class, naming the allowed ones', () => {
    const c = validS3();
    c.pairs[0]!.targets[1]!.storageClass = 'REDUCED_REDUNDANCY';
    expect(() => parseConfig(c)).toThrow(
      /targets\[1\]\.storageClass: .*"STANDARD".*"DEEP_ARCHIVE".*\(given "REDUCED_REDUNDANCY"\)/,
    );
  });

  it('fails on a prefix with IAM wildcards, and on an empty prefix', () => {
    const star = { ...validS3(), pairs: [{ ...validS3().pairs[0]!, prefix: 'data/*' }] };
    expect(() => parseConfig(star)).toThrow(/pairs\[0\]\.prefix: must not contain "\*" or "\?".*\(given "data\/\*"\)/);
    const empty = { ...validS3(), pairs: [{ ...validS3().pairs[0]!, suffix: '' }] };
    expect(() => parseConfig(empty)).toThrow(/pairs\[0\]\.suffix: .*\(given ""\)/);
  });

  it('fails on out-of-range copy options, naming the limit', () => {
    const opts = (options: Record<string, number>) => ({ ...validS3(), pairs: [{ ...validS3().pairs[0]!, options }] });
    expect(() => parseConfig(opts({ multipartThresholdBytes: 1024 }))).toThrow(
      /options\.multipartThresholdBytes: Too small: expected number to be >=5242880 \(given 1024\)/,
    );
    expect(() => parseConfig(opts({ partSizeBytes: 6 * 1024 ** 3 }))).toThrow(
      /options\.partSizeBytes: Too big: expected number to be <=5368709120/,
    );
    expect(() => parseConfig(opts({ copyConcurrency: 65 }))).toThrow(
      /options\.copyConcurrency: Too big: expected number to be <=64/,
    );
    expect(() => parseConfig(opts({ copyConcurrency: 0 }))).toThrow(/options\.copyConcurrency: Too small/);
    expect(() => parseConfig(opts({ captureBatchSize: 10 }))).toThrow(/options: unknown field "captureBatchSize"/);
  });

  it('takes a batching window of 0 to 300 seconds, naming the field and the value outside', () => {
    const opts = (options: Record<string, number>) => ({ ...validS3(), pairs: [{ ...validS3().pairs[0]!, options }] });
    expect(parseConfig(opts({ batchWindowSeconds: 0 })).pairs[0]!.options).toEqual({ batchWindowSeconds: 0 });
    expect(() => parseConfig(opts({ batchWindowSeconds: 301 }))).toThrow(
      /options\.batchWindowSeconds: Too big: expected number to be <=300 \(given 301\)/,
    );
    expect(() => parseConfig(opts({ batchWindowSeconds: 0.5 }))).toThrow(/options\.batchWindowSeconds/);
  });

  it('fails on DynamoDB fields in an S3 pair', () => {
    const c = validS3();
    c.pairs[0]!.source = { bucket: 'training-data', table: 'orders' };
    expect(() => parseConfig(c)).toThrow(/pairs\[0\]\.source: unknown field "table"/);
  });
});

describe('S3_PAIR_DEFAULTS', () => {
  it('documents the defaults the stacks use', () => {
    expect(S3_PAIR_DEFAULTS).toEqual({
      multipartThresholdBytes: 64 * 1024 * 1024,
      partSizeBytes: 64 * 1024 * 1024,
      copyConcurrency: 8,
      maxAttempts: 5,
      retryFor: '24h',
      maxBacklogAge: '15min',
      requestTimeout: '60s',
      applyBatchSize: 10,
      applyConcurrency: 10,
      envelopesPerMessage: 25,
      batchWindowSeconds: 0,
    });
  });
});

describe('parseConfig of alarms', () => {
  it('accepts an e-mail address and a p99 latency threshold', () => {
    const cfg = parseConfig({ ...valid(), alarms: { email: 'ops@example.com', latencyP99Ms: 120000 } });
    expect(cfg.alarms).toEqual({ email: 'ops@example.com', latencyP99Ms: 120000 });
  });

  it('accepts a config without alarms', () => {
    expect(parseConfig(valid()).alarms).toBeUndefined();
  });

  it('fails on an e-mail that is not an address', () => {
    expect(() => parseConfig({ ...valid(), alarms: { email: 'ops-at-example' } })).toThrow(
      /alarms\.email: must be an e-mail address \(given "ops-at-example"\)/,
    );
  });

  it.each([999, 3600001, 1.5])('fails on a latency threshold outside 1000..3600000 ms (given %s)', (latencyP99Ms) => {
    expect(() => parseConfig({ ...valid(), alarms: { latencyP99Ms } })).toThrow(
      new RegExp(`alarms\\.latencyP99Ms: .* \\(given ${latencyP99Ms}\\)`),
    );
  });

  it('fails on an unknown alarms field', () => {
    expect(() => parseConfig({ ...valid(), alarms: { sms: '+100' } })).toThrow(/alarms: unknown field "sms"/);
  });
});

describe('ALARMS_DEFAULTS', () => {
  it('documents the p99 latency threshold default of 60 seconds', () => {
    expect(ALARMS_DEFAULTS).toEqual({ latencyP99Ms: 60000 });
  });
});

describe('parseConfig of reconcile', () => {
  it('accepts a schedule with a read rate and a segment count', () => {
    const cfg = parseConfig({
      ...valid(),
      reconcile: { schedule: 'rate(1 hour)', repair: true, readRate: 500, segments: 8 },
    });
    expect(cfg.reconcile).toEqual({ schedule: 'rate(1 hour)', repair: true, readRate: 500, segments: 8 });
  });

  it('leaves readRate and segments unset when omitted', () => {
    const cfg = parseConfig({ ...valid(), reconcile: { schedule: 'cron(0 3 * * ? *)', repair: false } });
    expect(cfg.reconcile).toEqual({ schedule: 'cron(0 3 * * ? *)', repair: false });
  });

  it.each([0, 100001, 2.5])('fails on a read rate outside 1..100000 (given %s)', (readRate) => {
    expect(() => parseConfig({ ...valid(), reconcile: { schedule: 'rate(1 day)', repair: true, readRate } })).toThrow(
      new RegExp(`reconcile\\.readRate: .* \\(given ${readRate}\\)`),
    );
  });

  it.each([0, 65, 1.5])('fails on a segment count outside 1..64 (given %s)', (segments) => {
    expect(() => parseConfig({ ...valid(), reconcile: { schedule: 'rate(1 day)', repair: true, segments } })).toThrow(
      new RegExp(`reconcile\\.segments: .* \\(given ${segments}\\)`),
    );
  });

  it('accepts deleteExtra on a DynamoDB pair', () => {
    const cfg = parseConfig({ ...valid(), pairs: [{ ...valid().pairs[0]!, deleteExtra: true }] });
    expect(cfg.pairs[0]).toMatchObject({ deleteExtra: true });
  });

  it('fails on a deleteExtra that is not a boolean', () => {
    expect(() => parseConfig({ ...valid(), pairs: [{ ...valid().pairs[0]!, deleteExtra: 'yes' }] })).toThrow(
      /pairs\[0\]\.deleteExtra: /,
    );
  });

  it('takes deleteExtra in an S3 pair too, and names a value that is not a boolean', () => {
    const s3 = {
      name: 'assets',
      type: 's3',
      source: { bucket: 'assets-src' },
      targets: [{ region: 'eu-west-1', bucket: 'assets-dst' }],
      deleteExtra: true,
    };
    expect(parseConfig({ ...valid(), pairs: [s3] }).pairs[0]).toMatchObject({ deleteExtra: true });
    expect(() => parseConfig({ ...valid(), pairs: [{ ...s3, deleteExtra: 'yes' }] })).toThrow(/deleteExtra/);
  });
});

describe('RECONCILE_DEFAULTS', () => {
  it('documents 100 read units/s, 4 segments and no deletes of extra items', () => {
    expect(RECONCILE_DEFAULTS).toEqual({ readRate: 100, segments: 4, deleteExtra: false });
  });
});

describe('reconcile.schedule', () => {
  const withSchedule = (schedule: string) => ({
    ...JSON.parse(readFileSync(join(__dirname, '../../replication.config.json'), 'utf8')),
    reconcile: { schedule, repair: true },
  });

  it('fails on a rate shorter than 15 minutes, naming the value', () => {
    expect(() => parseConfig(withSchedule('rate(5 minutes)'))).toThrow(
      /reconcile\.schedule: must be at least 15 minutes apart.*\(given "rate\(5 minutes\)"\)/,
    );
  });

  it('accepts 15 minutes and longer rates, and cron expressions', () => {
    for (const s of ['rate(15 minutes)', 'rate(1 hour)', 'rate(2 days)', 'cron(0 3 * * ? *)']) {
      expect(() => parseConfig(withSchedule(s))).not.toThrow();
    }
  });
});

/** The packages a module loads at run time, following its relative imports (`import type` is erased). */
function runtimePackages(file: string, seen = new Set<string>()): Set<string> {
  const packages = new Set<string>();
  if (seen.has(file)) return packages;
  seen.add(file);
  const source = readFileSync(file, 'utf8');
  for (const m of source.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'/gms)) {
    const spec = m[1]!;
    if (spec.startsWith('.')) {
      for (const p of runtimePackages(`${resolve(dirname(file), spec)}.ts`, seen)) packages.add(p);
    } else {
      packages.add(spec);
    }
  }
  return packages;
}

describe('lib/config.ts', () => {
  it('loads neither aws-cdk-lib nor constructs, so the CLI can use it without the CDK', () => {
    const packages = [...runtimePackages(join(__dirname, '../../lib/config.ts'))];
    expect(packages).toContain('zod');
    expect(packages.filter((p) => p.startsWith('aws-cdk-lib') || p === 'constructs')).toEqual([]);
  });
});

describe('backfill.timeoutSeconds', () => {
  const withTimeout = (timeoutSeconds: number) => ({
    ...JSON.parse(readFileSync(join(__dirname, '../../replication.config.json'), 'utf8')),
    backfill: { timeoutSeconds },
  });

  it("takes 10 to 900 seconds (Lambda's maximum), naming the field and value otherwise", () => {
    expect(parseConfig(withTimeout(20)).backfill).toEqual({ timeoutSeconds: 20 });
    expect(() => parseConfig(withTimeout(5))).toThrow(/backfill\.timeoutSeconds: Too small.*>=10 \(given 5\)/);
    expect(() => parseConfig(withTimeout(901))).toThrow(/backfill\.timeoutSeconds: Too big.*<=900 \(given 901\)/);
  });
});
