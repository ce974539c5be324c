/**
 * `replicator status` and `replicator redrive`: the operator's view of a deployed config, against real AWS
 * or the local cloud (both use the normal credential chain; `--endpoint` points the clients elsewhere).
 */
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient, GetItemCommand, type GetItemCommandOutput } from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { METRICS_NAMESPACE, type MetricName, pairResourceNames } from '../../functions/contract';
import { BACKFILL_JOB_KEY, type JobRecord } from '../../functions/engine/backfill-job';
import { enqueuedOf, progressOf, type ReconcileCheckpoint, sourceReadOf } from '../../functions/engine/checkpoint';
import { ALL_TARGETS, ERROR_ATTR, ERROR_NAME_ATTR, REPAIR_ATTR, TARGET_ATTR } from '../../functions/engine/queue';
import {
  type RunReport,
  type TargetReport,
  type TargetSummary,
  targetSummary,
} from '../../functions/engine/reconcile-run';
import {
  BACKFILL_CHECKPOINT_KEY,
  BACKFILL_REPORT_KEY,
  CHECKPOINT_KEY,
  REPORT_KEY,
} from '../../functions/engine/state-table';
import { type ReplicationConfig, targetIds } from '../../lib/config';
import { type ClientOptions, clientConfig, queueDepth } from './aws';

/** The headline numbers of a pair's last finished reconcile run. */
export interface ReconcileSummary {
  /** When the run started (ISO 8601). */
  readonly startedAt: string;
  /** When the run finished (ISO 8601); null if the stored report has none. */
  readonly finishedAt: string | null;
  readonly checked: number;
  /** missing + extra + different over all targets. */
  readonly mismatched: number;
  readonly repaired: number;
  /** matched / checked (1 when nothing was checked). */
  readonly consistencyRatio: number;
  readonly complete: boolean;
  /** Who ran it: the schedule (the deployed function) or `replicator reconcile` on demand. */
  readonly trigger: 'schedule' | 'cli' | 'job';
}

/** One target's numbers in a pair's last finished reconcile run. */
export type TargetReconcileSummary = Omit<TargetSummary, 'target'>;

/** A reconcile run that has a checkpoint in the pair's state table: it continues at the next invocation. */
export interface ReconcileProgress {
  /** ISO 8601. */
  readonly startedAt: string;
  /** When the checkpoint was last saved (ISO 8601); null if the item has no `updatedAt`. */
  readonly updatedAt: string | null;
  readonly invocations: number;
  /** Items checked so far, over all targets. */
  readonly checked: number;
  /** Scan segments finished so far, over the source scan and every target scan. */
  readonly segmentsDone: number;
  readonly segmentsTotal: number;
}

/** One target of a deployed pair. */
export interface TargetStatus {
  readonly target: string;
  readonly replicatedLastHour: number;
  /**
   * Age (ms, capture to now) of the oldest change waiting for a retry on this target, as the last re-sends in
   * the past 20 minutes measured it; null when nothing was re-sent (nothing waits for a retry).
   */
  readonly backlogAgeMs: number | null;
  /** Envelopes re-sent for a retry on this target in the past 20 minutes. */
  readonly backlogEnvelopes: number;
  /** ReplicationLatency over the last hour, ms, as `lagStatistic` says. */
  readonly lagMs: number | null;
  /** What lagMs is: the p99, or the Maximum where the endpoint computes no percentiles (moto). */
  readonly lagStatistic: LagStatistic;
  /** This target in the last finished run; null if never run or the run did not cover it. */
  readonly lastReconcile: TargetReconcileSummary | null;
}

/** A pair whose stack is deployed. */
export interface DeployedPairStatus {
  readonly pair: string;
  readonly deployed: true;
  readonly queueDepth: number;
  readonly dlqDepth: number;
  readonly captureFailures: number;
  readonly targets: TargetStatus[];
  /** The last finished reconcile run; null when none finished yet (or its report could not be read). */
  readonly lastReconcile: ReconcileSummary | null;
  /** The unfinished run, if one has a checkpoint; null otherwise. */
  readonly reconcileInProgress: ReconcileProgress | null;
  /** The pair's backfill, if one ever ran. */
  readonly backfill: BackfillStatus | null;
  /** Reconcile state that could not be read (e.g. a report that is not valid JSON), one message each. */
  readonly reconcileErrors: string[];
}

