/**
 * Backfill of an S3 pair end to end, as a user runs it: 2,000 objects were in the source bucket before
 * Replicator was deployed (odd keys, a multipart-uploaded one above the copier's multipart threshold), and the
 * pair runs with one target (eu-west-1). With live writes going on throughout, a second `cdk deploy` adds a
 * target (ap-northeast-1) to the running pair, and README's procedure fills it: the first
 * `replicator backfill --target ap-northeast-1` is stopped with Ctrl-C (SIGINT) part-way and the second
 * continues it rather than starting over. The first target is left as it was (live writes only).
 *
 * The source bucket is imported (it exists before the deploy), so this test starts its own moto_server,
 * fills the bucket, then deploys onto it; it stops that server by its pid. The second deploy updates the
 * deployed stacks through CloudFormation change sets, which moto answers as CloudFormation does only with the
 * hook `startMoto` gives it (`cloudFormationChangeSets`); that no data resource is replaced on AWS is
 * test/infra/logical-ids.test.ts's.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairResourceNames } from '../../functions/contract';
import type { ReconcileCheckpoint } from '../../functions/engine/checkpoint';
import { BACKFILL_CHECKPOINT_KEY } from '../../functions/engine/state-table';
import type { S3PairConfig } from '../../lib/config';
import { localDynamo, localS3, queueDepth } from '../../src/cli/aws';
import { type LocalCloud, startLocalCloud } from '../../src/cli/local-cloud';
import { isConverged } from '../../src/cli/pair-types/driver';
import { verifyBucketPair } from '../../src/cli/pair-types/s3';
import { type MotoServer, startMoto } from '../../src/local/moto';
import { eventually } from '../helpers/eventually';

const BIN = resolve(__dirname, '..', '..', 'bin', 'replicator.js');
/** The pair as first deployed: one target, eu-west-1. */
const CONFIG = resolve(__dirname, '..', 'fixtures', 'configs', 'e2e-backfill.json');
/** The same pair with a target added: ap-northeast-1. */
const ADDED = resolve(__dirname, '..', 'fixtures', 'configs', 'e2e-backfill-added.json');
const EU = 'eu-west-1/e2e-backfill-eu';
const AP = 'ap-northeast-1/e2e-backfill-ap';
const SOURCE = 'e2e-backfill-source';
const PAIR = 'e2e-backfill';
const OBJECTS = 2_000;
const ODD = ['a b c.txt', 'plus+sign.bin', '100%.csv', 'ünïcödé-✓-键.json', 'emoji-😀.bin', "quote's & amp.txt"];

let moto: MotoServer;
let cloud: LocalCloud | undefined;

const src = () => localS3(moto.endpoint, 'us-east-1');

/** A 12 MiB object uploaded in two parts, so its ETag is a multipart one (`...-2`). */
async function putMultipart(key: string): Promise<void> {
  const s3 = src();
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: SOURCE, Key: key }));
  const parts = [];
  for (const n of [1, 2]) {
    const body = Buffer.alloc(6 * 1024 * 1024, n);
    const { ETag } = await s3.send(
      new UploadPartCommand({ Bucket: SOURCE, Key: key, UploadId, PartNumber: n, Body: body }),
    );
    parts.push({ ETag, PartNumber: n });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({ Bucket: SOURCE, Key: key, UploadId, MultipartUpload: { Parts: parts } }),
  );
}

/** Runs `items` at `limit` at a time. */
async function inParallel<T>(items: readonly T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Writes new objects and overwrites old ones until stopped: the live traffic a backfill runs beside. */
function liveWrites(tag: string): { stop: () => Promise<number> } {
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const key =
        n % 3 === 0 ? `data/shard-${n % 16}/obj-${String(n * 7).padStart(5, '0')}.bin` : `data/live/${tag}-${n}.bin`;
      await src().send(new PutObjectCommand({ Bucket: SOURCE, Key: key, Body: `live ${tag} ${n}` }));
      n++;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return n;
    },
  };
}

/** Runs the CLI as a user does; `onStderr` sees its progress lines as they come. */
function cli(args: string[], onStderr?: (text: string, child: ReturnType<typeof spawn>) => void) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args, '--endpoint', moto.endpoint], { env: process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      onStderr?.(stderr, child);
    });
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

async function backfillCheckpoint(): Promise<ReconcileCheckpoint | undefined> {
  const res = await localDynamo(moto.endpoint, 'us-east-1').send(
    new GetItemCommand({
      TableName: pairResourceNames(PAIR).stateTable,
      Key: { pk: { S: BACKFILL_CHECKPOINT_KEY } },
      ConsistentRead: true,
    }),
  );
  return res.Item?.state?.S ? (JSON.parse(res.Item.state.S) as ReconcileCheckpoint) : undefined;
}

/**
 * Waits until the given targets (all by default) equal the source. The comparison reads every object of the
 * source (about 90 s on moto for 2,000, while the copies compete for the same server), so it waits first for
 * the pair's queues to be empty: the cheap signal that the copies are done.
 */
