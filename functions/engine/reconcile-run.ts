/**
 * The reconcile run, whatever the pair type: a checkpointed, time-budgeted loop over the scans a pair type's
 * comparer defines, the run report, and what an invocation does at its end (publish the metrics of a finished
 * run, keep its report, clear its checkpoint). A pair type brings only its {@link Comparer}: how one scan unit
 * is read page by page, what a page finds, and how its repairs are enqueued.
 *
 * Progress is checkpointed after every page (after its repairs were enqueued), so a run continues across
 * invocations and an invocation that dies redoes at most one page per unit.
 */
import { RECONCILE_METRICS } from '../contract';
import { ReadBudget } from './budget';
import {
  CheckpointSaver,
  type CheckpointStore,
  type Cursor,
  canResume,
  type FindingSamples,
  isComplete,
  type ReconcileCheckpoint,
  type RunMode,
  SOURCE_SCAN,
  type TargetCounts,
  targetScan,
} from './checkpoint';
import { mapLimit } from './concurrency';
import { logger } from './logger';
import { addMetric, metricsFor } from './metrics';

/** The kinds of difference a run finds on a target. */
export type FindingKind = 'missing' | 'extra' | 'different' | 'lostDelete';

/** A confirmed difference on one target. */
export interface Finding<K = Cursor> {
  readonly target: string;
  readonly kind: FindingKind;
  readonly key: K;
}

/** A reconcile run configuration that cannot work. */
export class ReconcileConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReconcileConfigError';
  }
}

/** One unit of work: one segment of one scan, and where it starts. */
export interface ScanUnit {
  /** {@link SOURCE_SCAN} or {@link targetScan}(id). */
  readonly scan: string;
  readonly segment: number;
  readonly startKey?: Cursor;
}

/** What one page of a unit found, and where the unit is after it. */
export interface ScanStep {
  /** Start of the next page; absent when the unit is done (or before its first page). */
  readonly lastKey?: Cursor;
  readonly done: boolean;
  /** Count increments per target id. */
  readonly counts: Readonly<Record<string, Partial<TargetCounts>>>;
  /** The page's confirmed differences (the report keeps the first few keys of each kind). */
  readonly findings: readonly Finding[];
  /** Enqueues the page's repairs; returns the findings repaired per target id. @default - nothing to repair */
  readonly repair?: () => Promise<Readonly<Record<string, number>>>;
  /** How much of the unit is behind `lastKey`, 0 to 1, where the pair type can tell. */
  readonly fraction?: number;
  /** Source items (objects) the page read, charged to the run's item pace. @default 0 */
  readonly sourceItems?: number;
}

/** A pair type's side of a run. */
export interface Comparer {
  /**
   * Reads one unit page by page from its start key, calling `onPage` after each page (the run enqueues the
   * page's repairs and checkpoints there), and returns when the unit is done or `shouldStop` says so.
   */
  scan(
    unit: ScanUnit,
    hooks: { readonly shouldStop: () => boolean; readonly onPage: (step: ScanStep) => Promise<void> },
  ): Promise<void>;
}

/** How a run is set up. */
export interface RunSettings {
  readonly pair: string;
  /** The targets' ids (each has its own counts and scan). */
  readonly targetIds: readonly string[];
  /** Segments per scan (S3: 1, a merge join per target). */
  readonly totalSegments: number;
  readonly store: CheckpointStore;
  /** What the run is for: a saved checkpoint of another mode is not continued. @default 'reconcile' */
  readonly mode?: RunMode;
  /**
   * The checkpoint of a new run (a pair type may leave out scans it does not have, or fix where its
   * segments split).
   */
  readonly newRun: (startedAt: number) => ReconcileCheckpoint | Promise<ReconcileCheckpoint>;
  /**
   * Source items per second the run reads at most: each page is charged its {@link ScanStep.sourceItems}, and
   * the next page of its unit waits until the pace is out of debt. @default - not paced by items
   */
  readonly itemRate?: number;
  /** Called with the run's checkpoint (continued or new) before the first page: what the comparer must know of it. */
  readonly onStart?: (cp: ReconcileCheckpoint) => void;
  /** Units scanned at the same time. @default - every unit at once */
  readonly concurrency?: number;
  /** Keys kept per target and kind for the report. @default 20 */
  readonly maxSamples?: number;
  /** Clock (epoch ms). @default - Date.now */
  readonly now?: () => number;
}

