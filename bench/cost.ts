/**
 * Cost benchmark (`npm run bench -- cost`): no cloud. Reads the request counts the DynamoDB and S3 benchmarks
 * measured (bench/results/dynamodb.json, bench/results/s3.json), prices every component with the list prices of
 * bench/prices.ts (on-demand, us-east-1 → eu-west-1), and prints Markdown tables with the arithmetic beside
 * DynamoDB Global Tables and S3 Replication (with and without Replication Time Control). Writes
 * bench/results/cost.json.
 *
 * What the results do not hold is derived from the design and said so where it is used: Lambda run times (moto
 * answers in one process, so its times say nothing of AWS's; they are modelled from the measured batch sizes,
 * the cores' measured CPU rates and assumed request latencies), SQS's 64 KB billing chunks (from the measured
 * envelope size), and for S3 every SQS and Lambda figure (the S3 benchmark runs the copier in process).
 *
 * Settings (environment variables): BENCH_COST_DYNAMODB (the DynamoDB results file, default
 * bench/results/dynamodb.json), BENCH_COST_S3 (the S3 results file, default bench/results/s3.json),
 * BENCH_COST_S3_OBJECTS (a results file of `npm run bench -- s3` whose many-objects part replaces that of
 * BENCH_COST_S3, e.g. a `BENCH_S3_SKIP_LARGE=1` run; the large-object pass stays BENCH_COST_S3's).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { copySettingsFromEnv, planCopy } from '../functions/s3/copy';
import { PAIR_DEFAULTS } from '../lib/pair-types/dynamodb-schema';
import { S3_CAPTURE_BATCH_SIZE } from '../lib/pair-types/s3';
import { S3_PAIR_DEFAULTS } from '../lib/pair-types/s3-schema';
import { markdownTable, RESULTS_DIR, runEnvironment, writeResults } from './common';
import type { CoreResult } from './dynamodb-core';
import type { LocalResult, PhaseResult } from './dynamodb-local';
import { PRICES, type Price, type PriceName } from './prices';
import type { LargePass, LargeResult } from './s3-large';
import type { ManyResult, ManyRun } from './s3-many';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Binary gigabyte: S3 bills storage in them; transfer is counted in them too (the difference is 7%). */
const GiB = 1024 * MiB;

/**
 * How Replicator's functions are deployed (lib/constructs/replication-pair.ts, replicator-function.ts,
 * functions/dynamodb/apply.ts): what turns invocations into GB-seconds.
 */
export const DEPLOYED = {
  /** ReplicatorFunction sets no architecture, so Lambda runs x86_64. */
  architecture: 'x86_64',
  captureMemoryMb: 512,
  /** Apply (tables) and copy (buckets). */
  applierMemoryMb: 1024,
  /** Envelopes an apply invocation writes at once (applyEnvelopes' default concurrency). */
  applyConcurrency: 32,
  /** Messages per apply/copy invocation (the SQS mapping's batch size). */
  applyBatchSize: PAIR_DEFAULTS.applyBatchSize,
  /** Stream records per capture invocation at most (DynamoDB). */
  captureBatchSize: PAIR_DEFAULTS.captureBatchSize,
  /**
   * Events per S3 capture invocation under load: the mapping's batch, filled within its window (at least 1 s
   * whatever `batchWindowSeconds` says: Lambda needs one for an SQS batch above 10).
   */
  s3CaptureEventsPerInvocation: S3_CAPTURE_BATCH_SIZE,
  /** Objects of one message copied at once, and parts of one object (COPY_CONCURRENCY). */
  copyConcurrency: S3_PAIR_DEFAULTS.copyConcurrency,
  /** Lambda gives a function one vCPU at 1,769 MB and proportionally less below (the cores ran on one core). */
  fullVcpuMb: 1769,
} as const;

/**
 * Assumptions (not prices, not measured here): the latencies that Lambda run times are modelled with, and the
 * bytes a cross-region request carries besides its payload.
 */
export const ASSUMED = {
  /** A request from us-east-1 to a service in eu-west-1 and its answer (~70-75 ms round trip + the service). */
  crossRegionRequestMs: 80,
  /** A request to SQS or the state table in the function's own Region. */
  sameRegionRequestMs: 10,
  /** HTTP headers of a request (SigV4 authorization, the role's session token, user agent) and its framing. */
  requestOverheadBytes: 2000,
  /** The answer to a write or a HEAD, headers included. */
  responseBytes: 500,
  /** What Global Tables sends per replicated 1 KB item (its own overhead is not published). */
  globalTablesBytesPerItem: 1024,
  /** The item size the DynamoDB tables are for: 1 WRU per target write, Replicator's `rep:` attributes included. */
  itemBytes: 1024,
  /** Objects in flight in a full copy invocation: 10 messages at once, COPY_CONCURRENCY objects of each. */
  copyObjectsInFlight: 10 * S3_PAIR_DEFAULTS.copyConcurrency,
} as const;

