/**
 * End to end on the local cloud: replicate, corrupt the target behind Replicator's back (change an
 * attribute, delete an item, add an extra one), then `replicator reconcile` (the function, in this process)
 * finds exactly those, repairs them through the pair's queue, and the metrics read back from moto show the
 * counts and ConsistencyRatio 1.0.
 */
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DeleteItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoPairConfig } from '../../lib/config';
import { localDynamo, verifyPair } from '../../src/cli/demo';
import { type LocalCloud, startLocalCloud } from '../../src/cli/local-cloud';
import { exitCodeOf, reconcilePair } from '../../src/cli/reconcile';
import { converged } from '../../src/cli/verify';
import { eventually } from '../helpers/eventually';

let cloud: LocalCloud;
let pair: DynamoPairConfig;
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

/** Sum/Average of a metric of the pair's target per minute over the last 15 minutes, newest first. */
async function readMetric(name: string, stat: 'Sum' | 'Average'): Promise<number[]> {
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
                { Name: 'Pair', Value: 'e2e-rec' },
                { Name: 'Target', Value: TARGET },
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
    expect(found.metricsPublished).toBe(7);

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
    const lastMinute = Math.floor(repaired.report.finishedAt! / MINUTE);
    while (Math.floor(Date.now() / MINUTE) <= lastMinute) await new Promise((r) => setTimeout(r, 500));
    const clean = await reconcilePair({ pair, sourceRegion: 'us-east-1', endpoint: cloud.endpoint });
    expect(clean.report.checked).toBe(30);
    expect(clean.report.mismatched).toBe(0);
    expect(clean.report.consistencyRatio).toBe(1);
    expect(exitCodeOf(clean)).toBe(0);

    const mismatched = await readMetric('ReconcileMismatched', 'Sum');
    const repairedSum = await readMetric('ReconcileRepaired', 'Sum');
    const ratio = await readMetric('ConsistencyRatio', 'Average');
    expect(mismatched[0]).toBe(0);
    expect(mismatched.reduce((s, v) => s + v, 0)).toBe(6);
    expect(repairedSum.reduce((s, v) => s + v, 0)).toBe(3);
    expect(ratio[0]).toBe(1);
    expect(Math.min(...ratio)).toBeLessThan(1);
  }, 120_000);
});