/** Options of one invocation. */
export interface RunOptions {
  /** Epoch ms by which the invocation must have returned (e.g. now + remaining Lambda time - margin). */
  readonly deadlineMs: number;
}

/** One target's part of a run report. */
export interface TargetReport extends TargetCounts {
  readonly target: string;
  /** matched / checked (1 when nothing was checked). */
  readonly consistencyRatio: number;
  /** The first keys found of each kind. */
  readonly samples: FindingSamples;
}

/** What a run found wrong on a target: missing + extra + different + lost deletes. */
export function mismatchedOf(t: Pick<TargetCounts, 'missing' | 'extra' | 'different' | 'lostDeletes'>): number {
  return t.missing + t.extra + t.different + (t.lostDeletes ?? 0);
}

/** One target's headline numbers of a run (the invocation's summary, `replicator status`). */
export type TargetSummary = Pick<
  TargetReport,
  'target' | 'checked' | 'missing' | 'extra' | 'different' | 'repaired' | 'consistencyRatio'
> & { readonly lostDeletes: number };

/** The headline numbers of a target's report, without its samples and in-flight counts. */
export function targetSummary(t: TargetReport): TargetSummary {
  return {
    target: t.target,
    checked: t.checked,
    missing: t.missing,
    extra: t.extra,
    different: t.different,
    lostDeletes: t.lostDeletes ?? 0,
    repaired: t.repaired,
    consistencyRatio: t.consistencyRatio,
  };
}

/** The run report (kept in the pair's state, published as metrics). */
export interface RunReport {
  readonly pair: string;
  readonly complete: boolean;
  readonly startedAt: number;
  /** Absent while the run has work left. */
  readonly finishedAt?: number;
  /** Start to finish (or to now, while running), ms. */
  readonly durationMs: number;
  /** Time spent in invocations, ms. */
  readonly activeMs: number;
  readonly invocations: number;
  readonly targets: TargetReport[];
  readonly checked: number;
  readonly matched: number;
  /** missing + extra + different + lost deletes over all targets. */
  readonly mismatched: number;
  readonly repaired: number;
  /** matched / checked over all targets (1 when nothing was checked). */
  readonly consistencyRatio: number;
  /**
   * Who ran it: `schedule` (the deployed reconcile function; also when absent), `cli` (`replicator reconcile`
   * or `backfill`) or `job` (the deployed backfill job).
   */
  readonly trigger?: 'schedule' | 'cli' | 'job';
  /** What the run was for. @default 'reconcile' */
  readonly mode?: RunMode;
}

const ratio = (matched: number, checked: number) => (checked === 0 ? 1 : matched / checked);

/** Builds the report of a run from its checkpoint. */
export function buildReport(cp: ReconcileCheckpoint, now: number): RunReport {
  const targets: TargetReport[] = Object.entries(cp.counts).map(([target, c]) => ({
    target,
    ...c,
    consistencyRatio: ratio(c.matched, c.checked),
    samples: cp.samples[target] ?? { missing: [], extra: [], different: [] },
  }));
  const sum = (f: (t: TargetReport) => number) => targets.reduce((n, t) => n + f(t), 0);
  const checked = sum((t) => t.checked);
  const matched = sum((t) => t.matched);
  return {
    pair: cp.pair,
    ...(cp.mode !== undefined ? { mode: cp.mode } : {}),
    complete: cp.finishedAt !== undefined,
    startedAt: cp.startedAt,
    ...(cp.finishedAt !== undefined ? { finishedAt: cp.finishedAt } : {}),
    durationMs: (cp.finishedAt ?? now) - cp.startedAt,
    activeMs: cp.activeMs,
    invocations: cp.invocations,
    targets,
    checked,
    matched,
    mismatched: sum(mismatchedOf),
    repaired: sum((t) => t.repaired),
    consistencyRatio: ratio(matched, checked),
  };
}

/** What one invocation of a run did. */
export interface ReconcileResult {
  /** Whether the run finished (otherwise the next invocation continues from `checkpoint`). */
  readonly complete: boolean;
  readonly checkpoint: ReconcileCheckpoint;
  /** The report so far (final when `complete`). */
  readonly report: RunReport;
  /** Pages checked in this invocation. */
  readonly pages: number;
}

