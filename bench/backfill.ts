/**
 * Backfill benchmark (`npm run bench -- backfill`): the deployed backfill job at scale on the local cloud, one
 * moto this run starts and stops. 50,000 items and 5,000 objects are in the sources before Replicator is
 * deployed (the table gets its stream only after they are written, the bucket is imported), so the targets
 * start empty and only a backfill can fill them. Both pairs' jobs are started at once and each is interrupted
 * once: its requests to the target region are held past the function's timeout until it has timed out, and
 * SQS delivers its message again after the job queue's visibility timeout.
 *
 * Baseline, same run and moto: a raw parallel Scan of the source table (same segments) and a raw listing of
 * the source bucket, the least any backfill must read. Figures: the jobs' wall time and invocations, the time
 * until the targets equal the sources (every copy applied), AWS requests per item and per object by action
 * (the counting proxy), and the ratios to the baseline.
 *
 * Settings (environment variables): BENCH_BACKFILL_ITEMS (default 50000), BENCH_BACKFILL_OBJECTS (5000),
 * BENCH_BACKFILL_RATE (items or objects per second per job, default 2000), BENCH_BACKFILL_SHARDS (2).
 */
import { join } from 'node:path';
import {
  BatchWriteItemCommand,
  type BatchWriteItemCommandOutput,
  CreateTableCommand,
  DynamoDBClient,
  ScanCommand,
  UpdateTableCommand,
  type WriteRequest,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { pairResourceNames } from '../functions/contract';
import { mapLimit } from '../functions/engine/concurrency';
import { BACKFILL_REPORT_KEY, DynamoReportStore } from '../functions/engine/state-table';
import type { DynamoPairConfig, S3PairConfig } from '../lib/config';
import { localS3 } from '../src/cli/aws';
import { startDeployedBackfill } from '../src/cli/backfill';
import { type LocalCloud, startLocalCloud } from '../src/cli/local-cloud';
import { readBackfillState } from '../src/cli/operations';
import { isConverged } from '../src/cli/pair-types/driver';
import { verifyTablePair } from '../src/cli/pair-types/dynamodb';
import { verifyBucketPair } from '../src/cli/pair-types/s3';
import { renderTable } from '../src/cli/table';
import { localAccessKeyId } from '../src/local/function-pool';
import { type MotoServer, startMoto } from '../src/local/moto';
import { envNumber, nowMs, num, ratio, runEnvironment, sleep, writeResults } from './common';

const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const TABLE = 'bench-bf-orders';
const BUCKET = 'bench-bf-source';

function print(line: string): void {
  console.log(line);
}

async function seedTable(ddb: DynamoDBClient, items: number): Promise<void> {
  await ddb.send(
    new CreateTableCommand({
      TableName: TABLE,
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
  await waitUntilTableExists({ client: ddb, maxWaitTime: 60 }, { TableName: TABLE });
  const pad = 'x'.repeat(900);
  const batches = Array.from({ length: Math.ceil(items / 25) }, (_, b) =>
    Array.from({ length: Math.min(25, items - b * 25) }, (_, i): WriteRequest => {
      const n = b * 25 + i;
      return {
        PutRequest: {
          Item: { pk: { S: `customer-${n % 997}` }, sk: { S: `order-${n}` }, n: { N: String(n) }, pad: { S: pad } },
        },
      };
    }),
  );
  await mapLimit(batches, 8, async (batch) => {
    let pending: WriteRequest[] | undefined = batch;
    while (pending && pending.length > 0) {
      const res: BatchWriteItemCommandOutput = await ddb.send(
        new BatchWriteItemCommand({ RequestItems: { [TABLE]: pending } }),
      );
      pending = res.UnprocessedItems?.[TABLE];
    }
  });
  // The stream comes after the items: they are day-one data, which only a backfill copies.
  await ddb.send(
    new UpdateTableCommand({
      TableName: TABLE,
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    }),
  );
}

async function seedBucket(endpoint: string, objects: number): Promise<void> {
  const s3 = localS3(endpoint, 'us-east-1');
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const indexes = Array.from({ length: objects }, (_, i) => i);
  await mapLimit(indexes, 16, async (i) => {
    const key = `data/run-${i % 50}/shard ${String(i).padStart(5, '0')}.bin`;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.alloc(1024 + (i % 3) * 1024, i) }));
  });
}

/** The baseline: the least any backfill reads (a raw parallel Scan; a raw listing), timed. */
async function baseline(ddb: DynamoDBClient, endpoint: string, shards: number) {
  const t0 = nowMs();
  let items = 0;
  await Promise.all(
    Array.from({ length: shards }, async (_, segment) => {
      let start: Record<string, never> | undefined;
      do {
        const page = await ddb.send(
          new ScanCommand({ TableName: TABLE, Segment: segment, TotalSegments: shards, ExclusiveStartKey: start }),
        );
        items += page.Items?.length ?? 0;
        start = page.LastEvaluatedKey as Record<string, never> | undefined;
      } while (start);
    }),
  );
  const scanMs = nowMs() - t0;
  const t1 = nowMs();
  let objects = 0;
  let token: string | undefined;
  const s3 = localS3(endpoint, 'us-east-1');
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'data/', ContinuationToken: token }));
    objects += page.KeyCount ?? 0;
    token = page.NextContinuationToken;
  } while (token);
  return { items, scanMs, objects, listMs: nowMs() - t1 };
}

