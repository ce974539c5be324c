/**
 * Part 2 of the S3 benchmark: one large object (1 GiB by default) copied by Replicator's copier as a
 * parallel multipart copy (planCopy's parts, COPY_CONCURRENCY at a time) and as one CopyObject (the same
 * copier with its multipart threshold raised to S3's 5 GiB CopyObject limit).
 *
 * moto copies in memory and serializes the work (it even re-reads the whole source for every part), so its
 * times say nothing about S3. Each copy therefore runs twice: straight through to moto (moto's raw time),
 * and through the rate proxy (bench/s3-rate-proxy.ts), which holds each copy request's response until
 * bytes ÷ rate has passed — S3's server-side copy modelled as a fixed rate per request. Where moto's own work
 * would outlast the modelled delay, the modelled pass is time-dilated (copy delays × k, the copy phase's
 * elapsed time ÷ k; see the proxy's header) and checked: no response may have been held by moto past its
 * modelled release. The other requests of a pass (HEADs, create, the tombstone check) are not modelled:
 * they count as moto ran them, except CompleteMultipartUpload, where moto concatenates the parts' bytes
 * (seconds per GiB) and S3 copies none: its moto time is reported beside the figure, not in it.
 *
 * Requests flow: copier → counting proxy → rate proxy → moto.
 */
import { randomFillSync } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { type CopySettings, MAX_SINGLE_COPY_BYTES, planCopy } from '../functions/s3/copy';
import type { CountingProxy } from '../src/local/counting-proxy';
import { nowMs } from './common';
import {
  type CopyTally,
  captureMessages,
  copyContainer,
  copyMessage,
  createBucket,
  emptyTally,
  MiB,
  SOURCE_REGION,
  type SourceObjectInfo,
  s3,
  TARGET_REGION,
} from './s3-common';
import type { ProxiedRequest, RateProxy } from './s3-rate-proxy';

/** Settings of part 2. */
export interface LargeSettings {
  readonly sizeMb: number;
  /** Modelled server-side copy rate of one request, MiB/s. */
  readonly copyMbps: number;
  /** Time dilation of the modelled passes; undefined: chosen from moto's raw copy times. */
  readonly timeScale?: number;
  /** Part size of the upload that creates the object, MiB. */
  readonly uploadPartMb: number;
  readonly copy: CopySettings;
}

/** One pass: one copy of the object. */
export interface LargePass {
  readonly mode: 'single' | 'multipart';
  readonly modelled: boolean;
  /** Wall-clock seconds the copier took (dilated for modelled passes). */
  readonly wallSeconds: number;
  /** Time dilation k (1 for raw passes). */
  readonly timeScale: number;
  /**
   * The figure to read. Raw passes: the wall-clock time. Modelled passes: copy phase ÷ timeScale + the rest of
   * the pass as moto ran it, except moto's CompleteMultipartUpload (see `completeSecondsMoto`).
   */
  readonly seconds: number;
  readonly mibPerSecond: number;
  readonly parts: number;
  readonly partSizeMb: number | null;
  readonly concurrency: number;
  /** Copy requests (CopyObject / UploadPartCopy) through the rate proxy. */
  readonly copyRequests: number;
  /** Their modelled delays at time scale 1, summed and the largest, s. */
  readonly modelSecondsSum: number | null;
  /** moto's answer times of the copy requests (dilated pass: at scale k), s. */
  readonly motoSecondsMax: number;
  readonly motoSecondsSum: number;
  /** Copy responses moto held past their modelled release (must be 0 for the model to be the figure). */
  readonly motoBound: number;
  /** First copy request in → last copy response out, s (÷ timeScale). */
  readonly copyPhaseSeconds: number;
  /** The rest of the pass (HEADs, create/complete, tombstone check) as moto ran it, s, unscaled. */
  readonly otherSecondsUnscaled: number;
  /**
   * moto's time for CompleteMultipartUpload, s: moto concatenates the parts' bytes in its own memory and temporary
   * files (about 13 s per GiB on the machine this was written on). S3 copies no data at that step (the parts are in place and a full-object CRC
   * is combined from the parts' CRCs), and the model has no rate for it: a modelled pass leaves it out of
   * `seconds`, and says so.
   */
  readonly completeSecondsMoto: number;
  /** Every request through the rate proxy by operation: how many, and moto's answer time summed, s. */
  readonly operations: Record<string, { count: number; motoSeconds: number }>;
  readonly requestCounts: Record<string, number>;
  readonly copier: CopyTally;
  readonly targetSize: number;
  readonly ok: boolean;
  /** Earlier attempts of a modelled pass that were moto-bound and re-run with a larger time scale. */
  readonly discardedAttempts?: { timeScale: number; motoBound: number; seconds: number }[];
}

