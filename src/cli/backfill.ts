/**
 * `replicator backfill PAIR`: fills a pair's targets from its source, whatever the pair type, in this
 * process. It is the engine's run in mode `backfill` (engine/checkpoint.ts `RunMode`): the source is read in
 * parallel (DynamoDB scan segments, S3 key ranges), each item or object a target lacks or holds different is
 * enqueued to that target through the pair queue, so the apply/copy path and every ordering rule hold while
 * live writes go on. Progress is checkpointed in the pair's state table after every page, under the
 * backfill's own key: a run stopped by Ctrl-C (or a crash) is continued by the next one, by the CLI or by the
 * deployed job, from where it was.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { pairResourceNames } from '../../functions/contract';
import { type BackfillJobMessage, JobStore } from '../../functions/engine/backfill-job';
import { enqueuedOf, progressOf, type ReconcileCheckpoint, sourceReadOf } from '../../functions/engine/checkpoint';
import type { RunReport } from '../../functions/engine/reconcile-run';
import {
  BACKFILL_CHECKPOINT_KEY,
  BACKFILL_REPORT_KEY,
  DynamoCheckpointStore,
  DynamoReportStore,
} from '../../functions/engine/state-table';
import { type PairConfig, targetId } from '../../lib/config';
import { clientConfig } from './aws';
import { CliError, EXIT } from './errors';
import { driverOf } from './pair-types/registry';
import { renderTable } from './table';

/** Items (objects) per second a backfill reads from the source when `--rate` is not given. */
export const DEFAULT_BACKFILL_RATE = 500;
/** Parallel scan segments (DynamoDB) or key ranges (S3) when `--shards` is not given. */
export const DEFAULT_BACKFILL_SHARDS = 8;
/** How long the CLI holds the checkpoint past its last save: a crashed CLI blocks the next run this long. */
export const CLI_LEASE_MS = 60_000;

/** Options of {@link backfillPair}. */
export interface BackfillPairOptions {
  readonly pair: PairConfig;
  readonly sourceRegion: string;
  readonly endpoint?: string;
  /** Target ids to fill (`region/table`, `region/bucket`, or a region the pair has one target in). @default - all */
  readonly targets?: readonly string[];
  /** Source items (objects) per second at most. @default DEFAULT_BACKFILL_RATE */
  readonly rate?: number;
  /** Parallel scan segments or key ranges. @default DEFAULT_BACKFILL_SHARDS */
  readonly shards?: number;
  /** Forget an unfinished backfill and start over. */
  readonly restart?: boolean;
  /** Stops the run after the current slice (its checkpoint saved, its lease given up). */
  readonly signal?: AbortSignal;
  /** Called after every slice. */
  readonly onProgress?: (p: BackfillProgress) => void;
  /** Length of one slice of work between progress reports, ms. @default 2000 */
  readonly sliceMs?: number;
}

/** Where a backfill is. */
export interface BackfillProgress {
  /** 0 to 1. */
  readonly fraction: number;
  /** Source items (objects) read so far, by the whole backfill (this process and earlier ones). */
  readonly read: number;
  /** Bytes of the source objects read (S3; 0 for tables). */
  readonly bytes: number;
  /** Items enqueued so far over all targets. */
  readonly enqueued: number;
  /** Items per second read by this process. */
  readonly ratePerSecond: number;
  /** Time left at this process's pace, ms; undefined until it can tell. */
  readonly etaMs: number | undefined;
}

/** What {@link backfillPair} did. */
export interface BackfillPairResult {
  /** `complete`: every target filled; `already-complete`: an earlier run had, and nothing was done; `stopped`: by the signal. */
  readonly outcome: 'complete' | 'already-complete' | 'stopped';
  /** The run's report (the earlier run's, when already complete). */
  readonly report: RunReport;
  /** Whether this run continued an earlier, unfinished one. */
  readonly resumed: boolean;
  /** How far the backfill is, 0 to 1. */
  readonly fraction: number;
}