const converged = async (c: LocalCloud, only?: readonly string[]) => {
  const sqs = new SQSClient({
    region: 'us-east-1',
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const names = pairResourceNames(PAIR);
  await eventually(
    "the pair's queues to be empty",
    async () =>
      (await Promise.all([names.eventsQueue, names.queue].map((q) => queueDepth(sqs, q)))).map((q) => q.depth),
    (depths) => depths.every((d) => d === 0),
    { timeoutMs: 600_000, intervalMs: 1_000 },
  );
  return eventually(
    `${only?.join(', ') ?? 'every target'} to equal the source`,
    () => verifyBucketPair(c, c.config.pairs[0] as S3PairConfig, only),
    (m) => [...m.values()].every(isConverged),
    { timeoutMs: 600_000, intervalMs: 2_000 },
  );
};

beforeAll(async () => {
  moto = await startMoto();
  await src().send(new CreateBucketCommand({ Bucket: SOURCE }));
  const keys = Array.from(
    { length: OBJECTS - ODD.length - 1 },
    (_, i) => `data/shard-${i % 16}/obj-${String(i).padStart(5, '0')}.bin`,
  );
  await inParallel(keys, 16, (key) =>
    src()
      .send(new PutObjectCommand({ Bucket: SOURCE, Key: key, Body: `before ${key}`, Metadata: { origin: 'day-one' } }))
      .then(() => undefined),
  );
  for (const name of ODD)
    await src().send(new PutObjectCommand({ Bucket: SOURCE, Key: `data/odd/${name}`, Body: name }));
  await putMultipart('data/checkpoints/step 1000.ckpt');
  // Outside the pair's prefix: never listed into the target.
  await src().send(new PutObjectCommand({ Bucket: SOURCE, Key: 'other/ignored.bin', Body: 'x' }));
  cloud = await startLocalCloud({
    configPath: CONFIG,
    endpoint: moto.endpoint,
    log: process.env.E2E_VERBOSE ? (l) => console.log(`${new Date().toISOString()} ${l}`) : undefined,
  });
}, 900_000);

afterAll(async () => {
  await cloud?.stop();
  await moto?.stop();
});

describe('S3 backfill on the local cloud', () => {
  it('fills a target added to the running pair by a second deploy, while live writes go on; Ctrl-C, then the same command continues', async () => {
    const live = liveWrites('one');
    // The pair runs: a live write reaches its one target.
    await eventually(
      'a live write to reach eu-west-1',
      () =>
        localS3(moto.endpoint, 'eu-west-1')
          .send(new HeadObjectCommand({ Bucket: 'e2e-backfill-eu', Key: 'data/live/one-1.bin' }))
          .then(
            () => true,
            () => false,
          ),
      (found) => found,
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
    // The user's `cdk deploy` of the config with the new target, with the pair running.
    await cloud!.redeploy(ADDED);
    expect(cloud!.config.pairs[0]!.targets.map((t) => t.region)).toEqual(['eu-west-1', 'ap-northeast-1']);
    // A slow first run, stopped by SIGINT once it has shown progress.
    let interrupted = false;
    const first = await cli(
      ['backfill', PAIR, '--config', ADDED, '--target', 'ap-northeast-1', '--rate', '100', '--shards', '4'],
      (err, child) => {
        if (!interrupted && /\d+ objects/.test(err)) {
          interrupted = true;
          child.kill('SIGINT');
        }
      },
    );
    expect(first.code).toBe(130);
    expect(first.stdout).toMatch(/backfill of e2e-backfill stopped at \d+%; run the same command to continue/);
    const stoppedAt = await backfillCheckpoint();
    expect(stoppedAt?.mode).toBe('backfill');
    expect(stoppedAt?.bounds?.length).toBeGreaterThan(0);
    const readBefore = stoppedAt!.counts[AP]!.checked;
    expect(readBefore).toBeGreaterThan(0);
    expect(readBefore).toBeLessThan(OBJECTS);

    // The same command, at a higher rate: it continues the stopped run (same start, same ranges).
    const second = await cli([
      'backfill',
      PAIR,
      '--config',
      ADDED,
      '--target',
      'ap-northeast-1',
      '--rate',
      '2000',
      '--shards',
      '4',
    ]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/continued from an earlier run/);
    expect(second.stdout).toMatch(/ap-northeast-1\/e2e-backfill-ap/);
    expect(await backfillCheckpoint()).toBeUndefined();
    await live.stop();
    const diffs = await converged(cloud!, [AP]);
    const ap = diffs.get(AP)!;
    expect(ap.checked).toBeGreaterThanOrEqual(OBJECTS);
    const big = await localS3(moto.endpoint, 'ap-northeast-1').send(
      new HeadObjectCommand({ Bucket: 'e2e-backfill-ap', Key: 'data/checkpoints/step 1000.ckpt' }),
    );
    expect(big.ContentLength).toBe(12 * 1024 * 1024);
    // Run again: nothing to do, and it says so.
    const third = await cli(['backfill', PAIR, '--config', ADDED, '--target', 'ap-northeast-1']);
    expect(third.code).toBe(0);
    expect(third.stdout).toMatch(/already complete/);
  }, 900_000);

  it('left the first target as it was: it still lacks the day-one objects, and got every live write, across the redeploy too', async () => {
    const eu = await eventually(
      'every live write to reach eu-west-1',
      async () => (await verifyBucketPair(cloud!, cloud!.config.pairs[0] as S3PairConfig, [EU])).get(EU)!,
      (d) => !d.missing.some((k) => k.startsWith('data/live/')) && d.different.length === 0,
      { timeoutMs: 300_000, intervalMs: 2_000 },
    );
    // The backfill restricted to ap-northeast-1 copied nothing here: only what the live writes overwrote came.
    expect(eu.missing.length).toBeGreaterThan(OBJECTS * 0.8);
    expect(eu.different).toEqual([]);
    expect(eu.extra).toEqual([]);
  }, 360_000);
});