/** What part 2 found. */
export interface LargeResult {
  readonly settings: LargeSettings;
  readonly bytes: number;
  readonly uploadSeconds: number;
  readonly passes: LargePass[];
  /** The model's own arithmetic: copy time only, per request bytes ÷ rate, parts scheduled COPY_CONCURRENCY at a time. */
  readonly ideal: { singleSeconds: number; multipartSeconds: number; speedUp: number };
  /**
   * single ÷ multipart: modelled passes (the figure), their copy phases only, the modelled passes with moto's
   * CompleteMultipartUpload time counted, and moto's raw passes.
   */
  readonly speedUp: { modelled: number; modelledCopyPhase: number; modelledWithMotoComplete: number; raw: number };
}

const SOURCE = 'bench-large-src';
const KEY = 'checkpoints/run-42/model-step-100000.ckpt';

/** Creates the object by a multipart upload of one reused buffer, straight into moto. */
async function upload(motoEndpoint: string, bytes: number, partBytes: number): Promise<SourceObjectInfo> {
  const client = s3(motoEndpoint, SOURCE_REGION, { checksums: false });
  const buffer = randomFillSync(Buffer.alloc(Math.min(partBytes, bytes)));
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: SOURCE, Key: KEY }));
  const parts: { PartNumber: number; ETag?: string }[] = [];
  for (let start = 0, n = 1; start < bytes; start += partBytes, n++) {
    const len = Math.min(partBytes, bytes - start);
    const res = await client.send(
      new UploadPartCommand({
        Bucket: SOURCE,
        Key: KEY,
        UploadId,
        PartNumber: n,
        Body: len === buffer.length ? buffer : buffer.subarray(0, len),
      }),
    );
    parts.push({ PartNumber: n, ETag: res.ETag });
  }
  const done = await client.send(
    new CompleteMultipartUploadCommand({ Bucket: SOURCE, Key: KEY, UploadId, MultipartUpload: { Parts: parts } }),
  );
  return { key: KEY, size: bytes, eTag: (done.ETag ?? '').replace(/"/g, ''), putAt: Date.now() };
}

/** The model's copy time of a plan: each request bytes ÷ rate, parts taken `concurrency` at a time. */
export function idealSeconds(size: number, settings: CopySettings, mbps: number): number {
  const plan = planCopy(size, settings);
  const rate = mbps * MiB;
  if (plan.mode === 'single') return size / rate;
  const workers = new Array<number>(Math.min(settings.concurrency, plan.parts.length)).fill(0);
  for (const p of plan.parts) {
    const i = workers.indexOf(Math.min(...workers));
    workers[i] = workers[i]! + (p.end - p.start + 1) / rate;
  }
  return Math.max(...workers);
}

interface PassOptions {
  readonly mode: 'single' | 'multipart';
  readonly settings: CopySettings;
  readonly modelled: boolean;
  readonly timeScale: number;
  readonly bucket: string;
}

/** Runs part 2. `counting` forwards to `rate`, which forwards to moto. */
export async function runLargeBenchmark(
  motoEndpoint: string,
  counting: CountingProxy,
  rate: RateProxy,
  settings: LargeSettings,
  print: (l: string) => void,
): Promise<LargeResult> {
  const bytes = Math.round(settings.sizeMb * MiB);
  const single: CopySettings = { ...settings.copy, multipartThreshold: MAX_SINGLE_COPY_BYTES };
  const multipart = settings.copy;
  if (bytes > MAX_SINGLE_COPY_BYTES) throw new Error(`BENCH_S3_LARGE_MB above 5 GiB: S3 cannot CopyObject that`);
  if (planCopy(bytes, multipart).mode !== 'multipart') {
    throw new Error(
      `a ${settings.sizeMb} MiB object is at or below the multipart threshold (${multipart.multipartThreshold / MiB} MiB): raise BENCH_S3_LARGE_MB or lower MULTIPART_THRESHOLD`,
    );
  }
  const direct = { us: s3(motoEndpoint, SOURCE_REGION), eu: s3(motoEndpoint, TARGET_REGION) };
  await createBucket(direct.us, SOURCE, SOURCE_REGION);
  print(`[large] uploading a ${settings.sizeMb} MiB object in ${settings.uploadPartMb} MiB parts into moto ...`);
  const t0 = nowMs();
  const object = await upload(motoEndpoint, bytes, Math.round(settings.uploadPartMb * MiB));
  const uploadSeconds = (nowMs() - t0) / 1000;
  print(`  uploaded in ${uploadSeconds.toFixed(1)} s (ETag ${object.eTag})`);
  const [body] = captureMessages(SOURCE, [object], 25);

  let bucketNo = 0;
  const pass = async (o: PassOptions): Promise<LargePass> => {
    await createBucket(direct.eu, o.bucket, TARGET_REGION);
    rate.configure(o.modelled ? { mbps: settings.copyMbps, timeScale: o.timeScale } : { mbps: null });
    rate.reset();
    counting.reset();
    const container = copyContainer(counting.endpoint, SOURCE, o.bucket, o.settings);
    const tally = emptyTally();
    const start = nowMs();
    await copyMessage(container, body!, tally);
    const wallSeconds = (nowMs() - start) / 1000;
    const log = rate.log();
    const head = await direct.eu.send(new HeadObjectCommand({ Bucket: o.bucket, Key: KEY }));
    // Free moto's copy (a GiB each) before the next pass.
    await direct.eu.send(new DeleteObjectCommand({ Bucket: o.bucket, Key: KEY }));
    const copies = log.filter((r) => r.kind === 'copy');
    const plan = planCopy(bytes, o.settings);
    const span = copySpan(copies);
    const targetSize = head.ContentLength ?? -1;
    const otherSeconds = Math.max(0, wallSeconds - span / 1000);
    const completeSeconds =
      log.filter((r) => r.op === 'CompleteMultipartUpload').reduce((t, r) => t + r.motoMs, 0) / 1000;
    const seconds = o.modelled ? span / 1000 / o.timeScale + Math.max(0, otherSeconds - completeSeconds) : wallSeconds;
    return {
      mode: o.mode,
      modelled: o.modelled,
      wallSeconds,
      timeScale: o.timeScale,
      seconds,
      mibPerSecond: bytes / MiB / seconds,
      parts: plan.mode === 'multipart' ? plan.parts.length : 1,
      partSizeMb: plan.mode === 'multipart' ? plan.partSize / MiB : null,
      concurrency: o.settings.concurrency,
      copyRequests: copies.length,
      modelSecondsSum: o.modelled ? copies.reduce((s, r) => s + (r.modelMs ?? 0), 0) / 1000 : null,
      motoSecondsMax: Math.max(0, ...copies.map((r) => r.motoMs)) / 1000,
      motoSecondsSum: copies.reduce((s, r) => s + r.motoMs, 0) / 1000,
      motoBound: copies.filter((r) => r.motoBound).length,
      copyPhaseSeconds: span / 1000 / o.timeScale,
      otherSecondsUnscaled: otherSeconds,
      completeSecondsMoto: completeSeconds,
      operations: byOperation(log),
      requestCounts: counting.counts(),
      copier: tally,
      targetSize,
      ok: tally.applied === 1 && tally.failed === 0 && targetSize === bytes,
    };
  };
  const describe = (p: LargePass) =>
    `${p.seconds.toFixed(2)} s` +
    (p.timeScale > 1 ? ` (${p.wallSeconds.toFixed(1)} s at time scale ${p.timeScale})` : '') +
    `, ${p.copyRequests} copy requests, moto max ${p.motoSecondsMax.toFixed(2)} s per request` +
    (p.modelled ? `, moto-bound responses ${p.motoBound}` : '') +
    `; target ${p.targetSize === bytes ? 'size matches' : `size ${p.targetSize} ≠ ${bytes}`}` +
    (p.copier.failed > 0 ? `; FAILED: ${p.copier.firstError}` : '');

  const passes: LargePass[] = [];
  const raw: Partial<Record<'single' | 'multipart', LargePass>> = {};
  for (const mode of ['single', 'multipart'] as const) {
    print(`[large] ${mode}, moto's raw time ...`);
    const p = await pass({
      mode,
      settings: mode === 'single' ? single : multipart,
      modelled: false,
      timeScale: 1,
      bucket: `bench-large-${bucketNo++}`,
    });
    print(`  ${describe(p)}`);
    raw[mode] = p;
    passes.push(p);
  }
  for (const mode of ['single', 'multipart'] as const) {
    const s = mode === 'single' ? single : multipart;
    const plan = planCopy(bytes, s);
    const smallestCopy = plan.mode === 'single' ? bytes : Math.min(...plan.parts.map((x) => x.end - x.start + 1));
    const minModelMs = (smallestCopy / (settings.copyMbps * MiB)) * 1000;
    // Long enough that moto's slowest raw answer (its queueing included) fits in the shortest modelled delay.
    let scale = settings.timeScale ?? Math.max(1, Math.ceil((1.25 * raw[mode]!.motoSecondsMax * 1000) / minModelMs));
    const discarded: NonNullable<LargePass['discardedAttempts']> = [];
    for (let attempt = 0; ; attempt++) {
      print(`[large] ${mode}, modelled at ${settings.copyMbps} MiB/s per copy request, time scale ${scale} ...`);
      const p = await pass({
        mode,
        settings: s,
        modelled: true,
        timeScale: scale,
        bucket: `bench-large-${bucketNo++}`,
      });
      print(`  ${describe(p)}`);
      if (p.motoBound === 0 || settings.timeScale !== undefined || attempt >= 2) {
        passes.push(discarded.length > 0 ? { ...p, discardedAttempts: discarded } : p);
        break;
      }
      discarded.push({ timeScale: scale, motoBound: p.motoBound, seconds: p.seconds });
      scale *= 2;
      print(`  moto held ${p.motoBound} responses past the model: again with time scale ${scale}`);
    }
  }
  const find = (mode: string, modelled: boolean) => passes.find((p) => p.mode === mode && p.modelled === modelled)!;
  const idealSingle = idealSeconds(bytes, single, settings.copyMbps);
  const idealMulti = idealSeconds(bytes, multipart, settings.copyMbps);
  return {
    settings,
    bytes,
    uploadSeconds,
    passes,
    ideal: { singleSeconds: idealSingle, multipartSeconds: idealMulti, speedUp: idealSingle / idealMulti },
    speedUp: {
      modelled: find('single', true).seconds / find('multipart', true).seconds,
      modelledCopyPhase: find('single', true).copyPhaseSeconds / find('multipart', true).copyPhaseSeconds,
      modelledWithMotoComplete:
        (find('single', true).seconds + find('single', true).completeSecondsMoto) /
        (find('multipart', true).seconds + find('multipart', true).completeSecondsMoto),
      raw: find('single', false).seconds / find('multipart', false).seconds,
    },
  };
}

/** Requests by operation: count and moto's answer time summed (s). */
function byOperation(log: readonly ProxiedRequest[]): Record<string, { count: number; motoSeconds: number }> {
  const out: Record<string, { count: number; motoSeconds: number }> = {};
  for (const r of log) {
    out[r.op] ??= { count: 0, motoSeconds: 0 };
    const o = out[r.op]!;
    o.count++;
    o.motoSeconds += r.motoMs / 1000;
  }
  return out;
}

/** First copy request's arrival → last copy response's release, ms (0 without copies). */
function copySpan(copies: readonly ProxiedRequest[]): number {
  if (copies.length === 0) return 0;
  const first = Math.min(...copies.map((r) => r.arrivedMs));
  const last = Math.max(...copies.map((r) => r.arrivedMs + r.releasedMs));
  return last - first;
}
