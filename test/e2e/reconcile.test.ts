/**
 * End to end on the local cloud: replicate, corrupt the target behind Replicator's back (DynamoDB: change an
 * attribute, delete an item, add an extra one; S3: overwrite objects, delete one, add an extra one), then a
 * reconcile run finds exactly those, repairs them through the pair's queue, and the metrics read back from
 * moto show the counts and ConsistencyRatio 1.0. The DynamoDB pair is reconciled by `replicator reconcile`
 * (the core, in this process); the S3 pair also by its deployed, scheduled function, invoked by the runtime.
 */

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DeleteItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReconcileSummary } from '../../functions/engine/reconcile-run';
import type { DynamoPairConfig, S3PairConfig } from '../../lib/config';
import { localDynamo, localS3 } from '../../src/cli/aws';
import { type LocalCloud, startLocalCloud } from '../../src/cli/local-cloud';
import { pairStatus } from '../../src/cli/operations';
import { isConverged } from '../../src/cli/pair-types/driver';
import { verifyTablePair as verifyPair } from '../../src/cli/pair-types/dynamodb';
import { converged } from '../../src/cli/pair-types/dynamodb-verify';
import { verifyBucketPair } from '../../src/cli/pair-types/s3';
import { exitCodeOf, reconcilePair } from '../../src/cli/reconcile';
import { ReplicationTimeoutError, waitForReplication } from '../../src/wait';
import { eventually } from '../helpers/eventually';
import { expectCallsAllowed, recordCalls } from '../iam/local-cloud-calls';

let cloud: LocalCloud;
let pair: DynamoPairConfig;
let calls: ReturnType<typeof recordCalls>;
let s3Pair: S3PairConfig;
const TABLE = 'e2e-rec';
const TARGET = 'eu-west-1/e2e-rec';
const MINUTE = 60_000;
const key = (i: number) => ({ pk: { S: `user-${i}` }, sk: { S: 'profile' } });

beforeAll(async () => {
  cloud = await startLocalCloud({
    configPath: `${__dirname}/../fixtures/configs/e2e-reconcile.json`,
    log: process.env.E2E_VERBOSE ? (l) => console.log(l) : undefined,
  });
  pair = cloud.config.pairs[0] as DynamoPairConfig;
  s3Pair = cloud.config.pairs[1] as S3PairConfig;
  calls = recordCalls(cloud);
}, 600_000);

afterAll(async () => {
  await cloud?.stop();
});

const src = () => localDynamo(cloud.endpoint, 'us-east-1');
const eu = () => localDynamo(cloud.endpoint, 'eu-west-1');

async function waitConverged() {
  return eventually(
    'the target to converge',
    () => verifyPair(cloud, pair),
    (m) => [...m.values()].every(converged),
  );
}

