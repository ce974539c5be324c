/**
 * Part 1 of the S3 benchmark: many small objects from a us-east-1 bucket to fresh eu-west-1 buckets, on one
 * moto, by Replicator's copier, `aws s3 sync`, `rclone copy`, and a plain CopyObject loop (moto's ceiling).
 *
 * Every contender talks to moto through the counting proxy, so each pays the same extra hop and its AWS
 * requests per object are counted; seeding and checking go straight to moto and are not counted. Each copy
 * is checked afterwards (count, every size and ETag), so a contender that copied nothing cannot look fast.
 */
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CopyObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { CopySettings } from '../functions/s3/copy';
import type { CountingProxy } from '../src/local/counting-proxy';
import { localCloudEnv } from '../src/local/moto';
import { nowMs, perSecond } from './common';
import {
  type CopyCheck,
  type CopyContainer,
  type CopyTally,
  captureMessages,
  checkCopy,
  copyContainer,
  copyMessage,
  createBucket,
  emptyTally,
  KiB,
  MiB,
  mapLimit,
  SOURCE_REGION,
  type SourceObjectInfo,
  s3,
  TARGET_REGION,
} from './s3-common';

/** Settings of part 1. */
export interface ManySettings {
  readonly objects: number;
  /** Mean object size, KiB (sizes spread ±20% around it). */
  readonly objectKb: number;
  /** Concurrent copy function invocations emulated. */
  readonly invocations: number;
  /** SQS messages per invocation (the event source mapping's batch size). */
  readonly batchSize: number;
  /** Envelopes per SQS message (capture's packing). */
  readonly envelopesPerMessage: number;
  /** Callers of the second raw CopyObject run. */
  readonly rawCallers: number;
  readonly copy: CopySettings;
}

/** One contender's run. */
export interface ManyRun {
  readonly name: string;
  readonly how: string;
  readonly seconds: number;
  readonly objectsPerSecond: number;
  readonly mibPerSecond: number;
  /** objects/s ÷ the raw CopyObject rate from `rawCallers` callers. */
  readonly ratioToCeiling: number;
  readonly requests: number;
  readonly requestsPerObject: number;
  readonly requestCounts: Record<string, number>;
  readonly check: CopyCheck;
  /** Replicator only: what the copy core reported. */
  readonly copier?: CopyTally;
  /** Command-line tools only: the command and its version. */
  readonly command?: string;
  readonly version?: string;
}

/** What part 1 found. */
export interface ManyResult {
  readonly settings: ManySettings;
  readonly sourceBytes: number;
  readonly seedSeconds: number;
  readonly messages: number;
  readonly runs: ManyRun[];
}

const SOURCE = 'bench-src';

/** Size of object `i`: spread ±20% around the mean, deterministic. */
function sizeOf(i: number, meanBytes: number): number {
  const spread = ((i * 7919) % 1000) / 1000; // 0 ≤ spread < 1, well mixed
  return Math.max(1, Math.round(meanBytes * (0.8 + 0.4 * spread)));
}

/** Key of object `i`: a few prefixes deep, like a data set's shards. */
function keyOf(i: number): string {
  return `datasets/train/shard-${String(i % 16).padStart(2, '0')}/sample-${String(i).padStart(6, '0')}.bin`;
}