/** The units a checkpoint has left: every scan's segments not done, source scan first, then each target's. */
export function unitsOf(cp: ReconcileCheckpoint, targetIds: readonly string[]): ScanUnit[] {
  const units: ScanUnit[] = [];
  for (const scan of [SOURCE_SCAN, ...targetIds.map(targetScan)]) {
    (cp.scans[scan] ?? []).forEach((state, segment) => {
      if (state.done) return;
      units.push(state.lastKey ? { scan, segment, startKey: state.lastKey } : { scan, segment });
    });
  }
  return units;
}

/**
 * Runs (or continues) a reconcile run until it is done or the deadline is near: a page is started only if
 * the longest page so far would still end before `deadlineMs`. The checkpoint is saved after every page
 * (after its repair envelopes were enqueued), so an invocation that dies redoes at most one page per unit;
 * the next invocation continues where this one stopped.
 */
export async function runCheckpointed(
  settings: RunSettings,
  comparer: Comparer,
  opts: RunOptions,
): Promise<ReconcileResult> {
  const now = settings.now ?? Date.now;
  const started = now();
  const ids = settings.targetIds;
  if (new Set(ids).size !== ids.length) throw new ReconcileConfigError(`target ids repeat: ${ids.join(', ')}`);

  const saved = await settings.store.load();
  const cp: ReconcileCheckpoint =
    saved && canResume(saved, settings.pair, ids, settings.totalSegments, settings.mode)
      ? structuredClone(saved)
      : await settings.newRun(started);
  cp.invocations++;
  settings.onStart?.(cp);
  const maxSamples = settings.maxSamples ?? 20;
  const itemPace = settings.itemRate !== undefined ? new ReadBudget({ readRate: settings.itemRate }) : undefined;

  let longestPageMs = 0;
  let pages = 0;
  let failed = false;
  const saver = new CheckpointSaver(settings.store);
  const shouldStop = () => failed || now() + longestPageMs >= opts.deadlineMs;
  const units = unitsOf(cp, ids);

  const runUnit = async (unit: ScanUnit) => {
    // The deadline is the comparer's to check, before each page; a failed unit stops the others at once.
    if (failed) return;
    let pageStart = now();
    await comparer.scan(unit, {
      shouldStop,
      onPage: async (step) => {
        const repaired = step.repair ? await step.repair() : {};
        for (const [id, delta] of Object.entries(step.counts)) {
          const c = cp.counts[id]!;
          for (const k of Object.keys(delta) as (keyof TargetCounts)[]) c[k] = (c[k] ?? 0) + (delta[k] ?? 0);
        }
        for (const [id, n] of Object.entries(repaired)) cp.counts[id]!.repaired += n;
        for (const f of step.findings) {
          const samples = cp.samples[f.target];
          if (!samples) continue;
          // A checkpoint from before lost deletes were counted has no list for them yet.
          const list = (samples as Record<FindingKind, Cursor[] | undefined>)[f.kind] ?? [];
          if (list.length === 0) (samples as Record<FindingKind, Cursor[]>)[f.kind] = list;
          if (list.length < maxSamples) list.push(f.key);
        }
        cp.scans[unit.scan]![unit.segment] = {
          done: step.done,
          ...(step.lastKey ? { lastKey: step.lastKey } : {}),
          ...(step.fraction !== undefined && !step.done ? { fraction: step.fraction } : {}),
        };
        pages++;
        const t = now();
        longestPageMs = Math.max(longestPageMs, t - pageStart);
        await saver.save(cp);
        let waited = 0;
        if (itemPace && step.sourceItems) {
          // The wait is the pace's, not the next page's: it does not count toward the longest page.
          const w0 = now();
          itemPace.charge(step.sourceItems);
          await itemPace.acquire();
          waited = now() - w0;
        }
        pageStart = t + waited;
      },
    });
  };

  try {
    await mapLimit(units, settings.concurrency ?? units.length, (unit) =>
      runUnit(unit).catch((err: unknown) => {
        failed = true;
        throw err;
      }),
    );
  } catch (err) {
    await saver.flush();
    throw err;
  }
  return endInvocation(cp, saver, { startedAt: started, pages, now });
}

/**
 * Ends an invocation: waits for the pages' saves, adds the invocation's time, marks the run finished when
 * every scan is done, saves once more and returns the result.
 */