export async function runBackfillBenchmark(): Promise<void> {
  const settings = {
    items: envNumber('BENCH_BACKFILL_ITEMS', 50_000),
    objects: envNumber('BENCH_BACKFILL_OBJECTS', 5_000),
    rate: envNumber('BENCH_BACKFILL_RATE', 2_000),
    shards: envNumber('BENCH_BACKFILL_SHARDS', 2),
  };
  print(`settings: ${JSON.stringify(settings)}`);
  let moto: MotoServer | undefined;
  let cloud: LocalCloud | undefined;
  const log: string[] = [];
  try {
    moto = await startMoto();
    const ddb = new DynamoDBClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials: CREDENTIALS });
    let t = nowMs();
    await Promise.all([seedTable(ddb, settings.items), seedBucket(moto.endpoint, settings.objects)]);
    print(
      `seeded ${num(settings.items)} items and ${num(settings.objects)} objects in ${((nowMs() - t) / 1000).toFixed(1)} s`,
    );
    const base = await baseline(ddb, moto.endpoint, settings.shards);
    print(`baseline: raw Scan ${(base.scanMs / 1000).toFixed(1)} s, raw listing ${(base.listMs / 1000).toFixed(1)} s`);

    t = nowMs();
    cloud = await startLocalCloud({
      configPath: join(__dirname, 'backfill.config.json'),
      endpoint: moto.endpoint,
      log: (l) => log.push(l),
    });
    print(`deployed in ${((nowMs() - t) / 1000).toFixed(1)} s`);
    const table = cloud.config.pairs[0] as DynamoPairConfig;
    const bucket = cloud.config.pairs[1] as S3PairConfig;
    const pairs = [table, bucket];

    // One interruption per job: its requests to the target region are held past its timeout, once. The
    // function's timeout (backfill.config.json: 20 s) stays under the ~30 s in which the SDK gives up on a held
    // request (3 attempts of its 10 s request timeout): above it the invocation fails instead of timing out.
    const fnOf = new Map(pairs.map((p) => [localAccessKeyId(pairResourceNames(p.name).backfillFunction), p.name]));
    const timedOut = (pair: string) =>
      log.some((l) => l.includes(pairResourceNames(pair).backfillFunction) && l.includes('Sandbox.Timedout'));
    const seen = new Map<string, number>();
    cloud.setFaults((r) => {
      const pair = r.accessKeyId ? fnOf.get(r.accessKeyId) : undefined;
      if (!pair || r.region !== 'eu-west-1' || timedOut(pair)) return undefined;
      const n = (seen.get(pair) ?? 0) + 1;
      seen.set(pair, n);
      // A table's job asks its target once per page; a bucket's, once per key range while the target is empty.
      return n >= (pair === bucket.name ? 4 : 20) ? { kind: 'delay', ms: 90_000 } : undefined;
    });
    cloud.resetRequestCounts();

    const started = nowMs();
    for (const pair of pairs) {
      await startDeployedBackfill({
        pair,
        sourceRegion: 'us-east-1',
        endpoint: cloud.endpoint,
        rate: settings.rate,
        shards: settings.shards,
      });
    }
    const done = new Map<string, { seconds: number; enqueued: number }>();
    let shownAt = nowMs();
    for (;;) {
      const line: string[] = [];
      for (const pair of pairs) {
        if (done.has(pair.name)) continue;
        const s = await readBackfillState(ddb, pairResourceNames(pair.name).stateTable);
        if (s?.state === 'complete') done.set(pair.name, { seconds: (nowMs() - started) / 1000, enqueued: s.enqueued });
        else line.push(`${pair.name} ${s?.state ?? 'not started'} ${Math.floor((s?.fraction ?? 0) * 100)}%`);
      }
      if (done.size === pairs.length) break;
      if (nowMs() - shownAt >= 30_000) {
        shownAt = nowMs();
        print(`  ${((shownAt - started) / 1000).toFixed(0)} s: ${line.join(', ')}`);
      }
      if (nowMs() - started > 3_600_000) throw new Error('the backfill jobs did not finish within an hour');
      await sleep(2_000);
    }
    cloud.setFaults(undefined);
    for (const pair of pairs) {
      if (!timedOut(pair.name)) throw new Error(`the job of ${pair.name} was never interrupted`);
    }
    for (;;) {
      const diffs = [
        ...(await verifyTablePair(cloud, table)).values(),
        ...(await verifyBucketPair(cloud, bucket)).values(),
      ];
      if (diffs.every(isConverged)) break;
      if (nowMs() - started > 5_400_000) throw new Error('the targets did not converge within 90 minutes');
      await sleep(5_000);
    }
    const convergedSeconds = (nowMs() - started) / 1000;
    const counts = cloud.requestCounts();
    // Each job's report: the invocations that worked on its run (the timed-out one included) and their time.
    const reports = await Promise.all(
      pairs.map((p) =>
        new DynamoReportStore(ddb, pairResourceNames(p.name).stateTable, Date.now, BACKFILL_REPORT_KEY).latest(),
      ),
    );
    const tableJob = done.get(table.name)!;
    const bucketJob = done.get(bucket.name)!;
    const per = (action: string, n: number) => (counts[action] ?? 0) / n;
    const rows: (string | number)[][] = [
      [
        'items (DynamoDB)',
        num(settings.items),
        num(tableJob.seconds, 1),
        num(tableJob.enqueued),
        ratio(base.scanMs / 1000 / tableJob.seconds),
      ],
      [
        'objects (S3)',
        num(settings.objects),
        num(bucketJob.seconds, 1),
        num(bucketJob.enqueued),
        ratio(base.listMs / 1000 / bucketJob.seconds),
      ],
    ];
    print('');
    print(renderTable(['source', 'count', 'job done (s)', 'enqueued', 'raw read ÷ job time'], rows));
    print(`targets equal to their sources ${num(convergedSeconds, 1)} s after the jobs started (every copy applied)`);
    print(`invocations per job: ${pairs.map((p, i) => `${p.name} ${reports[i]?.invocations ?? '?'}`).join(', ')}`);
    const requestRows = Object.entries(counts)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 14)
      .map(([action, n]) => [action, num(n), num(n / (settings.items + settings.objects), 3)]);
    print(renderTable(['request (all functions)', 'count', 'per item or object'], requestRows));
    const results = {
      ...runEnvironment(),
      settings,
      baseline: base,
      jobs: Object.fromEntries(done),
      convergedSeconds,
      requests: counts,
      perItem: {
        scan: per('dynamodb:Scan', settings.items),
        listObjectsV2PerObject: per('s3:GET', settings.objects),
        sendMessageBatch: per('sqs:SendMessageBatch', settings.items + settings.objects),
      },
      timeouts: pairs.map((p) => ({ pair: p.name, timedOut: timedOut(p.name) })),
      invocations: Object.fromEntries(pairs.map((p, i) => [p.name, reports[i]?.invocations ?? null])),
    };
    print(`\nresults written to ${writeResults('backfill', results)}`);
  } finally {
    await cloud?.stop();
    await moto?.stop();
  }
}