/** A pair of the config whose stack is not deployed (in this region, at this endpoint). */
export interface UndeployedPairStatus {
  readonly pair: string;
  readonly deployed: false;
  /** What is missing, and where. */
  readonly reason: string;
  /** The pair's targets in the config. */
  readonly targets: { readonly target: string }[];
}

/** Where a pair's backfill is (`replicator backfill`, in a terminal or as the deployed job). */
export interface BackfillStatus {
  /**
   * `running`: a job runs it, or a terminal holds its checkpoint; `paused`: stopped part-way (the same command
   * continues it); `complete`; `stopped`: its job was stopped.
   */
  readonly state: 'running' | 'paused' | 'complete' | 'stopped';
  /** Who runs (or ran) it: the deployed job or a terminal. */
  readonly by: 'job' | 'cli';
  /** 0 to 1. */
  readonly fraction: number;
  /** Source items (objects) read so far. */
  readonly read: number;
  /** Items (objects) enqueued to targets so far. */
  readonly enqueued: number;
  readonly targets: string[];
  readonly startedAt: string;
  readonly updatedAt: string | null;
  readonly finishedAt: string | null;
  /** Time left at the pace so far, seconds; null when unknown or not running. */
  readonly etaSeconds: number | null;
}

/** One pair's status. */
export type PairStatus = DeployedPairStatus | UndeployedPairStatus;

/** Reconcile state in a pair's state table that cannot be read. */
export class CorruptReconcileStateError extends Error {
  constructor(table: string, key: string, detail: string) {
    super(`cannot read the reconcile state in ${table} (pk "${key}"): ${detail}`);
    this.name = 'CorruptReconcileStateError';
  }
}

/** Parses a stored JSON document and checks the fields the status uses, naming the table and key if it fails. */
function parseStored<T>(json: string, table: string, key: string, check: (v: Record<string, unknown>) => string[]): T {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new CorruptReconcileStateError(table, key, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CorruptReconcileStateError(table, key, 'not a JSON object');
  }
  const wrong = check(value as Record<string, unknown>);
  if (wrong.length > 0) throw new CorruptReconcileStateError(table, key, `missing or invalid ${wrong.join(', ')}`);
  return value as T;
}

const REPORT_NUMBERS = ['startedAt', 'checked', 'mismatched', 'repaired', 'consistencyRatio'] as const;
const TARGET_NUMBERS = ['checked', 'missing', 'extra', 'different', 'repaired', 'consistencyRatio'] as const;

function checkReport(v: Record<string, unknown>): string[] {
  const wrong: string[] = REPORT_NUMBERS.filter((f) => typeof v[f] !== 'number');
  if (typeof v.complete !== 'boolean') wrong.push('complete');
  if (v.finishedAt !== undefined && typeof v.finishedAt !== 'number') wrong.push('finishedAt');
  const targets = v.targets;
  if (!Array.isArray(targets)) return [...wrong, 'targets'];
  targets.forEach((t: unknown, i) => {
    const o = (typeof t === 'object' && t !== null ? t : {}) as Record<string, unknown>;
    if (typeof o.target !== 'string') wrong.push(`targets[${i}].target`);
    for (const f of TARGET_NUMBERS) if (typeof o[f] !== 'number') wrong.push(`targets[${i}].${f}`);
  });
  return wrong;
}

function checkCheckpoint(v: Record<string, unknown>): string[] {
  const wrong: string[] = [];
  if (typeof v.startedAt !== 'number') wrong.push('startedAt');
  if (typeof v.invocations !== 'number') wrong.push('invocations');
  if (typeof v.counts !== 'object' || v.counts === null) wrong.push('counts');
  if (typeof v.scans !== 'object' || v.scans === null) wrong.push('scans');
  return wrong;
}

const iso = (epochMs: number) => new Date(epochMs).toISOString();

function summarize(r: RunReport): ReconcileSummary {
  return {
    startedAt: iso(r.startedAt),
    finishedAt: r.finishedAt === undefined ? null : iso(r.finishedAt),
    checked: r.checked,
    mismatched: r.mismatched,
    repaired: r.repaired,
    consistencyRatio: r.consistencyRatio,
    complete: r.complete,
    trigger: r.trigger ?? 'schedule',
  };
}

