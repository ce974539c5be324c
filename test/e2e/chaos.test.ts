/**
 * The reduced chaos scenario of `npm test`: the target region (eu-west-1) is unreachable — every request of the
 * functions to it is reset — for 30 s while changes go on being written to a table and a bucket. The pair
 * queues hold the changes, the re-sends back off, and when the region returns everything drains by itself:
 * nothing is dead-lettered, nothing is lost, and a reconcile finds no difference.
 */
import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairResourceNames } from '../../functions/contract';
import type { DynamoPairConfig, S3PairConfig } from '../../lib/config';
import { localDynamo, localS3, queueDepth } from '../../src/cli/aws';
import { type LocalCloud, startLocalCloud } from '../../src/cli/local-cloud';
import { isConverged } from '../../src/cli/pair-types/driver';
import { verifyTablePair } from '../../src/cli/pair-types/dynamodb';
import { verifyBucketPair } from '../../src/cli/pair-types/s3';
import { reconcilePair } from '../../src/cli/reconcile';
import { eventually } from '../helpers/eventually';

let cloud: LocalCloud;
let table: DynamoPairConfig;
let bucket: S3PairConfig;
const OUTAGE_MS = 30_000;

beforeAll(async () => {
  cloud = await startLocalCloud({
    configPath: `${__dirname}/../fixtures/configs/e2e-chaos.json`,
    log: process.env.E2E_VERBOSE ? (l) => console.log(l) : undefined,
  });
  table = cloud.config.pairs[0] as DynamoPairConfig;
  bucket = cloud.config.pairs[1] as S3PairConfig;
}, 600_000);

afterAll(async () => {
  await cloud?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('chaos: a target region unreachable for 30 s', () => {
  it('keeps every change, dead-letters none, and drains by itself when the region returns', async () => {
    const src = localDynamo(cloud.endpoint, 'us-east-1');
    const s3 = localS3(cloud.endpoint, 'us-east-1');
    const sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: cloud.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const key = (i: number) => ({ pk: { S: `k${i % 25}` }, sk: { S: 'v' } });

    cloud.setFaults((r) => (r.region === 'eu-west-1' ? { kind: 'reset' } : undefined));
    const outageEnds = Date.now() + OUTAGE_MS;
    // Changes keep coming while the region is away: puts, overwrites and deletes of tables and objects.
    for (let i = 0; Date.now() < outageEnds - 2_000; i++) {
      if (i % 7 === 6) await src.send(new DeleteItemCommand({ TableName: table.source.table, Key: key(i) }));
      else
        await src.send(new PutItemCommand({ TableName: table.source.table, Item: { ...key(i), n: { N: String(i) } } }));
      if (i % 3 === 0) {
        const objectKey = `data/o-${i % 10}.bin`;
        if (i % 9 === 0) await s3.send(new DeleteObjectCommand({ Bucket: bucket.source.bucket, Key: objectKey }));
        else await s3.send(new PutObjectCommand({ Bucket: bucket.source.bucket, Key: objectKey, Body: `body ${i}` }));
      }
      await sleep(250);
    }
    await sleep(Math.max(0, outageEnds - Date.now()));
    // The changes wait in the pair queues while their target is away; the backlog is measured.
    expect(cloud.faultCounts().reset).toBeGreaterThan(0);
    const backlog = [
      ...cloud.metrics.values('BacklogAge', { Pair: table.name, Target: 'eu-west-1/chaos' }),
      ...cloud.metrics.values('BacklogAge', { Pair: bucket.name, Target: 'eu-west-1/chaos-eu' }),
    ];
    expect(backlog.length).toBeGreaterThan(0);
    const injected = cloud.faultCounts();
    cloud.setFaults(undefined);
    const returned = Date.now();

    // The region is back: the re-sends drain by themselves, with no redrive.
    await eventually(
      'both targets to equal their sources after the outage',
      async () => [
        ...(await verifyTablePair(cloud, table)).values(),
        ...(await verifyBucketPair(cloud, bucket)).values(),
      ],
      (diffs) => diffs.every(isConverged),
      { timeoutMs: 360_000, intervalMs: 2_000 },
    );
    const convergedAfterMs = Date.now() - returned;
    const deadLetters: number[] = [];
    for (const p of [table.name, bucket.name]) {
      deadLetters.push((await queueDepth(sqs, pairResourceNames(p).deadLetterQueue)).depth);
    }
    console.log(
      `chaos (eu-west-1 unreachable ${OUTAGE_MS / 1000} s): injected ${JSON.stringify(injected)}; oldest waiting change ${Math.round(Math.max(...backlog) / 1000)} s; converged ${(convergedAfterMs / 1000).toFixed(0)} s after the region returned; dead letters ${deadLetters.join(' + ')}`,
    );
    expect(deadLetters).toEqual([0, 0]);
    expect(cloud.metrics.sum('DeadLettered', { Pair: table.name })).toBe(0);
    for (const p of [table, bucket]) {
      const r = await reconcilePair({
        pair: p,
        sourceRegion: 'us-east-1',
        endpoint: cloud.endpoint,
        publishMetrics: false,
      });
      expect(r.report.mismatched).toBe(0);
    }
  }, 900_000);
});