/** Puts the source objects straight into moto (16 at a time), each a distinct slice of one random buffer. */
async function seed(client: S3Client, n: number, meanBytes: number): Promise<SourceObjectInfo[]> {
  const maxBytes = Math.ceil(meanBytes * 1.2) + 1;
  const base = randomFillSync(Buffer.alloc(maxBytes * 2));
  const out: SourceObjectInfo[] = new Array(n);
  await mapLimit(
    Array.from({ length: n }, (_, i) => i),
    16,
    async (i) => {
      const size = sizeOf(i, meanBytes);
      const offset = (i * 4099) % maxBytes;
      const res = await client.send(
        new PutObjectCommand({
          Bucket: SOURCE,
          Key: keyOf(i),
          Body: base.subarray(offset, offset + size),
          ContentType: 'application/octet-stream',
        }),
      );
      out[i] = { key: keyOf(i), size, eTag: (res.ETag ?? '').replace(/"/g, ''), putAt: Date.now() };
    },
  );
  return out;
}

interface Measured {
  seconds: number;
  counts: Record<string, number>;
  requests: number;
}

/** Runs `fn` with the proxy's counts reset before, and measures it. */
async function measured(proxy: CountingProxy, fn: () => Promise<void>): Promise<Measured> {
  proxy.reset();
  const start = nowMs();
  await fn();
  const seconds = (nowMs() - start) / 1000;
  return { seconds, counts: proxy.counts(), requests: proxy.total() };
}

/** Runs a command, resolving with its output; rejects with its stderr when it fails. */
function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.trim().slice(-2000)}`));
    });
  });
}

/** The environment without AWS_CA_BUNDLE (rclone and apt fail with it set). */
function withoutCaBundle(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  delete out.AWS_CA_BUNDLE;
  return out;
}

/** Makes sure rclone is installed (Debian package), installing it with apt-get when it is missing. */
export async function ensureRclone(print: (l: string) => void): Promise<string> {
  const env = withoutCaBundle();
  const version = async () => (await run('rclone', ['version'], env)).stdout.split('\n')[0]!.trim();
  try {
    return await version();
  } catch {
    print('rclone is not installed: apt-get install -y rclone ...');
  }
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    await run('apt-get', ['install', '-y', 'rclone'], aptEnv);
  } catch {
    print('  install failed: apt-get update, then install again ...');
    await run('apt-get', ['update'], aptEnv);
    await run('apt-get', ['install', '-y', 'rclone'], aptEnv);
  }
  return version();
}

/** Runs part 1 on a moto at `motoEndpoint`, the contenders through `proxy`. */
export async function runManyBenchmark(
  motoEndpoint: string,
  proxy: CountingProxy,
  settings: ManySettings,
  print: (l: string) => void,
): Promise<ManyResult> {
  const n = settings.objects;
  const direct = { us: s3(motoEndpoint, SOURCE_REGION), eu: s3(motoEndpoint, TARGET_REGION) };
  const targets = {
    raw1: 'bench-dst-raw-1',
    rawN: `bench-dst-raw-${settings.rawCallers}`,
    replicator: 'bench-dst-replicator',
    awscli: 'bench-dst-awscli',
    rclone: 'bench-dst-rclone',
  };
  await createBucket(direct.us, SOURCE, SOURCE_REGION);
  for (const b of Object.values(targets)) await createBucket(direct.eu, b, TARGET_REGION);

  print(`[objects] seeding ${n} objects of ~${settings.objectKb} KiB into s3://${SOURCE} (${SOURCE_REGION}) ...`);
  const seedStart = nowMs();
  // `let`: the overwrite runs at the end replace the source objects, and checks compare with the newest.
  let objects = await seed(direct.us, n, settings.objectKb * KiB);
  const seedSeconds = (nowMs() - seedStart) / 1000;
  const sourceBytes = objects.reduce((s, o) => s + o.size, 0);
  print(`  ${n} objects, ${(sourceBytes / MiB).toFixed(1)} MiB, in ${seedSeconds.toFixed(1)} s`);

  const results: Omit<ManyRun, 'ratioToCeiling'>[] = [];
  const finish = async (
    name: string,
    how: string,
    m: Measured,
    bucket: string,
    extra: Partial<ManyRun> = {},
  ): Promise<void> => {
    const check = await checkCopy(direct.eu, bucket, objects);
    const run: Omit<ManyRun, 'ratioToCeiling'> = {
      name,
      how,
      seconds: m.seconds,
      objectsPerSecond: perSecond(n, m.seconds * 1000),
      mibPerSecond: sourceBytes / MiB / m.seconds,
      requests: m.requests,
      requestsPerObject: m.requests / n,
      requestCounts: m.counts,
      check,
      ...extra,
    };
    results.push(run);
    print(
      `  ${name}: ${m.seconds.toFixed(1)} s, ${run.objectsPerSecond.toFixed(0)} objects/s, ` +
        `${run.requestsPerObject.toFixed(2)} requests/object; check: ${check.found}/${check.expected} objects` +
        `${check.ok ? ', sizes and ETags match' : ` — FAILED (missing ${check.missing}, extra ${check.extra}, wrong size ${check.wrongSize}, wrong ETag ${check.wrongEtag})`}`,
    );
  };

  // (d) moto's ceiling: a plain CopyObject loop, 1 caller, then rawCallers callers.
  const viaProxy = s3(proxy.endpoint, TARGET_REGION);
  for (const [callers, bucket] of [
    [1, targets.raw1],
    [settings.rawCallers, targets.rawN],
  ] as const) {
    print(`[objects] raw CopyObject, ${callers} caller${callers > 1 ? 's' : ''} ...`);
    const m = await measured(proxy, () =>
      mapLimit(objects, callers, async (o) => {
        await viaProxy.send(new CopyObjectCommand({ Bucket: bucket, Key: o.key, CopySource: `${SOURCE}/${o.key}` }));
      }),
    );
    await finish(
      `raw CopyObject, ${callers} caller${callers > 1 ? 's' : ''}`,
      'plain CopyObject loop, no reads or checks',
      m,
      bucket,
    );
  }

  // (a) Replicator's copier, as `invocations` concurrent copy function invocations.
  const bodies = captureMessages(SOURCE, objects, settings.envelopesPerMessage);
  const batches = Math.ceil(bodies.length / settings.batchSize);
  const c = settings.copy;
  print(
    `[objects] Replicator's copier: ${bodies.length} messages of ≤ ${settings.envelopesPerMessage} envelopes in ` +
      `${batches} batches of ≤ ${settings.batchSize}, ${settings.invocations} concurrent invocations, ` +
      `COPY_CONCURRENCY ${c.concurrency} ...`,
  );
  const fleetOf = () =>
    Array.from({ length: settings.invocations }, () => copyContainer(proxy.endpoint, SOURCE, targets.replicator, c));
  /** Copies `all` messages in batches of `batchSize`, each container taking the next batch; counted. */
  const copyAll = async (fleet: CopyContainer[], all: readonly string[], into: CopyTally): Promise<Measured> => {
    const queue: string[][] = [];
    for (let i = 0; i < all.length; i += settings.batchSize) queue.push(all.slice(i, i + settings.batchSize));
    let next = 0;
    return measured(proxy, async () => {
      await Promise.all(
        fleet.map(async (container) => {
          // Each container takes the next batch, and copies its messages in parallel (Powertools' default).
          while (next < queue.length) {
            const batch = queue[next++]!;
            await Promise.all(batch.map((body) => copyMessage(container, body, into)));
          }
        }),
      );
    });
  };
  const tally = emptyTally();
  const containers = fleetOf();
  const m = await copyAll(containers, bodies, tally);
  await finish(
    "Replicator's copier",
    `${settings.invocations} invocations × ${settings.batchSize} messages in parallel × ${settings.envelopesPerMessage} envelopes, COPY_CONCURRENCY ${c.concurrency}`,
    m,
    targets.replicator,
    { copier: tally },
  );
  print(
    `  copier: ${tally.applied} applied, ${tally.stale} stale, ${tally.failed} failed, ${tally.unverified} unverified` +
      (tally.firstError ? `; first error: ${tally.firstError}` : ''),
  );

  // (b) aws s3 sync, and (c) rclone copy, both through the proxy.
  const scratch = mkdtempSync(join(tmpdir(), 'bench-s3-'));
  try {
    const awsEnv: NodeJS.ProcessEnv = {
      ...localCloudEnv(proxy.endpoint, SOURCE_REGION),
      // Keep any user config and credentials files out.
      AWS_CONFIG_FILE: join(scratch, 'aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(scratch, 'aws-credentials'),
    };
    const awsVersion = (await run('aws', ['--version'], awsEnv)).stdout.trim() || 'aws';
    const awsArgs = [
      's3',
      'sync',
      `s3://${SOURCE}`,
      `s3://${targets.awscli}`,
      '--endpoint-url',
      proxy.endpoint,
      '--region',
      TARGET_REGION,
      '--only-show-errors',
    ];
    print(`[objects] aws ${awsArgs.join(' ')} ...`);
    const ma = await measured(proxy, async () => {
      await run('aws', awsArgs, awsEnv);
    });
    await finish('aws s3 sync', 'awscli v1 defaults (10 concurrent requests)', ma, targets.awscli, {
      command: `aws ${awsArgs.join(' ')}`,
      version: awsVersion,
    });

    const rcloneVersion = await ensureRclone(print);
    const rcloneEnv: NodeJS.ProcessEnv = {
      ...withoutCaBundle(),
      RCLONE_CONFIG: join(scratch, 'rclone.conf'),
      RCLONE_CONFIG_BENCH_TYPE: 's3',
      RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
      RCLONE_CONFIG_BENCH_ENDPOINT: proxy.endpoint,
      RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: 'test',
      RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: 'test',
      RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
      RCLONE_CONFIG_BENCH_REGION: SOURCE_REGION,
    };
    // One remote for both buckets, so rclone copies server-side (two remotes would download and upload).
    const rcloneArgs = ['copy', `bench:${SOURCE}`, `bench:${targets.rclone}`];
    print(`[objects] rclone ${rcloneArgs.join(' ')} (${rcloneVersion}) ...`);
    const mr = await measured(proxy, async () => {
      await run('rclone', rcloneArgs, rcloneEnv);
    });
    await finish('rclone copy', 'rclone defaults (--transfers 4, --checkers 8), server-side copy', mr, targets.rclone, {
      command: `rclone ${rcloneArgs.join(' ')}`,
      version: rcloneVersion,
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  // (d) Overwrites: every source object replaced, then copied over its older copy, first by the same copy
  // containers (which remember the keys they wrote: they read the target first), then, after a second
  // overwrite, by fresh ones (a create-only copy is refused first, then the target is read).
  for (const warm of [true, false]) {
    objects = await seed(direct.us, n, settings.objectKb * KiB);
    const label = `Replicator's copier, overwrites (${warm ? 'keys remembered' : 'keys not remembered'})`;
    const overwriteTally = emptyTally();
    print(`[objects] ${label} ...`);
    const overwrites = captureMessages(SOURCE, objects, settings.envelopesPerMessage);
    const mo = await copyAll(warm ? containers : fleetOf(), overwrites, overwriteTally);
    await finish(label, 'as above, over the older copies of the same keys', mo, targets.replicator, {
      copier: overwriteTally,
    });
  }

  const ceiling = results.find((r) => r.name.startsWith(`raw CopyObject, ${settings.rawCallers} `))!.objectsPerSecond;
  return {
    settings,
    sourceBytes,
    seedSeconds,
    messages: bodies.length,
    runs: results.map((r) => ({ ...r, ratioToCeiling: r.objectsPerSecond / ceiling })),
  };
}