function summarizeTarget(t: TargetReport): TargetReconcileSummary {
  const { target: _target, ...numbers } = targetSummary(t);
  return numbers;
}

function reconcileProgressOf(cp: ReconcileCheckpoint, updatedAt: string | undefined): ReconcileProgress {
  const segments = Object.values(cp.scans).flat();
  const updated = Number(updatedAt);
  return {
    startedAt: iso(cp.startedAt),
    // The attribute can be absent, so a NaN check rather than a truthiness test (0 is a valid time).
    updatedAt: updatedAt === undefined || Number.isNaN(updated) ? null : iso(updated),
    invocations: cp.invocations,
    checked: Object.values(cp.counts).reduce((n, c) => n + c.checked, 0),
    segmentsDone: segments.filter((s) => s.done).length,
    segmentsTotal: segments.length,
  };
}

/** What the pair's state table says about reconcile; `undefined` when the table does not exist. */
interface ReconcileState {
  readonly report: RunReport | null;
  readonly progress: ReconcileProgress | null;
  readonly errors: string[];
}

async function readReconcileState(ddb: DynamoDBClient, table: string): Promise<ReconcileState | undefined> {
  const get = (key: string) =>
    ddb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: key } }, ConsistentRead: true }));
  let reportItem: GetItemCommandOutput;
  let checkpointItem: GetItemCommandOutput;
  try {
    [reportItem, checkpointItem] = await Promise.all([get(REPORT_KEY), get(CHECKPOINT_KEY)]);
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return undefined;
    throw err;
  }
  const errors: string[] = [];
  let report: RunReport | null = null;
  let progress: ReconcileProgress | null = null;
  const reportJson = reportItem.Item?.report?.S;
  if (reportItem.Item && reportJson === undefined) {
    errors.push(new CorruptReconcileStateError(table, REPORT_KEY, 'no string attribute "report"').message);
  } else if (reportJson !== undefined) {
    try {
      report = parseStored<RunReport>(reportJson, table, REPORT_KEY, checkReport);
    } catch (err) {
      if (!(err instanceof CorruptReconcileStateError)) throw err;
      errors.push(err.message);
    }
  }
  const stateJson = checkpointItem.Item?.state?.S;
  if (checkpointItem.Item && stateJson === undefined) {
    errors.push(new CorruptReconcileStateError(table, CHECKPOINT_KEY, 'no string attribute "state"').message);
  } else if (stateJson !== undefined) {
    try {
      const cp = parseStored<ReconcileCheckpoint>(stateJson, table, CHECKPOINT_KEY, checkCheckpoint);
      progress = reconcileProgressOf(cp, checkpointItem.Item?.updatedAt?.N);
    } catch (err) {
      if (!(err instanceof CorruptReconcileStateError)) throw err;
      errors.push(err.message);
    }
  }
  return { report, progress, errors };
}

function checkJobRecord(v: Record<string, unknown>): string[] {
  return [
    ...(typeof v.jobId !== 'string' ? ['jobId'] : []),
    ...(v.state !== 'running' && v.state !== 'complete' && v.state !== 'stopped' ? ['state'] : []),
  ];
}

/**
 * The pair's backfill: its checkpoint (unfinished), else its latest report; the deployed job's record. Throws
 * a {@link CorruptReconcileStateError} naming the item that cannot be read.
 */
