/**
 * The run state of a reconcile run as a plain JSON object: which scan segments are done, where the others
 * stopped, and the counts so far, whatever the pair type. A store persists it after every page, so work that
 * does not fit one invocation continues in the next one.
 */

/**
 * A scan position or a finding's key, as the run keeps them: an attribute map (a table key in DynamoDB JSON,
 * or `{ "key": { "S": "<object key>" } }` for S3), so one checkpoint and report shape serves every pair type.
 */
export type Cursor = Readonly<Record<string, unknown>>;

/** Where one scan segment is. */
export interface SegmentState {
  readonly done: boolean;
  /** Exclusive start key of the next page; absent before the first page. */
  readonly lastKey?: Cursor;
  /** How much of the segment is behind `lastKey`, 0 to 1, where the pair type can tell (S3 key ranges). */
  readonly fraction?: number;
}

/** A segment still to scan, and where to start it. */
export interface SegmentPlan {
  readonly segment: number;
  readonly startKey?: Cursor;
}

/** Counts of one target. */
export interface TargetCounts {
  /** Items compared (matched + missing + different + extra). */
  checked: number;
  matched: number;
  /** In the source, not in the target. */
  missing: number;
  /** In the target, not in the source. */
  extra: number;
  /** In both, with different checksums. */
  different: number;
  /** Suspects that changed while being checked (in-flight writes): neither checked nor counted. */
  inFlight: number;
  /** Findings for which a repair envelope was enqueued. */
  repaired: number;
  /**
   * S3: objects counted as matched on size alone, since neither a full-object checksum nor MD5 ETags could
   * compare them. Absent for DynamoDB, whose items are always compared by checksum.
   */
  unverified?: number;
  /**
   * In the target, not in the source, where the pair's tombstone says the source deleted the key after the
   * target's copy was written: a delete that was lost (dead-lettered during an outage, say), repaired as the
   * delete it is whether or not `deleteExtra` is on. Counted apart from `extra`; absent when none was found.
   */
  lostDeletes?: number;
  /** S3: source objects the pair's suffix leaves out (listed, never compared). Absent when none. */
  skipped?: number;
  /** S3: bytes of the source objects checked. Absent for DynamoDB. */
  bytes?: number;
}

/** Keys of the first findings of one target. */
export interface FindingSamples {
  /** Keys of lost deletes (absent in checkpoints written before they were counted). */
  readonly lostDelete?: Cursor[];
  readonly missing: Cursor[];
  readonly extra: Cursor[];
  readonly different: Cursor[];
}

/** The scan that finds missing and different items (source segments). */
export const SOURCE_SCAN = 'source';
/** The scan of a target that finds its extra items. */
export const targetScan = (targetId: string) => `target:${targetId}`;

/**
 * What a run is for. `reconcile` compares everything and repairs what the pair allows. `backfill` fills
 * targets from the source: it looks only for what a target lacks or holds different (never for extras),
 * enqueues the source's state of those without re-reading them (a change made since sorts after the copy),
 * and restricts every repair to the target that needs it.
 */
export type RunMode = 'reconcile' | 'backfill';

/** The persisted state of one reconcile run. */
export interface ReconcileCheckpoint {
  readonly v: 1;
  readonly pair: string;
  /** What the run is for. @default 'reconcile' (checkpoints written before backfills ran on the engine) */
  readonly mode?: RunMode;
  /**
   * Where the segments of a key-range scan split (S3): segment `i` covers the keys after `bounds[i - 1]` up
   * to and including `bounds[i]`; the first starts at the beginning, the last runs to the end. Fixed when the
   * run starts, so every invocation scans the same ranges. Absent for scans split by hash (DynamoDB).
   */
  readonly bounds?: string[];
  /** The source's approximate size when the run started (DynamoDB's ItemCount), for the progress estimate. */
  readonly estimatedTotal?: number;
  /** When the run started (epoch ms). */
  readonly startedAt: number;
  /** When the run finished (epoch ms); absent while it has work left. */
  finishedAt?: number;
  readonly totalSegments: number;
  /** Segment states per scan ({@link SOURCE_SCAN}, {@link targetScan}), `totalSegments` each. */
  readonly scans: Record<string, SegmentState[]>;
  /** Counts per target id. */
  readonly counts: Record<string, TargetCounts>;
  /** The first keys found per target and kind (a few, so the state stays small), for the run report. */
  readonly samples: Record<string, FindingSamples>;
  /** Invocations that worked on this run. */
  invocations: number;
  /** Time spent in those invocations (ms). */
  activeMs: number;
}

/** Persists the run state between invocations (the pair's state table in AWS). */
export interface CheckpointStore {
  load(): Promise<ReconcileCheckpoint | undefined>;
  save(checkpoint: ReconcileCheckpoint): Promise<void>;
  /** Forgets the checkpoint of a finished run, so the next one starts afresh. @default - kept (in-memory runs) */
  clear?(): Promise<void>;
}

/**
 * Saves checkpoints one after another, each a snapshot taken when save() was called, so a slow save never
 * lands after a later one.
 */
export class CheckpointSaver {
  private saving: Promise<void> = Promise.resolve();
  constructor(private readonly store: CheckpointStore) {}

  /** Queues a save of `cp` as it is now; resolves when it (and every earlier one) is saved. */
  save(cp: ReconcileCheckpoint): Promise<void> {
    const snapshot = structuredClone(cp);
    this.saving = this.saving.then(() => this.store.save(snapshot));
    return this.saving;
  }