/** The pair's target ids that `wanted` names (exact ids, or a region with one target); an error names the rest. */
export function selectTargets(pair: PairConfig, wanted: readonly string[] | undefined): string[] {
  const ids = pair.targets.map((t) => targetId(pair, t));
  if (!wanted || wanted.length === 0) return ids;
  return wanted.map((w) => {
    if (ids.includes(w)) return w;
    const inRegion = pair.targets.filter((t) => t.region === w).map((t) => targetId(pair, t));
    if (inRegion.length === 1) return inRegion[0]!;
    throw new CliError(
      `--target "${w}" is not a target of pair "${pair.name}"${inRegion.length > 1 ? ` (region ${w} has ${inRegion.length})` : ''}`,
      EXIT.USAGE,
      `give one of: ${ids.join(', ')}`,
    );
  });
}

const readOf = (cp: ReconcileCheckpoint) => sourceReadOf(cp.counts);
const bytesOf = (cp: ReconcileCheckpoint) => Math.max(0, ...Object.values(cp.counts).map((c) => c.bytes ?? 0));

/** Runs (or continues) a backfill of one pair to its end, or until the signal stops it. */
export async function backfillPair(o: BackfillPairOptions): Promise<BackfillPairResult> {
  const { pair } = o;
  const targetIds = selectTargets(pair, o.targets);
  const client = clientConfig({ region: o.sourceRegion, ...(o.endpoint ? { endpoint: o.endpoint } : {}) });
  const names = pairResourceNames(pair.name);
  const dynamo = new DynamoDBClient(client);
  // The pair queue's URL, which also proves the pair is deployed before anything is read.
  const queueUrl = (await new SQSClient(client).send(new GetQueueUrlCommand({ QueueName: names.queue }))).QueueUrl!;
  const store = new DynamoCheckpointStore(dynamo, names.stateTable, Date.now, {
    key: BACKFILL_CHECKPOINT_KEY,
    leaseMs: CLI_LEASE_MS,
  });
  const reports = new DynamoReportStore(dynamo, names.stateTable, Date.now, BACKFILL_REPORT_KEY);
  if (o.restart) await store.clear();
  const saved = o.restart ? undefined : await store.load();
  if (!saved && !o.restart) {
    const latest = await reports.latest();
    const same = latest && [...latest.targets.map((t) => t.target)].sort().join() === [...targetIds].sort().join();
    if (latest?.complete && same) return { outcome: 'already-complete', report: latest, resumed: false, fraction: 1 };
  }
  const resumed = saved?.mode === 'backfill' && saved.finishedAt === undefined;

  const run = await driverOf(pair).reconcileRunner(pair, {
    sourceRegion: o.sourceRegion,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    queueUrl,
    mode: 'backfill',
    targetIds,
    repair: true,
    deleteExtra: false,
    segments: o.shards ?? DEFAULT_BACKFILL_SHARDS,
    // A backfill is paced by items (itemRate); its reads follow from them.
    readRate: o.rate ?? DEFAULT_BACKFILL_RATE,
    itemRate: o.rate ?? DEFAULT_BACKFILL_RATE,
    store,
  });

  const started = Date.now();
  // This process's pace counts from what the run it continues had already done.
  const first = resumed && saved ? { read: readOf(saved), fraction: progressOf(saved) } : { read: 0, fraction: 0 };
  try {
    for (;;) {
      const r = await run(Date.now() + (o.sliceMs ?? 2000));
      const cp = r.checkpoint;
      const fraction = progressOf(cp);
      const elapsed = Math.max(1, Date.now() - started);
      const gained = fraction - first.fraction;
      o.onProgress?.({
        fraction,
        read: readOf(cp),
        bytes: bytesOf(cp),
        enqueued: enqueuedOf(cp.counts),
        ratePerSecond: ((readOf(cp) - first.read) * 1000) / elapsed,
        etaMs: gained > 0 && fraction < 1 ? (elapsed * (1 - fraction)) / gained : fraction >= 1 ? 0 : undefined,
      });
      if (r.complete) {
        const report: RunReport = { ...r.report, trigger: 'cli' };
        await reports.saveLatest(report);
        await store.clear();
        return { outcome: 'complete', report, resumed, fraction: 1 };
      }
      if (o.signal?.aborted) {
        await store.release();
        return { outcome: 'stopped', report: r.report, resumed, fraction };
      }
    }
  } catch (err) {
    // Let the next run (or the deployed job) continue at once rather than wait out the lease.
    await store.release().catch(() => undefined);
    throw err;
  }
}