/** SQS bills every 64 KB chunk of a request's payload (or a response's messages) as one request. */
const SQS_CHUNK_BYTES = 64 * KiB;

/** Billed SQS requests for one call carrying `bytes` of messages. */
function sqsBilled(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / SQS_CHUNK_BYTES));
}

// ---------------------------------------------------------------------------------------------------------
// Formatting

/** A number with `digits` significant digits, thousands separated, never in exponent notation. */
export function sig(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return '-';
  if (v === 0) return '0';
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(Math.abs(v))));
  return v.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** A price as its page writes it: `$0.625`, `$0.0000166667`. */
function priceText(p: Price): string {
  return `$${p.usd.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 10 })}`;
}

/** Dollars for a table cell: 3 significant digits below $10, cents above. */
export function dollars(v: number): string {
  if (v === 0) return '$0';
  return v >= 10 ? `$${v.toFixed(2)}` : `$${sig(v, 3)}`;
}

// ---------------------------------------------------------------------------------------------------------
// Cost lines

/** One priced component: a quantity times a price, with the arithmetic written out. */
export interface CostLine {
  readonly component: string;
  /** The quantity, in `unit` (e.g. 0.997 "M WRU", 1,000 "requests", 3.35 "GB"). */
  readonly quantity: number;
  readonly unit: string;
  readonly price: PriceName;
  readonly usd: number;
  /** "0.997 M WRU × $0.7068/M = $0.705" */
  readonly arithmetic: string;
  /** Paid once per source change whatever the number of targets (capture, queue, state table, apply runs). */
  readonly shared: boolean;
  /** Where the quantity comes from. */
  readonly basis: string;
}

/** How a price's unit divides a quantity: "/M" for a quantity already in millions, "/1,000" for a count. */
type Per = '/M' | '/1,000' | '/GB' | '/GB-s';

const PER_DIVISOR: Record<Per, number> = { '/M': 1, '/1,000': 1000, '/GB': 1, '/GB-s': 1 };

function line(
  component: string,
  quantity: number,
  unit: string,
  price: PriceName,
  per: Per,
  shared: boolean,
  basis: string,
): CostLine {
  const p: Price = PRICES[price];
  const usd = (quantity / PER_DIVISOR[per]) * p.usd;
  const q = `${sig(quantity)} ${unit}`;
  const arithmetic = p.usd === 0 ? `${q} × $0 (free) = $0` : `${q} × ${priceText(p)}${per} = ${dollars(usd)}`;
  return { component, quantity, unit, price, usd, arithmetic, shared, basis };
}

const total = (lines: readonly CostLine[]) => lines.reduce((s, l) => s + l.usd, 0);

// ---------------------------------------------------------------------------------------------------------
// DynamoDB

/** What the DynamoDB model reads of one measured phase, per source change. */
export interface DynamoPhaseFigures {
  readonly phase: string;
  readonly sourceWrites: number;
  readonly targets: number;
  readonly writeRate: number;
  /** Target PutItem + DeleteItem per source change per target. */
  readonly targetWritesPerTarget: number;
  /** State-table UpdateItem (tombstones of deletes) per source change. */
  readonly tombstoneWrites: number;
  /** State-table keys read consistently per source change: at most one per put written. */
  readonly tombstoneReads: number;
  readonly streamReads: number;
  readonly sendCalls: number;
  readonly envelopesPerSend: number;
  readonly receiveCalls: number;
  readonly emptyReceiveCalls: number;
  readonly envelopesPerReceive: number;
  readonly deleteCalls: number;
  /** Billed SQS requests per source change, 64 KB chunks counted. */
  readonly sqsBilled: number;
  readonly captureInvocations: number;
  readonly applyInvocations: number;
  readonly captureSeconds: number;
  readonly applySeconds: number;
}