export async function readBackfillState(
  ddb: DynamoDBClient,
  table: string,
  now = Date.now(),
): Promise<BackfillStatus | null> {
  const get = (key: string) =>
    ddb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: key } }, ConsistentRead: true }));
  const [cpItem, reportItem, jobItem] = await Promise.all([
    get(BACKFILL_CHECKPOINT_KEY),
    get(BACKFILL_REPORT_KEY),
    get(BACKFILL_JOB_KEY),
  ]);
  // Read as the reconcile state is: a corrupt item names its table and key instead of failing the status.
  const jobJson = jobItem.Item?.job?.S;
  const job =
    jobJson === undefined ? undefined : parseStored<JobRecord>(jobJson, table, BACKFILL_JOB_KEY, checkJobRecord);
  const cpJson = cpItem.Item?.state?.S;
  if (cpJson !== undefined) {
    const cp = parseStored<ReconcileCheckpoint>(cpJson, table, BACKFILL_CHECKPOINT_KEY, checkCheckpoint);
    const byJob = cpItem.Item?.owner?.S?.startsWith('job:') === true;
    const leased = Number(cpItem.Item?.leaseUntil?.N ?? 0) > now;
    const state =
      byJob && job?.state === 'stopped'
        ? 'stopped'
        : (byJob && job?.state === 'running') || leased
          ? 'running'
          : 'paused';
    const fraction = progressOf(cp);
    const elapsed = now - cp.startedAt;
    const all = Object.values(cp.counts);
    const updated = Number(cpItem.Item?.updatedAt?.N);
    return {
      state,
      by: byJob ? 'job' : 'cli',
      fraction,
      read: sourceReadOf(all),
      enqueued: enqueuedOf(all),
      targets: Object.keys(cp.counts),
      startedAt: iso(cp.startedAt),
      updatedAt: Number.isNaN(updated) ? null : iso(updated),
      finishedAt: null,
      etaSeconds:
        state === 'running' && fraction > 0 && fraction < 1
          ? Math.round((elapsed * (1 - fraction)) / fraction / 1000)
          : null,
    };
  }
  const json = reportItem.Item?.report?.S;
  if (json === undefined) return null;
  const r = parseStored<RunReport>(json, table, BACKFILL_REPORT_KEY, checkReport);
  return {
    state: 'complete',
    by: r.trigger === 'job' ? 'job' : 'cli',
    fraction: 1,
    read: sourceReadOf(r.targets),
    enqueued: r.repaired,
    targets: r.targets.map((t) => t.target),
    startedAt: iso(r.startedAt),
    updatedAt: r.finishedAt !== undefined ? iso(r.finishedAt) : null,
    finishedAt: r.finishedAt !== undefined ? iso(r.finishedAt) : null,
    etaSeconds: null,
  };
}

/** The statistic a lag figure is: p99, or Maximum where the endpoint computes no percentiles (moto). */
export type LagStatistic = 'p99' | 'Maximum';

async function lastHourMetrics(
  cw: CloudWatchClient,
  pair: string,
  target: string,
): Promise<{ items: number; p99: number | null; lagStatistic: LagStatistic }> {
  const end = new Date();
  const start = new Date(end.getTime() - 3600_000);
  const dims = [
    { Name: 'Pair', Value: pair },
    { Name: 'Target', Value: target },
  ];
  const metric = (name: MetricName) => ({ Namespace: METRICS_NAMESPACE, MetricName: name, Dimensions: dims });
  const query = (lagStat: LagStatistic) =>
    cw.send(
      new GetMetricDataCommand({
        StartTime: start,
        EndTime: end,
        MetricDataQueries: [
          {
            Id: 'items',
            MetricStat: {
              Metric: metric('ReplicatedItems'),
              Period: 3600,
              Stat: 'Sum',
            },
          },
          {
            Id: 'lag',
            MetricStat: {
              Metric: metric('ReplicationLatency'),
              Period: 3600,
              Stat: lagStat,
            },
          },
        ],
      }),
    );
  let lagStatistic: LagStatistic = 'p99';
  let res: Awaited<ReturnType<typeof query>>;
  try {
    res = await query('p99');
  } catch (err) {
    // moto fails on any percentile of a metric that has data (a 500 page instead of a response); the
    // Maximum bounds the p99 from above, and the output says which one it is.
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (!(err instanceof Error) || (status !== 500 && err.name !== 'SyntaxError')) throw err;
    lagStatistic = 'Maximum';
    res = await query('Maximum');
  }
  const get = (id: string) => res.MetricDataResults?.find((r) => r.Id === id)?.Values ?? [];
  const items = get('items').reduce((s, v) => s + v, 0);
  const lag = get('lag');
  return { items, p99: lag.length > 0 ? Math.max(...lag) : null, lagStatistic };
}

/**
 * What waits for a retry on a target: the oldest change (BacklogAge) and the envelopes re-sent (BacklogEnvelopes)
 * in the past 20 minutes; a waiting change is re-sent at least every 15 minutes, so any shows there.
 */