/** What {@link startDeployedBackfill} did. */
export interface DeployedStart {
  /** `started`, or `running`: a job of the pair already runs (nothing was sent). */
  readonly outcome: 'started' | 'running';
  readonly jobId: string;
  readonly targets: readonly string[];
}

/**
 * Starts the pair's deployed backfill job (or says one runs): records it in the state table as the pair's
 * current job, then sends its first message to the pair's backfill queue. With `restart`, an earlier job
 * stops at its next message and the new one starts over.
 */
export async function startDeployedBackfill(
  o: Pick<BackfillPairOptions, 'pair' | 'sourceRegion' | 'endpoint' | 'targets' | 'rate' | 'shards' | 'restart'>,
): Promise<DeployedStart> {
  const targetIds = selectTargets(o.pair, o.targets);
  const client = clientConfig({ region: o.sourceRegion, ...(o.endpoint ? { endpoint: o.endpoint } : {}) });
  const names = pairResourceNames(o.pair.name);
  const sqs = new SQSClient(client);
  const queueUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: names.backfillQueue }))).QueueUrl!;
  const jobs = new JobStore(new DynamoDBClient(client), names.stateTable);
  const current = await jobs.current();
  if (current?.state === 'running' && !o.restart) {
    return { outcome: 'running', jobId: current.jobId, targets: current.targets ?? targetIds };
  }
  const message: BackfillJobMessage = {
    v: 1,
    jobId: randomUUID(),
    ...(o.targets && o.targets.length > 0 ? { targets: targetIds } : {}),
    rate: o.rate ?? DEFAULT_BACKFILL_RATE,
    shards: o.shards ?? DEFAULT_BACKFILL_SHARDS,
    ...(o.restart ? { restart: true } : {}),
    part: 0,
  };
  await jobs.start({
    jobId: message.jobId,
    requestedAt: Date.now(),
    ...(message.targets ? { targets: message.targets } : {}),
    rate: message.rate,
    shards: message.shards,
  });
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }));
  return { outcome: 'started', jobId: message.jobId, targets: targetIds };
}

/** Stops the pair's deployed backfill job at its next message; undefined when none runs. */
export async function stopDeployedBackfill(
  o: Pick<BackfillPairOptions, 'pair' | 'sourceRegion' | 'endpoint'>,
): Promise<string | undefined> {
  const client = clientConfig({ region: o.sourceRegion, ...(o.endpoint ? { endpoint: o.endpoint } : {}) });
  const jobs = new JobStore(new DynamoDBClient(client), pairResourceNames(o.pair.name).stateTable);
  return (await jobs.stop())?.jobId;
}

/** Bytes as people read them: "812 B", "4.2 MB", "1.3 GB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** A duration as people read it: "45s", "12m05s", "3h20m". */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The progress line: bar, share, items, bytes, rate, ETA. */
export function progressLine(p: BackfillProgress, kind: 'items' | 'objects', width = 24): string {
  const filled = Math.round(Math.min(1, p.fraction) * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  const bytes = kind === 'objects' ? `, ${formatBytes(p.bytes)}` : '';
  const eta = p.etaMs === undefined ? 'ETA -' : `ETA ${formatDuration(p.etaMs)}`;
  return `${bar} ${(p.fraction * 100).toFixed(0).padStart(3)}%  ${p.read} ${kind}${bytes}, ${p.enqueued} enqueued, ${Math.round(p.ratePerSecond)}/s, ${eta}`;
}

/** The end-of-run summary: per target, listed, already equal, enqueued, skipped by the filter. */
export function renderBackfillSummary(report: RunReport, kind: 'items' | 'objects'): string {
  return renderTable(
    [
      'target',
      `listed ${kind}`,
      'already equal',
      'enqueued',
      'skipped by filter',
      ...(kind === 'objects' ? ['bytes listed'] : []),
    ],
    report.targets.map((t) => [
      t.target,
      sourceReadOf([t]),
      t.matched,
      t.repaired,
      t.skipped ?? 0,
      ...(kind === 'objects' ? [formatBytes(t.bytes ?? 0)] : []),
    ]),
  );
}