/** Per-source-change figures of a phase: request counts as measured, Lambda run times modelled. */
export function dynamoPhaseFigures(p: PhaseResult, core: CoreResult): DynamoPhaseFigures {
  const n = p.sourceWrites;
  const t = p.perTarget.length;
  const c = (name: string) => p.requestCounts[name] ?? 0;
  const puts = c('dynamodb:PutItem');
  const sends = c('sqs:SendMessageBatch');
  const receives = c('sqs:ReceiveMessage');
  const deletes = c('sqs:DeleteMessageBatch');
  // One SendMessageBatch per capture invocation: a stream batch (≤ 100 records of 1 KB) packs into ≤ 4 messages,
  // one call. The local runtime deletes each invocation's messages with one DeleteMessageBatch, as Lambda does.
  const envelopesPerSend = n / Math.max(1, sends);
  const envelopesPerReceive = n / Math.max(1, deletes);
  const envelopeBytes = core.envelopeBytesAvg + 1;
  const empty = Math.max(0, receives - deletes);
  const billed =
    sends * sqsBilled(envelopesPerSend * envelopeBytes) +
    deletes * sqsBilled(envelopesPerReceive * envelopeBytes) +
    empty +
    deletes;
  const sr = ASSUMED.sameRegionRequestMs / 1000;
  const xr = ASSUMED.crossRegionRequestMs / 1000;
  // CPU: the cores' measured rates on one core, scaled to the share of a vCPU the function's memory buys.
  const captureCpu =
    (envelopesPerSend / core.capture.recordsPerSecond) * (DEPLOYED.fullVcpuMb / DEPLOYED.captureMemoryMb);
  const applyCpu =
    (envelopesPerReceive / core.parseAndApply.recordsPerSecond) * (DEPLOYED.fullVcpuMb / DEPLOYED.applierMemoryMb);
  const rounds = Math.ceil(envelopesPerReceive / DEPLOYED.applyConcurrency);
  return {
    phase: p.phase,
    sourceWrites: n,
    targets: t,
    writeRate: p.writeRate,
    targetWritesPerTarget: (puts + c('dynamodb:DeleteItem')) / (n * t),
    tombstoneWrites: c('dynamodb:UpdateItem') / n,
    tombstoneReads: puts / t / n,
    streamReads: (c('dynamodbstreams:GetRecords') + c('dynamodbstreams:DescribeStream')) / n,
    sendCalls: sends / n,
    envelopesPerSend,
    receiveCalls: receives / n,
    emptyReceiveCalls: empty / n,
    envelopesPerReceive,
    deleteCalls: deletes / n,
    sqsBilled: billed / n,
    captureInvocations: sends / n,
    applyInvocations: deletes / n,
    // The send to SQS after the CPU work.
    captureSeconds: captureCpu + sr,
    // Rounds of `applyConcurrency` target writes, the state table's tombstone writes (deletes) and check (puts).
    applySeconds: applyCpu + rounds * xr + 2 * sr,
  };
}

/** The cost lines of replicating a million source changes to one target (a one-target pair). */
export function dynamoLines(f: DynamoPhaseFigures, core: CoreResult): CostLine[] {
  const M = 1e6;
  const wireBytes = core.envelopeBytesAvg + ASSUMED.requestOverheadBytes + ASSUMED.responseBytes;
  const gbSeconds =
    f.captureInvocations * f.captureSeconds * (DEPLOYED.captureMemoryMb / 1024) +
    f.applyInvocations * f.applySeconds * (DEPLOYED.applierMemoryMb / 1024);
  return [
    line(
      'target writes (PutItem, DeleteItem; eu-west-1)',
      f.targetWritesPerTarget,
      'M WRU',
      'dynamodbWriteEuWest1',
      '/M',
      false,
      `${sig(f.targetWritesPerTarget)} conditional writes per change and target, 1 WRU each (1 KB; a refused condition costs it too)`,
    ),
    line(
      'transfer to and from eu-west-1',
      (f.targetWritesPerTarget * wireBytes * M) / GiB,
      'GB',
      'interRegionTransfer',
      '/GB',
      false,
      `${sig(wireBytes)} B per target write: the 1 KB image as AttributeValue JSON (${sig(core.envelopeBytesAvg)} B, measured) + ${sig(ASSUMED.requestOverheadBytes)} B of headers + a ${ASSUMED.responseBytes} B answer (assumed)`,
    ),
    line(
      'state table: tombstone writes (us-east-1)',
      f.tombstoneWrites,
      'M WRU',
      'dynamodbWriteUsEast1',
      '/M',
      true,
      `${sig(f.tombstoneWrites)} UpdateItem per change (one per delete)`,
    ),
    line(
      'state table: tombstone checks (us-east-1)',
      f.tombstoneReads,
      'M RRU',
      'dynamodbReadUsEast1',
      '/M',
      true,
      `≤ ${sig(f.tombstoneReads)} keys per change read consistently (1 RRU each, found or not): one per put written`,
    ),
    line(
      'SQS requests (64 KB chunks)',
      f.sqsBilled,
      'M requests',
      'sqsStandardRequest',
      '/M',
      true,
      `SendMessageBatch ${sig(f.sendCalls)} (${sig(f.envelopesPerSend)} envelopes each), ReceiveMessage ${sig(f.receiveCalls)} (${sig(f.emptyReceiveCalls)} empty), DeleteMessageBatch ${sig(f.deleteCalls)} per change; ${sig(core.envelopeBytesAvg)} B per envelope`,
    ),
    line(
      'Lambda invocations',
      f.captureInvocations + f.applyInvocations,
      'M invocations',
      'lambdaRequest',
      '/M',
      true,
      `capture ${sig(f.captureInvocations)} + apply ${sig(f.applyInvocations)} per change`,
    ),
    line(
      `Lambda duration (${DEPLOYED.architecture})`,
      gbSeconds * M,
      'GB-s',
      'lambdaX86GbSecond',
      '/GB-s',
      true,
      `capture ${DEPLOYED.captureMemoryMb} MB × ${sig(f.captureSeconds * 1000)} ms per run of ${sig(f.envelopesPerSend)} records; apply ${DEPLOYED.applierMemoryMb} MB × ${sig(f.applySeconds * 1000)} ms per run of ${sig(f.envelopesPerReceive)} envelopes (modelled)`,
    ),
    line(
      'stream reads (GetRecords, DescribeStream)',
      f.streamReads,
      'M calls',
      'dynamodbStreamsReadByLambda',
      '/M',
      true,
      `${sig(f.streamReads)} per change, made by the Lambda event source mapping`,
    ),
  ];
}

