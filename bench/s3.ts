/**
 * S3 benchmark (`npm run bench -- s3`), on one moto this run starts and stops:
 *
 * 1. Many objects (1,000 × ~200 KiB) from a us-east-1 bucket to fresh eu-west-1 buckets by Replicator's
 *    copier (the copy core in-process with real clients, emulating concurrent copy invocations), `aws s3
 *    sync`, `rclone copy`, beside moto's raw CopyObject ceiling from 1 and 16 callers (bench/s3-many.ts).
 * 2. One large object (1 GiB): parallel multipart copy vs one CopyObject, at moto's raw speed and with S3's
 *    server-side copy modelled at a fixed rate per request by a delaying proxy (bench/s3-large.ts).
 *
 * Prints a table per part and writes every figure to bench/results/s3.json.
 *
 * Settings (environment variables): BENCH_S3_OBJECTS (default 1000), BENCH_S3_OBJECT_KB (mean size, KiB,
 * default 200), BENCH_S3_INVOCATIONS (concurrent copy invocations emulated, default 4), BENCH_S3_RAW_CALLERS
 * (default 16), BENCH_S3_LARGE_MB (MiB, default 1024), BENCH_S3_COPY_MBPS (modelled copy rate per request,
 * MiB/s, default 100), BENCH_S3_TIME_SCALE (time dilation of the modelled passes; default: chosen from moto's
 * raw times), BENCH_S3_SKIP_OBJECTS=1 / BENCH_S3_SKIP_LARGE=1 (run one part only). The copier's own settings
 * come from the copy function's variables with its defaults: MULTIPART_THRESHOLD, PART_SIZE (64 MiB each),
 * COPY_CONCURRENCY (8), CHECKSUM_ALGORITHM (CRC32).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copySettingsFromEnv } from '../functions/s3/copy';
import { renderTable } from '../src/cli/table';
import { type CountingProxy, startCountingProxy } from '../src/local/counting-proxy';
import { type MotoServer, startMoto } from '../src/local/moto';
import { envFlag, envNumber, num, ratio, runEnvironment, writeResults } from './common';
import { createStateTable, dynamo, MiB, perObject, SOURCE_REGION } from './s3-common';
import { type LargeResult, type LargeSettings, runLargeBenchmark } from './s3-large';
import { type ManyResult, type ManySettings, runManyBenchmark } from './s3-many';
import { type RateProxy, startRateProxy } from './s3-rate-proxy';

const MOTO_NOTE =
  "Note: moto's S3 copy speed says nothing about S3's. moto copies in its own memory (objects above ~5 MiB in " +
  'temporary files), serializes the work and answers every request from one Python process: local objects/s ' +
  "are a property of moto. Read them as ratios to moto's raw CopyObject ceiling measured in the same run, and " +
  "read AWS requests per object as the portable figure. The large-object figures model S3's server-side copy as " +
  'a fixed rate per request; real S3 copy rates vary with object layout, region pair and load.';

function printMany(r: ManyResult, print: (l: string) => void): void {
  const s = r.settings;
  print('');
  print(
    `Many objects: ${num(s.objects)} objects, ${(r.sourceBytes / MiB).toFixed(1)} MiB (mean ${s.objectKb} KiB, ±20%), ` +
      `us-east-1 → eu-west-1 on one moto; every contender through the counting proxy. Ceiling = raw CopyObject ` +
      `from ${s.rawCallers} callers.`,
  );
  print(
    renderTable(
      ['contender', 'seconds', 'objects/s', 'MiB/s', 'vs ceiling', 'requests/object', 'requests/s', 'check'],
      r.runs.map((x) => [
        x.name,
        x.seconds.toFixed(1),
        Math.round(x.objectsPerSecond),
        x.mibPerSecond.toFixed(1),
        ratio(x.ratioToCeiling),
        x.requestsPerObject.toFixed(2),
        Math.round(x.requests / x.seconds),
        x.check.ok
          ? `${x.check.found}/${x.check.expected} ok`
          : `FAILED ${x.check.found}/${x.check.expected} (size ${x.check.wrongSize}, ETag ${x.check.wrongEtag})`,
      ]),
    ),
  );
  print(
    '  AWS requests per object, by service:method (s3:PUT = CopyObject here, s3:GET = ListObjectsV2 or GetObjectTagging):',
  );
  for (const x of r.runs) print(`    ${x.name}: ${perObject(x.requestCounts, s.objects)}`);
  const rep = r.runs.find((x) => x.copier !== undefined);
  if (rep?.copier) {
    print(
      `  Replicator: ${r.messages} SQS messages (capture's packing), ${s.invocations} concurrent invocations, each ` +
        `copying its ${s.batchSize} messages in parallel with COPY_CONCURRENCY ${s.copy.concurrency} ` +
        `(≤ ${s.batchSize * s.copy.concurrency} objects in flight per invocation); ${rep.copier.applied} copied and ` +
        `verified (${rep.copier.unverified} by size only), ${rep.copier.failed} failed.`,
    );
  }
  print('  Checks: each target listed straight from moto; count, every size and every ETag compared with the source.');
  print(
    '  requests/s: the AWS requests each contender had moto answer per second. moto answers one request at a time, so a ' +
      "contender's objects/s is about its requests/s ÷ its requests per object: fewer requests per object, not more " +
      'callers, is what moves it.',
  );
}

function printLarge(r: LargeResult, print: (l: string) => void): void {
  const s = r.settings;
  const find = (mode: string, modelled: boolean) => r.passes.find((p) => p.mode === mode && p.modelled === modelled)!;
  print('');
  print(
    `Large object: ${num(r.bytes / MiB)} MiB, us-east-1 → eu-west-1, by Replicator's copier; S3 copy modelled at ` +
      `${s.copyMbps} MiB/s per request (rate proxy), beside moto's raw times.`,
  );
  const rows = (['single', 'multipart'] as const).map((mode) => {
    const raw = find(mode, false);
    const mod = find(mode, true);
    return [
      mode === 'single'
        ? 'one CopyObject (threshold raised to 5 GiB)'
        : `multipart: ${mod.parts} × ${mod.partSizeMb} MiB parts, ${mod.concurrency} at a time`,
      raw.seconds.toFixed(2),
      mod.seconds.toFixed(2),
      (r.bytes / MiB / mod.seconds).toFixed(0),
      mode === 'single' ? r.ideal.singleSeconds.toFixed(2) : r.ideal.multipartSeconds.toFixed(2),
      mod.copyPhaseSeconds.toFixed(2),
      (mod.otherSecondsUnscaled - mod.completeSecondsMoto).toFixed(2),
      mod.completeSecondsMoto > 0 ? mod.completeSecondsMoto.toFixed(2) : '-',
      mod.timeScale,
      mod.motoBound,
      raw.ok && mod.ok ? 'size ok' : 'FAILED',
    ];
  });
  print(
    renderTable(
      [
        'copy',
        'moto raw s',
        'modelled s',
        'modelled MiB/s',
        'model only s',
        'copy phase s',
        'other s',
        'moto Complete s (left out)',
        'time scale',
        'moto-bound',
        'check',
      ],
      rows,
    ),
  );
  print(
    `  speed-up of the multipart copy, modelled: ${ratio(r.speedUp.modelled)} (copy phases alone ` +
      `${ratio(r.speedUp.modelledCopyPhase)}, the model's arithmetic ${ratio(r.ideal.speedUp)}; with moto's ` +
      `CompleteMultipartUpload counted ${ratio(r.speedUp.modelledWithMotoComplete)}). On moto's raw times: ` +
      `${ratio(r.speedUp.raw)}.`,
  );
  for (const p of r.passes.filter((x) => x.modelled)) {
    const ops = Object.entries(p.operations)
      .map(([op, o]) => `${op} ${o.count} (${o.motoSeconds.toFixed(2)} s)`)
      .join(', ');
    print(`  ${p.mode} (modelled) requests, with moto's answer time summed: ${ops}`);
  }
  print(
    '  modelled s = copy phase (first copy request in → last copy response out, ÷ time scale) + other s (HEADs, ' +
      'create, tombstone check, as moto ran them). model only = bytes ÷ rate per request, parts scheduled ' +
      'COPY_CONCURRENCY at a time.',
  );
  print(
    "  moto Complete s: moto's CompleteMultipartUpload concatenates the parts' bytes in its own memory and files; " +
      "S3 copies no data there (and combines a full-object CRC from the parts'), and the model has no rate for it, " +
      'so it is left out of modelled s and shown here.',
  );
  print(
    "  time scale k: copy delays × k so that moto's own serialized copy work fits inside them (moto re-reads the " +
      'whole source for each part); moto-bound = copy responses moto still held past their modelled release (0: ' +
      'the model, not moto, timed every copy).',
  );
  print(`  (the object was created in moto by a ${s.uploadPartMb} MiB-part upload in ${r.uploadSeconds.toFixed(1)} s)`);
}

/** Runs the S3 benchmark. */
export async function runS3Benchmark(print: (line: string) => void = (l) => console.log(l)): Promise<void> {
  const copy = copySettingsFromEnv(process.env);
  const many: ManySettings = {
    objects: Math.round(envNumber('BENCH_S3_OBJECTS', 1000)),
    objectKb: envNumber('BENCH_S3_OBJECT_KB', 200),
    invocations: Math.round(envNumber('BENCH_S3_INVOCATIONS', 4)),
    batchSize: 10,
    envelopesPerMessage: 25,
    rawCallers: Math.round(envNumber('BENCH_S3_RAW_CALLERS', 16)),
    copy,
  };
  const timeScaleText = process.env.BENCH_S3_TIME_SCALE;
  const large: LargeSettings = {
    sizeMb: envNumber('BENCH_S3_LARGE_MB', 1024),
    copyMbps: envNumber('BENCH_S3_COPY_MBPS', 100),
    ...(timeScaleText ? { timeScale: Math.max(1, envNumber('BENCH_S3_TIME_SCALE', 1)) } : {}),
    uploadPartMb: 64,
    copy,
  };
  const skipMany = envFlag('BENCH_S3_SKIP_OBJECTS');
  const skipLarge = envFlag('BENCH_S3_SKIP_LARGE');
  const results: Record<string, unknown> = {
    benchmark: 's3',
    ...runEnvironment(),
    settings: { objects: many, large, skipMany, skipLarge },
    notes: [
      MOTO_NOTE,
      'Units: KiB = 1,024 B, MiB = 1,048,576 B; rates are MiB/s.',
      'Many objects: each contender went through the counting proxy (one extra local hop for all), seeding and checks went straight to moto and are not counted. Seconds include process start-up for aws and rclone.',
      "Replicator's copier ran in-process: messages built by S3 capture's own envelope builder and packer from moto-style ObjectCreated:Put notifications, copied by copyEnvelopes with S3SourceBucket/S3TargetBucket/S3TombstoneStore on real clients, each emulated invocation with its own clients (as its own Lambda container).",
      "Large object: requests flow copier → counting proxy → rate proxy → moto. The rate proxy holds each copy request's response (CopyObject, UploadPartCopy) until bytes ÷ rate × time scale has passed since it arrived, or until moto answers if that is later (counted as moto-bound).",
      "Large object, modelled seconds = copy phase ÷ time scale + the pass's other requests as moto ran them, except moto's CompleteMultipartUpload (moto concatenates the parts' bytes; S3 copies no data there): its time is in completeSecondsMoto, and speedUp.modelledWithMotoComplete counts it.",
    ],
  };
  const save = () => print(`\nresults written to ${writeResults('s3', results)}`);
  print(`settings: ${JSON.stringify(results.settings)}`);

  const motoLog = join(tmpdir(), `bench-s3-moto-${process.pid}.log`);
  let moto: MotoServer | undefined;
  const proxies: (CountingProxy | RateProxy)[] = [];
  try {
    moto = await startMoto({ logFile: motoLog });
    print(`moto_server pid ${moto.pid} on ${moto.endpoint} (log ${motoLog})`);
    results.moto = { pid: moto.pid };
    if (!skipMany) {
      await createStateTable(dynamo(moto.endpoint, SOURCE_REGION));
      const counting = await startCountingProxy(moto.endpoint);
      proxies.push(counting);
      const r = await runManyBenchmark(moto.endpoint, counting, many, print);
      results.objects = r;
      printMany(r, print);
    }
    if (!skipLarge) {
      if (skipMany) await createStateTable(dynamo(moto.endpoint, SOURCE_REGION));
      const rate = await startRateProxy(moto.endpoint);
      const counting = await startCountingProxy(rate.endpoint);
      proxies.push(rate, counting);
      print('');
      const r = await runLargeBenchmark(moto.endpoint, counting, rate, large, print);
      results.large = r;
      printLarge(r, print);
    }
    print('');
    print(MOTO_NOTE);
  } catch (err) {
    results.error = err instanceof Error ? err.message : String(err);
    save();
    throw err;
  } finally {
    for (const p of proxies.reverse()) await p.stop().catch(() => undefined);
    if (moto) {
      print(`stopping moto_server pid ${moto.pid} ...`);
      await moto.stop();
    }
  }
  save();
}
