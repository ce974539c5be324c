/**
 * The deployed backfill job end to end, for both pair types at once: day-one data (a table and a bucket
 * filled before Replicator was deployed; the table's stream enabled only after), so the targets start empty;
 * `replicator backfill PAIR --deployed` started, and one invocation of each pair's backfill function made to
 * time out mid-way (a request held longer than the function's 10 s: the config's `backfill.timeoutSeconds` at its
 * minimum, where a lease that outlived the visibility timeout once made the job stall for good).
 * SQS delivers that message again after the job queue's visibility timeout (six times the function's), the
 * next invocation continues from the checkpoint, and the job finishes by itself: the targets equal their
 * sources, `replicator status` showed the progress, and every call the functions made is one their IAM
 * policies allow. The sources exist before the deploy, so this file starts its own moto_server, fills them,
 * deploys onto it, and stops that server by its pid.
 */
import {
  BatchWriteItemCommand,
  type BatchWriteItemCommandOutput,
  CreateTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  UpdateTableCommand,
  type WriteRequest,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairResourceNames } from '../../functions/contract';
import { BACKFILL_JOB_KEY, type JobRecord } from '../../functions/engine/backfill-job';
import type { RunReport } from '../../functions/engine/reconcile-run';
import { BACKFILL_REPORT_KEY } from '../../functions/engine/state-table';
import type { DynamoPairConfig, S3PairConfig } from '../../lib/config';
import { localDynamo, localS3 } from '../../src/cli/aws';
import { startDeployedBackfill } from '../../src/cli/backfill';
import { type LocalCloud, startLocalCloud } from '../../src/cli/local-cloud';
import { type BackfillStatus, readBackfillState } from '../../src/cli/operations';
import { isConverged } from '../../src/cli/pair-types/driver';
import { verifyTablePair } from '../../src/cli/pair-types/dynamodb';
import { verifyBucketPair } from '../../src/cli/pair-types/s3';
import { localAccessKeyId } from '../../src/local/function-pool';
import { type MotoServer, startMoto } from '../../src/local/moto';
import { eventually } from '../helpers/eventually';
import { expectCallsAllowed, recordCalls } from '../iam/local-cloud-calls';

const ITEMS = 1_500;
const OBJECTS = 400;
const SOURCE_TABLE = 'e2e-bfj-orders';
const SOURCE_BUCKET = 'e2e-bfj-source';
let moto: MotoServer;
let cloud: LocalCloud;
let calls: ReturnType<typeof recordCalls>;
let table: DynamoPairConfig;
let bucket: S3PairConfig;
const log: string[] = [];

/** Day-one data: the table (its stream enabled after the items) and the bucket, before the deploy. */
async function seedSources(endpoint: string): Promise<void> {
  const ddb = localDynamo(endpoint, 'us-east-1');
  await ddb.send(
    new CreateTableCommand({
      TableName: SOURCE_TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
    }),
  );
  await waitUntilTableExists({ client: ddb, maxWaitTime: 60 }, { TableName: SOURCE_TABLE });
  await batchWrite(
    ddb,
    SOURCE_TABLE,
    Array.from({ length: ITEMS }, (_, i) => ({
      PutRequest: {
        Item: { pk: { S: `user-${i % 97}` }, sk: { S: `order-${String(i).padStart(5, '0')}` }, n: { N: String(i) } },
      },
    })),
  );
  await ddb.send(
    new UpdateTableCommand({
      TableName: SOURCE_TABLE,
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    }),
  );
  const s3 = localS3(endpoint, 'us-east-1');
  await s3.send(new CreateBucketCommand({ Bucket: SOURCE_BUCKET }));
  for (let i = 0; i < OBJECTS; i += 16) {
    await Promise.all(
      Array.from({ length: Math.min(16, OBJECTS - i) }, (_, j) =>
        s3.send(
          new PutObjectCommand({
            Bucket: SOURCE_BUCKET,
            Key: `data/run-${(i + j) % 9}/part ${String(i + j).padStart(4, '0')}+.bin`,
            Body: `object ${i + j}`,
          }),
        ),
      ),
    );
  }
}

beforeAll(async () => {
  moto = await startMoto();
  await seedSources(moto.endpoint);
  cloud = await startLocalCloud({
    configPath: `${__dirname}/../fixtures/configs/e2e-backfill-job.json`,
    endpoint: moto.endpoint,
    log: (l) => {
      log.push(l);
      if (process.env.E2E_VERBOSE) console.log(l);
    },
  });
  table = cloud.config.pairs[0] as DynamoPairConfig;
  bucket = cloud.config.pairs[1] as S3PairConfig;
  calls = recordCalls(cloud);
}, 600_000);

afterAll(async () => {
  calls?.stop();
  await cloud?.stop();
  await moto?.stop();
});