/** Global Tables' lines for a million changes replicated to one replica in eu-west-1. */
export function globalTablesLines(): CostLine[] {
  return [
    line(
      'replicated writes (eu-west-1)',
      1,
      'M rWRU',
      'dynamodbReplicatedWriteEuWest1',
      '/M',
      false,
      'one rWRU per change and replica (1 KB)',
    ),
    line(
      'transfer to eu-west-1',
      (ASSUMED.globalTablesBytesPerItem * 1e6) / GiB,
      'GB',
      'interRegionTransfer',
      '/GB',
      false,
      `${ASSUMED.globalTablesBytesPerItem} B per change (the item; Global Tables' own overhead is not published)`,
    ),
  ];
}

/** Per-target dollars of a pair with `targets` targets: what each target adds plus its share of the rest. */
export function perTarget(lines: readonly CostLine[], targets: number): number {
  return (
    lines.filter((l) => !l.shared).reduce((s, l) => s + l.usd, 0) +
    lines.filter((l) => l.shared).reduce((s, l) => s + l.usd, 0) / targets
  );
}

// ---------------------------------------------------------------------------------------------------------
// S3

/** Requests per object of one way of copying, as measured. */
export interface S3RequestsPerObject {
  readonly variant: string;
  /** HEAD requests per object: the source's (us-east-1) and the targets' (eu-west-1). */
  readonly sourceHeads: number;
  readonly targetHeads: number;
  /** CopyObject calls per object (a refused create-only copy included). */
  readonly copies: number;
  /** Of which refused (412): they copy no data. */
  readonly refusedCopies: number;
  /** Multipart: CreateMultipartUpload + CompleteMultipartUpload, and UploadPartCopy per object. */
  readonly posts: number;
  readonly partCopies: number;
  readonly tombstoneCalls: number;
  readonly from: string;
}

/** The copier's runs of the many-objects part, by variant (new objects, overwrites remembered or not). */
export function copierVariants(many: ManyResult): S3RequestsPerObject[] {
  const objects = many.settings.objects;
  const variants: [string, (r: ManyRun) => boolean][] = [
    ['new object', (r) => r.name === "Replicator's copier"],
    ['overwrite, key remembered', (r) => /overwrites \(keys remembered\)/.test(r.name)],
    ['overwrite, key not remembered', (r) => /overwrites \(keys not remembered\)/.test(r.name)],
  ];
  return variants.flatMap(([variant, match]) => {
    const run = many.runs.find(match);
    if (!run) return [];
    const per = (k: string) => (run.requestCounts[k] ?? 0) / objects;
    const heads = per('s3:HEAD');
    const copies = per('s3:PUT');
    return [
      {
        variant,
        sourceHeads: 1,
        targetHeads: Math.max(0, heads - 1),
        copies,
        // One copy lands per object; any further one was refused by its condition.
        refusedCopies: Math.max(0, copies - 1),
        posts: 0,
        partCopies: 0,
        tombstoneCalls: per('dynamodb:BatchGetItem'),
        from: `"${run.name}": ${sig(run.requestsPerObject)} requests per object`,
      },
    ];
  });
}

/** A multipart copy's requests, from the large-object pass (or the design when the results have none). */
export function multipartRequests(size: number, pass: LargePass | undefined): S3RequestsPerObject {
  const plan = planCopy(size, copySettingsFromEnv({}));
  const parts = plan.mode === 'multipart' ? plan.parts.length : 1;
  if (pass) {
    const c = (k: string) => pass.requestCounts[k] ?? 0;
    return {
      variant: 'any (a multipart copy reads the target first)',
      sourceHeads: 1,
      targetHeads: c('s3:HEAD') - 1,
      copies: 0,
      refusedCopies: 0,
      posts: c('s3:POST'),
      // UploadPartCopy scales with the parts; the pass measured `pass.parts` of them.
      partCopies: (c('s3:PUT') / pass.parts) * parts,
      tombstoneCalls: c('dynamodb:BatchGetItem'),
      from: `the ${pass.parts}-part pass: HEAD ${c('s3:HEAD')}, POST ${c('s3:POST')}, PUT ${c('s3:PUT')}`,
    };
  }
  return {
    variant: 'any (a multipart copy reads the target first)',
    sourceHeads: 1,
    targetHeads: 2,
    copies: 0,
    refusedCopies: 0,
    posts: 2,
    partCopies: parts,
    tombstoneCalls: 1,
    from: 'the design (no large-object pass in the results): source HEAD, target HEAD, create, parts, complete, HEAD',
  };
}