  /** Resolves when every queued save is done. */
  flush(): Promise<void> {
    return this.saving;
  }
}

/** DynamoDB's bound on TotalSegments of a parallel scan. */
export const MAX_SEGMENTS = 1_000_000;

/** A segment count or a checkpoint that cannot be used. */
export class InvalidCheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidCheckpointError';
  }
}

/** Throws unless `totalSegments` is an integer DynamoDB accepts. */
export function checkSegments(totalSegments: number): void {
  if (!Number.isInteger(totalSegments) || totalSegments < 1 || totalSegments > MAX_SEGMENTS) {
    throw new InvalidCheckpointError(
      `totalSegments must be an integer between 1 and ${MAX_SEGMENTS} inclusive (given ${totalSegments})`,
    );
  }
}

/**
 * The segments still to scan, in order, each with its start key: every segment when there is no saved
 * state, otherwise those not done, resuming after their last key.
 */
export function planSegments(totalSegments: number, saved?: readonly SegmentState[]): SegmentPlan[] {
  checkSegments(totalSegments);
  if (saved && saved.length !== totalSegments) {
    throw new InvalidCheckpointError(
      `checkpoint has ${saved.length} segment(s) but the run uses ${totalSegments}; start a new run`,
    );
  }
  const plans: SegmentPlan[] = [];
  for (let segment = 0; segment < totalSegments; segment++) {
    const state = saved?.[segment];
    if (state?.done) continue;
    plans.push(state?.lastKey ? { segment, startKey: state.lastKey } : { segment });
  }
  return plans;
}

/** Zero counts. */
export function emptyCounts(): TargetCounts {
  return { checked: 0, matched: 0, missing: 0, extra: 0, different: 0, inFlight: 0, repaired: 0 };
}

/** The state of a run that has not started: every scan at its first page, all counts zero. */
export function newCheckpoint(
  pair: string,
  targetIds: readonly string[],
  totalSegments: number,
  startedAt: number,
  mode: RunMode = 'reconcile',
): ReconcileCheckpoint {
  checkSegments(totalSegments);
  const fresh = () => Array.from({ length: totalSegments }, (): SegmentState => ({ done: false }));
  const scans: Record<string, SegmentState[]> = { [SOURCE_SCAN]: fresh() };
  const counts: Record<string, TargetCounts> = {};
  const samples: Record<string, FindingSamples> = {};
  for (const id of targetIds) {
    scans[targetScan(id)] = fresh();
    counts[id] = emptyCounts();
    samples[id] = { missing: [], extra: [], different: [] };
  }
  return {
    v: 1,
    pair,
    ...(mode !== 'reconcile' ? { mode } : {}),
    startedAt,
    totalSegments,
    scans,
    counts,
    samples,
    invocations: 0,
    activeMs: 0,
  };
}

/** Whether every segment of every scan is done. */
export function isComplete(cp: ReconcileCheckpoint): boolean {
  return Object.values(cp.scans).every((segments) => segments.every((s) => s.done));
}

/**
 * Whether a saved checkpoint belongs to a run this configuration can continue (same pair, targets and
 * segment count); otherwise a new run starts.
 */
export function canResume(
  cp: ReconcileCheckpoint,
  pair: string,
  targetIds: readonly string[],
  totalSegments: number,
  mode: RunMode = 'reconcile',
): boolean {
  if (cp.v !== 1 || cp.pair !== pair || cp.totalSegments !== totalSegments || cp.finishedAt !== undefined) {
    return false;
  }
  if ((cp.mode ?? 'reconcile') !== mode) return false;
  const ids = Object.keys(cp.counts).sort();
  const want = [...targetIds].sort();
  return ids.length === want.length && ids.every((id, i) => id === want[i]);
}

/**
 * How far a run is, 0 to 1: 1 when complete; else the share of the source read so far where the source's
 * size is known (capped below 1), else the mean of its segments' progress (a done segment counts 1, one in
 * progress its `fraction`, when the pair type can tell it).
 */
export function progressOf(cp: ReconcileCheckpoint): number {
  if (cp.finishedAt !== undefined || isComplete(cp)) return 1;
  if (cp.estimatedTotal !== undefined && cp.estimatedTotal > 0) {
    // Every target sees every source item: the source's share is the least of the targets'.
    const read = Math.min(...Object.values(cp.counts).map((c) => sourceReadOf([c])));
    return Math.min(0.99, read / cp.estimatedTotal);
  }
  const segments = Object.values(cp.scans).flat();
  if (segments.length === 0) return 0;
  return segments.reduce((n, s) => n + (s.done ? 1 : (s.fraction ?? 0)), 0) / segments.length;
}

/** Source items (objects) a run has read: every target sees each one, so the most any target has seen. */
export function sourceReadOf(counts: Readonly<Record<string, TargetCounts>> | readonly TargetCounts[]): number {
  const all: readonly TargetCounts[] = Array.isArray(counts) ? counts : Object.values(counts);
  return Math.max(0, ...all.map((c) => c.checked + c.inFlight + (c.skipped ?? 0)));
}

/** Items (objects) a run has enqueued to its targets, over all of them. */
export function enqueuedOf(counts: Readonly<Record<string, TargetCounts>> | readonly TargetCounts[]): number {
  const all: readonly TargetCounts[] = Array.isArray(counts) ? counts : Object.values(counts);
  return all.reduce((n, c) => n + c.repaired, 0);
}