async function backlogMetrics(
  cw: CloudWatchClient,
  pair: string,
  target: string,
): Promise<{ ageMs: number | null; envelopes: number }> {
  const end = new Date();
  const metric = (name: MetricName) => ({
    Namespace: METRICS_NAMESPACE,
    MetricName: name,
    Dimensions: [
      { Name: 'Pair', Value: pair },
      { Name: 'Target', Value: target },
    ],
  });
  const res = await cw.send(
    new GetMetricDataCommand({
      StartTime: new Date(end.getTime() - 1_200_000),
      EndTime: end,
      MetricDataQueries: [
        { Id: 'backlogAge', MetricStat: { Metric: metric('BacklogAge'), Period: 1200, Stat: 'Maximum' } },
        { Id: 'backlogEnvelopes', MetricStat: { Metric: metric('BacklogEnvelopes'), Period: 1200, Stat: 'Sum' } },
      ],
    }),
  );
  const get = (id: string) => res.MetricDataResults?.find((r) => r.Id === id)?.Values ?? [];
  const age = get('backlogAge');
  return {
    ageMs: age.length > 0 ? Math.max(...age) : null,
    envelopes: get('backlogEnvelopes').reduce((s, v) => s + v, 0),
  };
}

/**
 * Reads every pair's queue depths, last-hour metrics and reconcile state (the latest run report and any
 * unfinished run's checkpoint in the pair's state table, in the source region). A pair whose state table
 * does not exist is reported as not deployed rather than failing the whole status.
 */
export async function pairStatus(cfg: ReplicationConfig, o: ClientOptions): Promise<PairStatus[]> {
  const sqs = new SQSClient(clientConfig(o));
  const cw = new CloudWatchClient(clientConfig(o));
  const ddb = new DynamoDBClient(clientConfig(o));
  return Promise.all(
    cfg.pairs.map(async (p): Promise<PairStatus> => {
      const names = pairResourceNames(p.name);
      const stateTable = names.stateTable;
      const reconcile = await readReconcileState(ddb, stateTable);
      if (!reconcile) {
        return {
          pair: p.name,
          deployed: false,
          reason: `state table ${stateTable} does not exist in ${o.region}${o.endpoint ? ` at ${o.endpoint}` : ''}`,
          targets: targetIds(p).map((target) => ({ target })),
        };
      }
      const backfillErrors: string[] = [];
      const backfill = await readBackfillState(ddb, stateTable).catch((err: unknown) => {
        if (!(err instanceof CorruptReconcileStateError)) throw err;
        backfillErrors.push(err.message);
        return null;
      });
      const [q, dlq, cap] = await Promise.all([
        queueDepth(sqs, names.queue),
        queueDepth(sqs, names.deadLetterQueue),
        queueDepth(sqs, names.captureFailureQueue),
      ]);
      const targets = await Promise.all(
        targetIds(p).map(async (id): Promise<TargetStatus> => {
          const [m, backlog] = await Promise.all([lastHourMetrics(cw, p.name, id), backlogMetrics(cw, p.name, id)]);
          const last = reconcile.report?.targets.find((r) => r.target === id);
          return {
            target: id,
            replicatedLastHour: m.items,
            backlogAgeMs: backlog.ageMs,
            backlogEnvelopes: backlog.envelopes,
            lagMs: m.p99,
            lagStatistic: m.lagStatistic,
            lastReconcile: last ? summarizeTarget(last) : null,
          };
        }),
      );
      return {
        pair: p.name,
        deployed: true,
        queueDepth: q.depth,
        dlqDepth: dlq.depth,
        captureFailures: cap.depth,
        targets,
        lastReconcile: reconcile.report ? summarize(reconcile.report) : null,
        reconcileInProgress: reconcile.progress,
        backfill,
        reconcileErrors: [...reconcile.errors, ...backfillErrors],
      };
    }),
  );
}

/** Dead letters that failed on one target for one reason. */
export interface DeadLetterGroup {
  /** The target a letter failed on (`rep-target`), or `all targets`. */
  readonly target: string;
  /** The error's name (`rep-error-name`), else `unknown`. */
  readonly reason: string;
  readonly count: number;
  /** When the oldest and the newest of them were dead-lettered (ISO 8601). */
  readonly oldest: string;
  readonly newest: string;
  /** The `rep-error` line of one of them: what failed and what it said. */
  readonly example: string;
}

/** What a redrive moved (or, with `dryRun`, found). */
export interface RedriveResult {
  /** Messages moved back to the pair queue; 0 with `dryRun`. */
  readonly moved: number;
  /** Messages read from the DLQ. */
  readonly seen: number;
  /** What they failed on and why, most frequent first. */
  readonly groups: DeadLetterGroup[];
}