/** How many objects share the queue and function work: full batches, or one object at a time. */
export type S3Load = 'under load' | 'one at a time';

/** Replicator's lines for 1,000 objects of `size` bytes copied to one target. */
export function s3ReplicatorLines(size: number, r: S3RequestsPerObject, load: S3Load, copyMibps: number): CostLine[] {
  const k = 1000;
  const full = load === 'under load';
  const perCapture = full ? DEPLOYED.s3CaptureEventsPerInvocation : 1;
  // Capture packs its events into one message; copy takes up to applyBatchSize messages per invocation.
  const perCopy = perCapture * (full ? DEPLOYED.applyBatchSize : 1);
  const inFlight = full ? ASSUMED.copyObjectsInFlight : 1;
  const sqs = {
    s3Send: 1,
    eventsReceive: 1 / perCapture,
    eventsDelete: 1 / perCapture,
    pairSend: 1 / perCapture,
    pairReceive: 1 / perCopy,
    pairDelete: 1 / perCopy,
  };
  const sqsPerObject = Object.values(sqs).reduce((s, v) => s + v, 0);
  const sr = ASSUMED.sameRegionRequestMs / 1000;
  const xr = ASSUMED.crossRegionRequestMs / 1000;
  const copySeconds = (bytes: number) => bytes / (copyMibps * MiB);
  let wall: number;
  if (r.partCopies > 0) {
    const partSize = copySettingsFromEnv({}).partSize;
    const rounds = Math.ceil(r.partCopies / DEPLOYED.copyConcurrency);
    wall = sr + r.targetHeads * xr + r.posts * xr + rounds * (xr + copySeconds(Math.min(size, partSize)));
  } else {
    wall = sr + r.targetHeads * xr + r.refusedCopies * xr + xr + copySeconds(size);
  }
  const captureSeconds = sr;
  const gbSeconds =
    (captureSeconds * (DEPLOYED.captureMemoryMb / 1024)) / perCapture +
    (wall * (DEPLOYED.applierMemoryMb / 1024)) / inFlight;
  const crossRegionRequests = r.targetHeads + r.copies + r.posts + r.partCopies;
  const transferBytes = size + crossRegionRequests * (ASSUMED.requestOverheadBytes + ASSUMED.responseBytes);
  const writes = r.copies + r.posts + r.partCopies;
  return [
    line(
      r.partCopies > 0 ? 'CreateMultipartUpload, UploadPartCopy, Complete' : 'CopyObject (eu-west-1)',
      writes * k,
      'requests',
      's3PutEuWest1',
      '/1,000',
      false,
      r.partCopies > 0
        ? `${sig(r.posts)} POST + ${sig(r.partCopies)} UploadPartCopy per object`
        : `${sig(r.copies)} per object${r.refusedCopies > 0 ? ` (${sig(r.refusedCopies)} refused by its condition)` : ''}`,
    ),
    line('HEAD source (us-east-1)', r.sourceHeads * k, 'requests', 's3GetUsEast1', '/1,000', true, '1 per object'),
    line(
      'HEAD target (eu-west-1)',
      r.targetHeads * k,
      'requests',
      's3GetEuWest1',
      '/1,000',
      false,
      `${sig(r.targetHeads)} per object`,
    ),
    line(
      'transfer to and from eu-west-1',
      (transferBytes * k) / GiB,
      'GB',
      'interRegionTransfer',
      '/GB',
      false,
      `the object (${sig(size / MiB)} MiB) + ${sig(crossRegionRequests)} cross-region requests × ${ASSUMED.requestOverheadBytes + ASSUMED.responseBytes} B`,
    ),
    line(
      'state table: tombstone checks',
      k / 1e6,
      'M RRU',
      'dynamodbReadUsEast1',
      '/M',
      true,
      `1 key per object read consistently (${sig(r.tombstoneCalls)} BatchGetItem per object measured)`,
    ),
    line(
      'SQS requests',
      (sqsPerObject * k) / 1e6,
      'M requests',
      'sqsStandardRequest',
      '/M',
      true,
      `${sig(sqsPerObject)} per object: S3's SendMessage 1, events receive + delete ${sig(2 / perCapture)}, pair queue send ${sig(1 / perCapture)}, receive + delete ${sig(2 / perCopy)} (design; every payload < 64 KB)`,
    ),
    line(
      'Lambda invocations',
      ((1 / perCapture + 1 / perCopy) * k) / 1e6,
      'M invocations',
      'lambdaRequest',
      '/M',
      true,
      `capture 1 per ${perCapture} objects, copy 1 per ${perCopy} (design)`,
    ),
    line(
      `Lambda duration (${DEPLOYED.architecture})`,
      gbSeconds * k,
      'GB-s',
      'lambdaX86GbSecond',
      '/GB-s',
      true,
      `copy ${DEPLOYED.applierMemoryMb} MB × ${sig(wall * 1000)} ms per object ÷ ${inFlight} in flight (copies modelled at ${copyMibps} MiB/s); capture ${DEPLOYED.captureMemoryMb} MB × ${sig(captureSeconds * 1000)} ms ÷ ${perCapture} (modelled)`,
    ),
  ];
}