async function endInvocation(
  cp: ReconcileCheckpoint,
  saver: CheckpointSaver,
  o: { readonly startedAt: number; readonly pages: number; readonly now: () => number },
): Promise<ReconcileResult> {
  await saver.flush();
  cp.activeMs += o.now() - o.startedAt;
  if (isComplete(cp)) cp.finishedAt = o.now();
  await saver.save(cp);
  return {
    complete: cp.finishedAt !== undefined,
    checkpoint: structuredClone(cp),
    report: buildReport(cp, o.now()),
    pages: o.pages,
  };
}

/** Where a finished run leaves its report (the pair's state table: state-table.ts). */
export interface ReportStore {
  /** Stores the report of a finished run. */
  saveLatest(report: RunReport): Promise<void>;
}

/** Time kept back from the invocation's remaining time for saving, publishing and returning. */
export const DEADLINE_MARGIN_MS = 20_000;

/** What one invocation returns. */
export interface ReconcileSummary {
  readonly pair: string;
  readonly complete: boolean;
  /** Pages (chunks) checked in this invocation. */
  readonly pages: number;
  readonly invocations: number;
  readonly checked: number;
  readonly mismatched: number;
  readonly repaired: number;
  readonly consistencyRatio: number;
  readonly durationMs: number;
  readonly targets: readonly TargetSummary[];
}

/**
 * What a run found on a target and did not repair: all it found with repair off; with repair on, extras the
 * pair does not let it delete. The "mismatched after repair" alarm watches this.
 */
export function unrepaired(
  t: Pick<TargetReport, 'missing' | 'extra' | 'different' | 'lostDeletes' | 'repaired'>,
): number {
  return Math.max(0, mismatchedOf(t) - t.repaired);
}

/** The values of a finished run's metrics for one target (published by the function, and by the CLI). */
export function reconcileMetricValues(
  report: Pick<RunReport, 'durationMs'>,
  t: TargetReport,
): Record<(typeof RECONCILE_METRICS)[number], number> {
  return {
    ReconcileChecked: t.checked,
    ReconcileMismatched: mismatchedOf(t),
    ReconcileMissing: t.missing,
    ReconcileExtra: t.extra,
    ReconcileLostDeletes: t.lostDeletes ?? 0,
    ReconcileRepaired: t.repaired,
    ReconcileUnrepaired: unrepaired(t),
    ConsistencyRatio: t.consistencyRatio,
    ReconcileDuration: report.durationMs,
  };
}

/**
 * Publishes a finished run's metrics per target (EMF; namespace Replicator, dimensions Pair and Target), and
 * one ReconcileRuns for the pair, whose absence for two schedule periods is an alarm.
 */
export function publishReport(report: RunReport): void {
  for (const t of report.targets) {
    const m = metricsFor({ Pair: report.pair, Target: t.target });
    const values = reconcileMetricValues(report, t);
    for (const name of RECONCILE_METRICS) addMetric(m, name, values[name]);
    m.publishStoredMetrics();
  }
  const pair = metricsFor({ Pair: report.pair });
  addMetric(pair, 'ReconcileRuns', 1);
  pair.publishStoredMetrics();
}

/** Finishes an invocation: publish and store a complete run, log either way, and summarize. */
export async function finishInvocation(
  result: ReconcileResult,
  stores: { readonly reports: ReportStore; readonly checkpoints: CheckpointStore },
): Promise<ReconcileSummary> {
  const { report } = result;
  if (result.complete) {
    publishReport(report);
    await stores.reports.saveLatest(report);
    await stores.checkpoints.clear?.();
    logger.info('reconcile run finished', {
      checked: report.checked,
      mismatched: report.mismatched,
      repaired: report.repaired,
      consistencyRatio: report.consistencyRatio,
      invocations: report.invocations,
    });
  } else {
    logger.info('reconcile run continues next invocation', { pages: result.pages, checked: report.checked });
  }
  return {
    pair: report.pair,
    complete: result.complete,
    pages: result.pages,
    invocations: report.invocations,
    checked: report.checked,
    mismatched: report.mismatched,
    repaired: report.repaired,
    consistencyRatio: report.consistencyRatio,
    durationMs: report.durationMs,
    targets: report.targets.map(targetSummary),
  };
}