/** Options of {@link redrive}. */
export interface RedriveOptions {
  /** Only read and group the dead letters; move nothing. */
  readonly dryRun?: boolean;
  /** Called after each batch with the messages read so far. */
  readonly onProgress?: (seen: number) => void;
}

/**
 * Moves every message of a pair's DLQ back to its queue, keeping the target a message was meant for and
 * resetting its attempts, and groups them by target and reason (with counts, oldest and newest) so the
 * operator sees what failed. With `dryRun` it only reads them: each is made visible again at once.
 */
export async function redrive(pair: string, o: ClientOptions, options: RedriveOptions = {}): Promise<RedriveResult> {
  const sqs = new SQSClient(clientConfig(o));
  const names = pairResourceNames(pair);
  const dlq = await queueDepth(sqs, names.deadLetterQueue);
  const queue = options.dryRun ? undefined : await queueDepth(sqs, names.queue);
  const groups = new Map<string, { -readonly [K in keyof DeadLetterGroup]: DeadLetterGroup[K] }>();
  const held: string[] = [];
  let moved = 0;
  let seen = 0;
  // Only what was there at the start: a message that fails again comes back to the DLQ while we run, and
  // moving it again would loop. A dry run holds what it read out of sight until it has read everything.
  const limit = dlq.depth;
  for (let emptyPolls = 0; emptyPolls < 2 && seen < limit; ) {
    const res = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlq.url,
        MaxNumberOfMessages: Math.min(10, limit - seen),
        WaitTimeSeconds: 1,
        VisibilityTimeout: options.dryRun ? 300 : 60,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['SentTimestamp'],
      }),
    );
    const msgs = res.Messages ?? [];
    if (msgs.length === 0) {
      emptyPolls++;
      continue;
    }
    emptyPolls = 0;
    seen += msgs.length;
    for (const m of msgs) {
      const a = m.MessageAttributes ?? {};
      const target = a[TARGET_ATTR]?.StringValue ?? ALL_TARGETS;
      const reason = a[ERROR_NAME_ATTR]?.StringValue ?? 'unknown';
      const at = new Date(Number(m.Attributes?.SentTimestamp ?? Date.now())).toISOString();
      const key = `${target}\u0000${reason}`;
      const g = groups.get(key);
      if (g === undefined) {
        const example = a[ERROR_ATTR]?.StringValue ?? reason;
        groups.set(key, { target, reason, count: 1, oldest: at, newest: at, example });
      } else {
        g.count += 1;
        if (at < g.oldest) g.oldest = at;
        if (at > g.newest) g.newest = at;
      }
    }
    if (options.dryRun || queue === undefined) {
      held.push(...msgs.map((m) => m.ReceiptHandle!));
      options.onProgress?.(seen);
      continue;
    }
    const entries = msgs.map((m, i) => {
      const attrs: Record<string, MessageAttributeValue> = {};
      const target = m.MessageAttributes?.[TARGET_ATTR]?.StringValue;
      if (target && target !== ALL_TARGETS) attrs[TARGET_ATTR] = { DataType: 'String', StringValue: target };
      if (m.MessageAttributes?.[REPAIR_ATTR]?.StringValue === 'true') {
        attrs[REPAIR_ATTR] = { DataType: 'String', StringValue: 'true' };
      }
      return { Id: String(i), MessageBody: m.Body!, MessageAttributes: attrs };
    });
    const sent = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: entries }));
    const ok = new Set((sent.Successful ?? []).map((x) => x.Id));
    const toDelete = msgs
      .map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! }))
      .filter((e) => ok.has(e.Id));
    if (toDelete.length > 0) await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: dlq.url, Entries: toDelete }));
    moved += toDelete.length;
    options.onProgress?.(seen);
  }
  // A dry run leaves the DLQ as it found it.
  for (let i = 0; i < held.length; i += 10) {
    const batch = held
      .slice(i, i + 10)
      .map((handle, j) => ({ Id: String(j), ReceiptHandle: handle, VisibilityTimeout: 0 }));
    await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: dlq.url, Entries: batch }));
  }
  return { moved, seen, groups: [...groups.values()].sort((a, b) => b.count - a.count) };
}