async function batchWrite(client: DynamoDBClient, tableName: string, requests: WriteRequest[]): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let pending: WriteRequest[] | undefined = requests.slice(i, i + 25);
    while (pending && pending.length > 0) {
      const res: BatchWriteItemCommandOutput = await client.send(
        new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }),
      );
      pending = res.UnprocessedItems?.[tableName];
    }
  }
}

const allConverged = async () => {
  const [t, b] = await Promise.all([verifyTablePair(cloud, table), verifyBucketPair(cloud, bucket)]);
  return [...t.values(), ...b.values()];
};

describe('the deployed backfill job on the local cloud', () => {
  it('fills the targets of both pair types with day-one data by itself, across a function timeout mid-way', async () => {
    const empty = await allConverged();
    expect(empty.map((d) => d.missing.length)).toEqual([ITEMS, OBJECTS]);

    // After its first pages, hold each backfill function's requests to the target region past the function's
    // 10 s (the SDK's 10 s request timeout and retries do not get it through) until it has timed out once.
    const counted = new Map<string, number>();
    const functions = new Map(
      [table, bucket].map((p) => [localAccessKeyId(pairResourceNames(p.name).backfillFunction), p.name]),
    );
    const timedOut = (pair: string) =>
      log.some((l) => l.includes(pairResourceNames(pair).backfillFunction) && l.includes('Sandbox.Timedout'));
    cloud.setFaults((r) => {
      const pair = r.accessKeyId ? functions.get(r.accessKeyId) : undefined;
      if (!pair || r.region !== 'eu-west-1' || timedOut(pair)) return undefined;
      const n = (counted.get(pair) ?? 0) + 1;
      counted.set(pair, n);
      // An empty bucket target answers each key range's first listing with nothing: the second request is the
      // second range's; a table target gets a batch get per page.
      return n >= (pair === bucket.name ? 2 : 4) ? { kind: 'delay', ms: 40_000 } : undefined;
    });

    for (const pair of [table, bucket]) {
      const r = await startDeployedBackfill({
        pair,
        sourceRegion: 'us-east-1',
        endpoint: cloud.endpoint,
        rate: 100,
        shards: 2,
      });
      expect(r.outcome).toBe('started');
    }
    const ddb = localDynamo(cloud.endpoint, 'us-east-1');
    const seen: BackfillStatus[] = [];
    const finished = await eventually(
      'both deployed backfill jobs to finish',
      async () => {
        const states = await Promise.all(
          [table, bucket].map((p) => readBackfillState(ddb, pairResourceNames(p.name).stateTable)),
        );
        for (const s of states) if (s) seen.push(s);
        return states;
      },
      (states) => states.every((s) => s?.state === 'complete'),
      { timeoutMs: 900_000, intervalMs: 3_000 },
    );
    cloud.setFaults(undefined);
    // Both timed out once, were delivered again and continued; status showed them running part-way.
    for (const p of [table, bucket]) expect(timedOut(p.name)).toBe(true);
    expect(seen.some((s) => s.state === 'running' && s.by === 'job' && s.fraction > 0 && s.fraction < 1)).toBe(true);
    for (const s of finished) expect(s).toMatchObject({ state: 'complete', by: 'job' });
    // Every source item was read; what was enqueued is at most that: on loaded cores the timed-out invocation
    // can have enqueued pages it had not yet checkpointed, whose copies then land before its message comes back,
    // and the run that continues counts those as already equal (a suite run saw the bucket's job end with 0).
    expect(finished.map((s) => s!.read)).toEqual([ITEMS, OBJECTS]);
    finished.forEach((s, i) => {
      expect(s!.enqueued).toBeLessThanOrEqual([ITEMS, OBJECTS][i]!);
    });
    for (const p of [table, bucket]) {
      const get = (key: string) =>
        ddb.send(
          new GetItemCommand({
            TableName: pairResourceNames(p.name).stateTable,
            Key: { pk: { S: key } },
            ConsistentRead: true,
          }),
        );
      const record = JSON.parse((await get(BACKFILL_JOB_KEY)).Item!.job!.S!) as JobRecord;
      expect(record.state).toBe('complete');
      // The timed-out invocation's message ran again and continued the run (not a new one): two invocations.
      const report = JSON.parse((await get(BACKFILL_REPORT_KEY)).Item!.report!.S!) as RunReport;
      expect(report).toMatchObject({ trigger: 'job', complete: true });
      expect(report.invocations).toBeGreaterThanOrEqual(2);
    }
    await eventually('the targets to equal their sources again', allConverged, (ds) => ds.every(isConverged), {
      timeoutMs: 600_000,
      intervalMs: 2_000,
    });
  }, 1_800_000);

  it('makes only calls the deployed IAM policies allow (test/iam)', async () => {
    await expectCallsAllowed(cloud, calls);
  });
});