/** S3 Replication's lines for 1,000 objects of `size` bytes, with or without Replication Time Control. */
export function s3ReplicationLines(size: number, rtc: boolean): CostLine[] {
  const gb = (size * 1000) / GiB;
  const lines = [
    line('replication PUT (eu-west-1)', 1000, 'requests', 's3ReplicationPut', '/1,000', false, 'one per object'),
    line('transfer to eu-west-1', gb, 'GB', 'interRegionTransfer', '/GB', false, 'the object'),
  ];
  if (rtc) {
    lines.push(
      line('Replication Time Control', gb, 'GB', 's3ReplicationTimeControl', '/GB', false, 'per GB replicated'),
    );
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------------------
// Reading the results

function readJson<T>(path: string): T {
  if (!existsSync(path)) throw new Error(`${path} does not exist: run the benchmark that writes it first`);
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

interface DynamoResultsFile {
  readonly timestamp: string;
  readonly core: CoreResult;
  readonly local?: LocalResult;
}

interface S3ResultsFile {
  readonly timestamp: string;
  readonly settings?: { readonly objects?: { readonly copy?: { readonly createFirst?: boolean } } };
  readonly objects?: ManyResult;
  readonly large?: LargeResult;
}

/** The measured phases the tables use: the DynamoDB benchmark's burst, and its slowest steady phase. */
function pickPhases(local: LocalResult): { load: PhaseResult; low: PhaseResult } {
  const load = local.phases.find((p) => p.offeredRate === null) ?? local.phases[local.phases.length - 1];
  const steady = local.phases.filter((p) => p.offeredRate !== null);
  const low = steady.sort((a, b) => (a.offeredRate ?? 0) - (b.offeredRate ?? 0))[0];
  if (!load || !low) throw new Error('the DynamoDB results hold no local phases (run `npm run bench -- dynamodb`)');
  return { load, low };
}

// ---------------------------------------------------------------------------------------------------------
// The benchmark

const S3_SIZES = [MiB, 64 * MiB, GiB];

function sizeName(bytes: number): string {
  return bytes >= GiB ? `${bytes / GiB} GiB` : `${bytes / MiB} MiB`;
}

/** Runs the cost benchmark: prints the tables and writes bench/results/cost.json. */
export async function runCostBenchmark(print: (line: string) => void = (l) => console.log(l)): Promise<void> {
  // Relative to the working directory, so that the results file names them the same on every machine.
  const here = (path: string) => relative(process.cwd(), path) || path;
  const dynamoPath = here(process.env.BENCH_COST_DYNAMODB || join(RESULTS_DIR, 'dynamodb.json'));
  const s3Path = here(process.env.BENCH_COST_S3 || join(RESULTS_DIR, 's3.json'));
  const s3ObjectsPath = here(process.env.BENCH_COST_S3_OBJECTS || s3Path);
  const dynamo = readJson<DynamoResultsFile>(dynamoPath);
  const s3 = readJson<S3ResultsFile>(s3Path);
  const s3Objects = s3ObjectsPath === s3Path ? s3 : readJson<S3ResultsFile>(s3ObjectsPath);
  if (!dynamo.local) throw new Error(`${dynamoPath} has no local-cloud part (it was run with BENCH_SKIP_LOCAL)`);
  if (!s3Objects.objects) throw new Error(`${s3ObjectsPath} has no many-objects part (BENCH_S3_SKIP_OBJECTS)`);

  const notes: string[] = [];
  const core = dynamo.core;
  const phases = pickPhases(dynamo.local);
  const loadFigures = dynamoPhaseFigures(phases.load, core);
  const lowFigures = dynamoPhaseFigures(phases.low, core);
  const loadLines = dynamoLines(loadFigures, core);
  const lowLines = dynamoLines(lowFigures, core);
  const gtLines = globalTablesLines();

  const variants = copierVariants(s3Objects.objects);
  if (s3Objects.settings?.objects?.copy?.createFirst === undefined) {
    notes.push(
      `${s3ObjectsPath} (${s3Objects.timestamp}) predates create-only first copies: its copier reads every target first. Re-run \`npm run bench -- s3\` for the current copier.`,
    );
  }
  if (variants.length < 3) {
    notes.push(
      `${s3ObjectsPath} has ${variants.length} of the copier's 3 runs (new objects, overwrites remembered and not): the others are left out.`,
    );
  }
  const pass =
    s3.large?.passes.find((p) => p.mode === 'multipart' && p.modelled) ??
    s3.large?.passes.find((p) => p.mode === 'multipart');
  if (!pass) notes.push(`${s3Path} has no multipart pass: multipart requests are the design's.`);
  const copyMibps = s3.large?.settings.copyMbps ?? 100;
  const threshold = copySettingsFromEnv({}).multipartThreshold;
  const newObject = variants[0];
  if (!newObject) throw new Error(`${s3ObjectsPath} has no run of Replicator's copier`);

  print('');
  print(
    `Inputs: ${dynamoPath} (${dynamo.timestamp}): phases "${phases.load.phase}" (under load) and "${phases.low.phase}"; ` +
      `${s3ObjectsPath} (${s3Objects.timestamp}): the copier's runs; ${s3Path} (${s3.timestamp}): the multipart pass.`,
  );
  for (const n of notes) print(`Note: ${n}`);

  // DynamoDB: the components, with the arithmetic.
  print('');
  print(
    `DynamoDB, per million changes of 1 KB items replicated us-east-1 → eu-west-1 (one target; on-demand; ${DEPLOYED.architecture} Lambda):`,
  );
  print('');
  print(
    markdownTable(
      [
        'component',
        `under load (${sig(loadFigures.writeRate, 2)} writes/s measured)`,
        `at ${sig(lowFigures.writeRate, 2)} writes/s`,
      ],
      [
        ...loadLines.map((l, i) => [l.component, l.arithmetic, lowLines[i]?.arithmetic ?? '-']),
        ['**total**', `**${dollars(total(loadLines))}**`, `**${dollars(total(lowLines))}**`],
        [
          'Global Tables (1 replica)',
          `${gtLines.map((l) => l.arithmetic).join(' + ')} = **${dollars(total(gtLines))}**`,
          `**${dollars(total(gtLines))}**`,
        ],
      ],
    ),
  );
  print('');
  const low = `at ${sig(lowFigures.writeRate, 2)} writes/s`;
  print('Measured per change (two targets; the local runtime made these requests), and the modelled run times:');
  print('');
  const measured = (label: string, f: (x: DynamoPhaseFigures) => string) => [label, f(loadFigures), f(lowFigures)];
  print(
    markdownTable(
      ['per change', 'under load', low],
      [
        measured('target writes per target (PutItem, DeleteItem)', (x) => sig(x.targetWritesPerTarget)),
        measured('tombstone writes (UpdateItem, state table)', (x) => sig(x.tombstoneWrites)),
        measured('tombstone keys read (≤ PutItem ÷ targets)', (x) => sig(x.tombstoneReads)),
        measured('SendMessageBatch (envelopes each)', (x) => `${sig(x.sendCalls)} (${sig(x.envelopesPerSend)})`),
        measured('ReceiveMessage (of which empty)', (x) => `${sig(x.receiveCalls)} (${sig(x.emptyReceiveCalls)})`),
        measured(
          'DeleteMessageBatch = apply runs (envelopes each)',
          (x) => `${sig(x.deleteCalls)} (${sig(x.envelopesPerReceive)})`,
        ),
        measured('SQS requests billed (64 KB chunks)', (x) => sig(x.sqsBilled)),
        measured('GetRecords + DescribeStream', (x) => sig(x.streamReads)),
        measured('capture run, modelled', (x) => `${sig(x.captureSeconds * 1000)} ms`),
        measured('apply run, modelled', (x) => `${sig(x.applySeconds * 1000)} ms`),
      ],
    ),
  );

  // DynamoDB: per target, by the number of targets.
  const fanOut = [1, 2, 5];
  print('');
  print('DynamoDB, $ per million changes per target, by targets per pair (shared costs split between the targets):');
  print('');
  print(
    markdownTable(
      ['', ...fanOut.map((t) => `${t} target${t > 1 ? 's' : ''}`)],
      [
        ['Replicator, under load', ...fanOut.map((t) => dollars(perTarget(loadLines, t)))],
        [
          `Replicator, at ${sig(lowFigures.writeRate, 2)} writes/s`,
          ...fanOut.map((t) => dollars(perTarget(lowLines, t))),
        ],
        ['Global Tables', ...fanOut.map(() => dollars(total(gtLines)))],
        [
          'Replicator ÷ Global Tables, under load',
          ...fanOut.map((t) => `${(perTarget(loadLines, t) / total(gtLines)).toFixed(2)}×`),
        ],
      ],
    ),
  );

  // S3: the components of a 1 MiB new object, with the arithmetic.
  const exampleSize = MiB;
  const s3Load = s3ReplicatorLines(exampleSize, newObject, 'under load', copyMibps);
  const s3One = s3ReplicatorLines(exampleSize, newObject, 'one at a time', copyMibps);
  const crr = s3ReplicationLines(exampleSize, false);
  const crrRtc = s3ReplicationLines(exampleSize, true);
  print('');
  print(`S3, per 1,000 new objects of ${sizeName(exampleSize)} copied us-east-1 → eu-west-1 (one target):`);
  print('');
  print(
    markdownTable(
      ['component', 'under load (full batches)', 'one object at a time'],
      [
        ...s3Load.map((l, i) => [l.component, l.arithmetic, s3One[i]?.arithmetic ?? '-']),
        ['**total**', `**${dollars(total(s3Load))}**`, `**${dollars(total(s3One))}**`],
        ['S3 Replication', `${crr.map((l) => l.arithmetic).join(' + ')} = **${dollars(total(crr))}**`, ''],
        ['S3 Replication + RTC', `${crrRtc.map((l) => l.arithmetic).join(' + ')} = **${dollars(total(crrRtc))}**`, ''],
      ],
    ),
  );
  print('');
  print(`Copier requests per object: ${variants.map((v) => `${v.variant} from ${v.from}`).join('; ')}.`);

  // S3: by object size, per 1,000 objects and per GB.
  interface S3Row {
    readonly name: string;
    readonly bySize: { size: number; per1000: number; perGb: number; requests: string }[];
  }
  const rows: S3Row[] = [];
  const bySize = (f: (size: number) => { lines: CostLine[]; requests: string }) =>
    S3_SIZES.map((size) => {
      const { lines, requests } = f(size);
      const per1000 = total(lines);
      return { size, per1000, perGb: per1000 / ((size * 1000) / GiB), requests };
    });
  for (const v of variants) {
    rows.push({
      name: `Replicator, ${v.variant}`,
      bySize: bySize((size) => {
        const r = size > threshold ? multipartRequests(size, pass) : v;
        return { lines: s3ReplicatorLines(size, r, 'under load', copyMibps), requests: r.from };
      }),
    });
  }
  rows.push({
    name: 'S3 Replication',
    bySize: bySize((size) => ({ lines: s3ReplicationLines(size, false), requests: '' })),
  });
  rows.push({
    name: 'S3 Replication + RTC',
    bySize: bySize((size) => ({ lines: s3ReplicationLines(size, true), requests: '' })),
  });
  print('');
  print(
    `S3 by object size, under load (objects above the ${sizeName(threshold)} multipart threshold are copied in ${sizeName(copySettingsFromEnv({}).partSize)} parts):`,
  );
  print('');
  print(
    markdownTable(
      ['', ...S3_SIZES.flatMap((s) => [`${sizeName(s)}: per 1,000`, `${sizeName(s)}: per GB`])],
      rows.map((r) => [r.name, ...r.bySize.flatMap((c) => [dollars(c.per1000), dollars(c.perGb)])]),
    ),
  );

  const results = {
    benchmark: 'cost',
    ...runEnvironment(),
    inputs: {
      dynamodb: {
        path: dynamoPath,
        timestamp: dynamo.timestamp,
        underLoad: phases.load.phase,
        lowRate: phases.low.phase,
      },
      s3Objects: { path: s3ObjectsPath, timestamp: s3Objects.timestamp },
      s3Large: { path: s3Path, timestamp: s3.timestamp, multipartPass: pass ? `${pass.parts} parts` : null },
    },
    notes,
    deployed: DEPLOYED,
    assumed: ASSUMED,
    prices: PRICES,
    dynamodb: {
      unit: 'USD per million changes of 1 KB items, one target (us-east-1 → eu-west-1)',
      underLoad: { figures: loadFigures, lines: loadLines, total: total(loadLines) },
      lowRate: { figures: lowFigures, lines: lowLines, total: total(lowLines) },
      globalTables: { lines: gtLines, total: total(gtLines) },
      perTarget: fanOut.map((t) => ({
        targets: t,
        underLoad: perTarget(loadLines, t),
        lowRate: perTarget(lowLines, t),
        globalTables: total(gtLines),
      })),
    },
    s3: {
      unit: 'USD per 1,000 objects and per GB, one target (us-east-1 → eu-west-1)',
      example: {
        size: exampleSize,
        underLoad: { lines: s3Load, total: total(s3Load) },
        oneAtATime: { lines: s3One, total: total(s3One) },
        replication: { lines: crr, total: total(crr) },
        replicationRtc: { lines: crrRtc, total: total(crrRtc) },
      },
      variants,
      bySize: rows,
    },
  };
  print(`\nresults written to ${writeResults('cost', results)}`);
}
