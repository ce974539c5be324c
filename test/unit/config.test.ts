import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, PAIR_DEFAULTS, parseConfig, regionsOf, targetId } from '../../lib/config';

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
    expect(targetId(cfg.pairs[0]!.targets[0]!)).toBe('eu-west-1/orders');
  });

  it('accepts the repository default config file', () => {
    expect(loadConfigFile(join(__dirname, '../../replication.config.json')).pairs).toHaveLength(1);
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
      /pairs\[0\]\.type: unsupported pair type; allowed: "dynamodb" \(given "kafka"\)/,
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
    expect(() => loadConfigFile(path)).toThrow(
      new RegExp(`Invalid replication config \\(${path}\\):\\n  - not valid JSON`),
    );
  });
});

describe('PAIR_DEFAULTS', () => {
  it('documents the defaults the stacks use', () => {
    expect(PAIR_DEFAULTS).toEqual({
      captureBatchSize: 100,
      applyBatchSize: 10,
      maxAttempts: 5,
      envelopesPerMessage: 25,
      applyConcurrency: 10,
    });
  });
});