/** Sum/Average of a metric of a pair's target per minute over the last 15 minutes, newest first. */
async function readMetric(
  name: string,
  stat: 'Sum' | 'Average',
  dims: { pair: string; target: string } = { pair: 'e2e-rec', target: TARGET },
): Promise<number[]> {
  const cw = new CloudWatchClient({
    region: 'us-east-1',
    endpoint: cloud.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  // Whole minutes, so the 60 s buckets are the wall-clock minutes in moto (which buckets from StartTime) as in AWS.
  const end = new Date((Math.floor(Date.now() / MINUTE) + 1) * MINUTE);
  const res = await cw.send(
    new GetMetricDataCommand({
      StartTime: new Date(end.getTime() - 15 * MINUTE),
      EndTime: end,
      ScanBy: 'TimestampDescending',
      MetricDataQueries: [
        {
          Id: 'm',
          MetricStat: {
            Metric: {
              Namespace: 'Replicator',
              MetricName: name,
              Dimensions: [
                { Name: 'Pair', Value: dims.pair },
                { Name: 'Target', Value: dims.target },
              ],
            },
            Period: 60,
            Stat: stat,
          },
        },
      ],
    }),
  );
  return res.MetricDataResults?.[0]?.Values ?? [];
}

/** Waits until the wall clock is in a later minute than `at`, so a run's metrics get their own 60 s bucket. */
async function nextMinuteAfter(at: number): Promise<void> {
  const minute = Math.floor(at / MINUTE);
  while (Math.floor(Date.now() / MINUTE) <= minute) await new Promise((r) => setTimeout(r, 500));
}

describe('reconcile on the local cloud', () => {
  it('finds a changed, a deleted and an extra item, repairs them, and publishes the metrics', async () => {
    const c = src();
    for (let i = 0; i < 30; i++) {
      await c.send(new PutItemCommand({ TableName: TABLE, Item: { ...key(i), n: { N: String(i) } } }));
    }
    await waitConverged();

    // Behind Replicator's back.
    const t = eu();
    await t.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: key(3),
        UpdateExpression: 'SET n = :bad',
        ExpressionAttributeValues: { ':bad': { N: '-1' } },
      }),
    );
    await t.send(new DeleteItemCommand({ TableName: TABLE, Key: key(7) }));
    await t.send(new PutItemCommand({ TableName: TABLE, Item: { ...key(99), n: { N: '99' } } }));

    const found = await reconcilePair({ pair, sourceRegion: 'us-east-1', endpoint: cloud.endpoint, segments: 2 });
    const ft = found.report.targets.find((x) => x.target === TARGET)!;
    expect({ different: ft.different, missing: ft.missing, extra: ft.extra, repaired: ft.repaired }).toEqual({
      different: 1,
      missing: 1,
      extra: 1,
      repaired: 0,
    });
    expect(ft.checked).toBe(31);
    expect(ft.samples.different).toEqual([key(3)]);
    expect(ft.samples.missing).toEqual([key(7)]);
    expect(ft.samples.extra).toEqual([key(99)]);
    expect(found.report.complete).toBe(true);
    expect(exitCodeOf(found)).toBe(1);
    // One target, the nine reconcile metrics of the catalogue (RECONCILE_METRICS).
    expect(found.metricsPublished).toBe(9);

    const repaired = await reconcilePair({
      pair,
      sourceRegion: 'us-east-1',
      endpoint: cloud.endpoint,
      segments: 2,
      repair: true,
      deleteExtra: true,
    });
    const rt = repaired.report.targets[0]!;
    expect({ different: rt.different, missing: rt.missing, extra: rt.extra, repaired: rt.repaired }).toEqual({
      different: 1,
      missing: 1,
      extra: 1,
      repaired: 3,
    });
    expect(exitCodeOf(repaired)).toBe(0);
    const diffs = await waitConverged();
    expect(diffs.get(TARGET)?.checked).toBe(30);

    // A last run after the repair, in a later minute than the others, so its metrics have their own bucket.
    await nextMinuteAfter(repaired.report.finishedAt!);
    const clean = await reconcilePair({ pair, sourceRegion: 'us-east-1', endpoint: cloud.endpoint });
    expect(clean.report.checked).toBe(30);
    expect(clean.report.mismatched).toBe(0);
    expect(clean.report.consistencyRatio).toBe(1);
    expect(exitCodeOf(clean)).toBe(0);
    // An on-demand run keeps its report where the scheduled ones do: status shows it.
    const afterCli = (await pairStatus(cloud.config, { region: 'us-east-1', endpoint: cloud.endpoint })).find(
      (p) => p.pair === 'e2e-rec',
    );
    expect(afterCli?.deployed && afterCli.lastReconcile).toMatchObject({ trigger: 'cli', checked: 30, mismatched: 0 });

    const mismatched = await readMetric('ReconcileMismatched', 'Sum');
    const repairedSum = await readMetric('ReconcileRepaired', 'Sum');
    const ratio = await readMetric('ConsistencyRatio', 'Average');
    expect(mismatched[0]).toBe(0);
    expect(mismatched.reduce((s, v) => s + v, 0)).toBe(6);
    expect(repairedSum.reduce((s, v) => s + v, 0)).toBe(3);
    expect(ratio[0]).toBe(1);
    expect(Math.min(...ratio)).toBeLessThan(1);
    // Up to a minute of it is the wait for the next wall-clock minute; the rest is moto, which on two loaded
    // cores took 120 s once (23-53 s otherwise).
  }, 300_000);

  it('finds overwritten, deleted and extra objects, repairs them with the scheduled function, and status shows the run', async () => {
    const S3_TARGET = 'eu-west-1/e2e-rec-eu';
    const source = localS3(cloud.endpoint, 'us-east-1');
    const target = localS3(cloud.endpoint, 'eu-west-1');
    const put = (c: typeof source, bucket: string, key: string, body: string | Buffer) =>
      c.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/octet-stream' }));
    const keys = [
      ...Array.from({ length: 12 }, (_, i) => `data/plain-${String(i).padStart(2, '0')}.bin`),
      'data/with space.bin',
      'data/a+b%25.csv',
      'data/ünï/çødé.txt',
    ];
    for (const k of keys) await put(source, 'e2e-rec-source', k, `content of ${k}\n`.repeat(20));
    // Over the 5 MiB threshold: its copy is multipart, so its target ETag is never compared with the source's.
    await put(source, 'e2e-rec-source', 'data/large.bin', Buffer.alloc(6 * 1024 * 1024, 7));
    await put(source, 'e2e-rec-source', 'outside/not-replicated.bin', 'x');
    await eventually(
      'the bucket to converge',
      () => verifyBucketPair(cloud, s3Pair),
      (m) => [...m.values()].every(isConverged),
    );

    // Behind Replicator's back: same size, other bytes; another size; a delete; an extra object (and one
    // outside the prefix, which is none of the pair's business).
    const plain3 = `content of data/plain-03.bin\n`.repeat(20);
    await put(target, 'e2e-rec-eu', 'data/plain-03.bin', plain3.replace('content', 'CONTENT'));
    await put(target, 'e2e-rec-eu', 'data/with space.bin', 'shorter');
    await target.send(new DeleteObjectCommand({ Bucket: 'e2e-rec-eu', Key: 'data/ünï/çødé.txt' }));
    await put(target, 'e2e-rec-eu', 'data/extra.bin', 'not in the source');
    await put(target, 'e2e-rec-eu', 'elsewhere/ignored.bin', 'not in the prefix');

    const found = await reconcilePair({ pair: s3Pair, sourceRegion: 'us-east-1', endpoint: cloud.endpoint });
    const ft = found.report.targets.find((x) => x.target === S3_TARGET)!;
    expect({ checked: ft.checked, different: ft.different, missing: ft.missing, extra: ft.extra }).toEqual({
      checked: keys.length + 2,
      different: 2,
      missing: 1,
      extra: 1,
    });
    expect(ft.samples.different).toEqual([{ key: { S: 'data/plain-03.bin' } }, { key: { S: 'data/with space.bin' } }]);
    expect(ft.samples.missing).toEqual([{ key: { S: 'data/ünï/çødé.txt' } }]);
    expect(ft.samples.extra).toEqual([{ key: { S: 'data/extra.bin' } }]);
    expect(exitCodeOf(found)).toBe(1);
    // Found and not repaired: the target's "mismatched after repair" alarm fires, evaluated by the local runtime.
    const cw = new CloudWatchClient({
      region: 'us-east-1',
      endpoint: cloud.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const alarm = await eventually(
      'the reconcile alarm to fire',
      async () =>
        (
          await cw.send(
            new DescribeAlarmsCommand({
              AlarmNames: ['replicator-e2e-rec-s3-reconcile-mismatched-eu-west-1-e2e-rec-eu'],
            }),
          )
        ).MetricAlarms?.[0],
      (a) => a?.StateValue === 'ALARM',
      { timeoutMs: 60_000 },
    );
    expect(alarm?.StateReason).toMatch(/\[4\]/);

    // The deployed reconcile function, as its schedule would run it: repair is on in the config, and the pair
    // lets extra objects be deleted.
    const invoked = await cloud.runtime.invoke('replicator-e2e-rec-s3-reconcile', { source: 'aws.events' });
    if (!invoked.ok)
      throw new Error(`reconcile function failed: ${invoked.error.errorType}: ${invoked.error.errorMessage}`);
    const summary = invoked.result as ReconcileSummary;
    expect(summary).toMatchObject({ pair: 'e2e-rec-s3', complete: true, mismatched: 4, repaired: 4 });
    const diffs = await eventually(
      'the repairs to land',
      () => verifyBucketPair(cloud, s3Pair),
      (m) => [...m.values()].every(isConverged),
    );
    expect(diffs.get(S3_TARGET)?.checked).toBe(keys.length + 1);

    const status = await pairStatus(cloud.config, { region: 'us-east-1', endpoint: cloud.endpoint });
    const s3Status = status.find((p) => p.pair === 'e2e-rec-s3');
    expect(s3Status?.deployed && s3Status.lastReconcile).toMatchObject({
      mismatched: 4,
      repaired: 4,
      complete: true,
      trigger: 'schedule',
    });

    await nextMinuteAfter(Date.now());
    const clean = await reconcilePair({ pair: s3Pair, sourceRegion: 'us-east-1', endpoint: cloud.endpoint });
    expect(clean.report).toMatchObject({ checked: keys.length + 1, mismatched: 0, consistencyRatio: 1 });
    expect(exitCodeOf(clean)).toBe(0);

    const dims = { pair: 'e2e-rec-s3', target: S3_TARGET };
    const mismatched = await eventually(
      "the function's metrics (EMF) to reach moto",
      () => readMetric('ReconcileMismatched', 'Sum', dims),
      (v) => v.reduce((s, x) => s + x, 0) === 8,
    );
    expect(mismatched[0]).toBe(0);
    expect((await readMetric('ReconcileRepaired', 'Sum', dims)).reduce((s, v) => s + v, 0)).toBe(4);
    expect((await readMetric('ConsistencyRatio', 'Average', dims))[0]).toBe(1);
  }, 240_000);

  it('makes only calls the deployed IAM policies allow (test/iam)', async () => {
    await expectCallsAllowed(cloud, calls);
  });
});

describe('wait: synchronous commits on the local cloud', () => {
  it('returns once a checkpoint written as many objects, and an item, are in every target', async () => {
    const s3 = localS3(cloud.endpoint, 'us-east-1');
    const written: { key: string; etag: string }[] = [];
    for (let i = 0; i < 12; i++) {
      const key = `data/wait/step-1000/shard ${i}+.bin`;
      const res = await s3.send(new PutObjectCommand({ Bucket: 'e2e-rec-source', Key: key, Body: `weights ${i}` }));
      written.push({ key, etag: res.ETag! });
    }
    const all = await waitForReplication({
      pair: s3Pair,
      sourceRegion: 'us-east-1',
      endpoint: cloud.endpoint,
      prefix: 'data/wait/step-1000/',
      timeoutMs: 120_000,
    });
    expect(all.keys).toBe(12);
    // The target holds them now: the wait read it, not the queues.
    for (const w of written) {
      const h = await localS3(cloud.endpoint, 'eu-west-1').send(
        new HeadObjectCommand({ Bucket: 'e2e-rec-eu', Key: w.key }),
      );
      expect(h.Metadata?.['rep-e']).toBe(w.etag.replaceAll('"', ''));
    }
    // One object with the ETag the writer got, and an item, through the CLI as a user runs it.
    expect(
      await waitForReplication({
        pair: s3Pair,
        sourceRegion: 'us-east-1',
        endpoint: cloud.endpoint,
        objects: [written[3]!],
      }),
    ).toMatchObject({ keys: 1 });
    // A 7 MiB object is copied in two parts: its copy's ETag differs from the source's, and the wait knows it
    // by the copy's rep-e.
    const big = await s3.send(
      new PutObjectCommand({ Bucket: 'e2e-rec-source', Key: 'data/wait/big.ckpt', Body: Buffer.alloc(7 << 20, 7) }),
    );
    await waitForReplication({
      pair: s3Pair,
      sourceRegion: 'us-east-1',
      endpoint: cloud.endpoint,
      objects: [{ key: 'data/wait/big.ckpt', etag: big.ETag! }],
      timeoutMs: 120_000,
    });
    const bigCopy = await localS3(cloud.endpoint, 'eu-west-1').send(
      new HeadObjectCommand({ Bucket: 'e2e-rec-eu', Key: 'data/wait/big.ckpt' }),
    );
    expect(bigCopy.ETag).not.toBe(big.ETag);
    expect(bigCopy.Metadata?.['rep-e']).toBe(big.ETag!.replaceAll('"', ''));
    await src().send(new PutItemCommand({ TableName: TABLE, Item: { ...key(900), v: { N: '1' } } }));
    // Async: the local runtime runs in this process and must go on while the CLI waits.
    const run = await promisify(execFile)(
      process.execPath,
      [
        `${__dirname}/../../bin/replicator.js`,
        'wait',
        'e2e-rec',
        JSON.stringify(key(900)),
        '--config',
        `${__dirname}/../fixtures/configs/e2e-reconcile.json`,
        '--endpoint',
        cloud.endpoint,
        '--timeout',
        '120',
      ],
      { encoding: 'utf8' },
    );
    expect(run.stdout).toMatch(/every target of e2e-rec holds the 1 item\(s\) \(or newer\)/);
  }, 300_000);

  it('fails at its timeout naming the target that lags while that target cannot be reached', async () => {
    // eu-west-1 unreachable for the functions and for the wait (both go through the proxy).
    cloud.setFaults((r) => (r.region === 'eu-west-1' ? { kind: 'reset' } : undefined));
    try {
      await src().send(new PutItemCommand({ TableName: TABLE, Item: { ...key(901), v: { N: '2' } } }));
      const err = await waitForReplication({
        pair,
        sourceRegion: 'us-east-1',
        endpoint: cloud.countedEndpoint,
        items: [{ key: key(901), item: { ...key(901), v: { N: '2' } } }],
        timeoutMs: 5_000,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ReplicationTimeoutError);
      expect((err as ReplicationTimeoutError).lagging).toEqual([
        { target: TARGET, pending: 1, error: expect.stringMatching(/ECONNRESET|socket hang up|reset/i) },
      ]);
      expect((err as Error).message).toMatch(
        /^not replicated after \d+\.\d s: eu-west-1\/e2e-rec \(1 key\(s\) pending; last error: /,
      );
    } finally {
      cloud.setFaults(undefined);
    }
    // The region is back: the change lands by itself, and the same wait returns.
    await waitForReplication({
      pair,
      sourceRegion: 'us-east-1',
      endpoint: cloud.endpoint,
      items: [{ key: key(901), item: { ...key(901), v: { N: '2' } } }],
      timeoutMs: 300_000,
    });
  }, 600_000);
});
