/**
 * Reconcile of DynamoDB pairs: the comparer the engine's run (engine/reconcile-run.ts) drives. It compares a
 * source table with its targets by canonical checksum, finds missing, extra and different items, and (when
 * repair is on) re-enqueues the source's state through the normal apply path.
 *
 * Segment `n` of a source scan and segment `n` of a target scan do not cover the same keys (segments
 * split by hash of the key over each table's own partitions), so the two sides are never compared page
 * against page. Instead:
 * - the source scan finds missing and different items: each page's keys are looked up on every target
 *   with batch gets and checksums compared;
 * - each target's scan finds extra items: each page's keys are looked up in the source.
 * Every suspect is read again with a consistent read on both sides before it counts, and one whose source
 * changed since the scan is an in-flight write, not a mismatch. Reads are paced by a {@link ReadBudget}; the
 * engine checkpoints after every page so a run continues across invocations.
 *
 * Pure logic: tables, the checkpoint store and the repair queue are passed in.
 */
import type { ReadBudget } from '../engine/budget';
import {
  type CheckpointStore,
  newCheckpoint,
  type RunMode,
  type SegmentPlan,
  SOURCE_SCAN,
  type TargetCounts,
  targetScan,
} from '../engine/checkpoint';
import { chunks, mapLimit, realSleep } from '../engine/concurrency';
import {
  type Finding,
  ReconcileConfigError,
  type ReconcileResult,
  type RunOptions,
  runCheckpointed,
  type ScanStep,
} from '../engine/reconcile-run';
import { lostDeletes, type TombstoneStore } from '../engine/tombstones';
import { type AttributeFilter, type AttrMap, canonicalKey, keyHash, VERSION_ATTR } from './attributes';
import { estimateReadUnits, itemChecksum, keyOf } from './checksum';
import type { TableEnvelope } from './envelope';
import { buildRepairEnvelopes, type RepairFinding } from './repair';

/** One page of a segmented scan. */
export interface ScanPage {
  readonly items: AttrMap[];
  /** Start key of the next page; absent on the segment's last page. */
  readonly lastKey?: AttrMap;
  /** Read units DynamoDB reported (ReturnConsumedCapacity). @default - estimated from the items' size */
  readonly consumedUnits?: number;
}

/** A table as the reconciler reads it. */
export interface TableReader {
  /** One page of segment `segment` of a parallel scan (eventually consistent). */
  scanPage(segment: number, totalSegments: number, startKey: AttrMap | undefined, limit: number): Promise<ScanPage>;
  /**
   * The items of these keys that exist, in any order (BatchGetItem, eventually consistent; at most
   * `getBatchSize` keys per call; unprocessed keys retried by the reader).
   */
  getMany(keys: readonly AttrMap[]): Promise<AttrMap[]>;
  /** The item of this key, read with a strongly consistent read. */
  getConsistent(key: AttrMap): Promise<AttrMap | undefined>;
  /** The table's approximate item count (DescribeTable's ItemCount), for progress estimates. @default - unknown */
  approximateCount?(): Promise<number | undefined>;
}

/** A target as the reconciler sees it. */
export interface ReconcileTarget {
  /** Stable id (e.g. `eu-west-1/orders`): the report's and the checkpoint's name for it. */
  readonly id: string;
  readonly reader: TableReader;
}

/** What reconcile needs. */
export interface ReconcileDeps {
  readonly pair: string;
  /** Source region: the origin of repair envelopes. */
  readonly origin: string;
  /** Key attribute names of the tables. */
  readonly keyNames: readonly string[];
  /** The pair's attribute filter, applied to source items before comparing. @default - every attribute */
  readonly filter?: AttributeFilter;
  readonly source: TableReader;
  readonly targets: readonly ReconcileTarget[];
  readonly store: CheckpointStore;
  /** Paces every read. @default - reads are not paced */
  readonly budget?: ReadBudget;
  /** Parallel scan segments per table. @default 4 */
  readonly totalSegments?: number;
  /** Items per scan page. @default 500 */
  readonly pageSize?: number;
  /** Keys per batch get (BatchGetItem takes 100 at most). @default 100 */
  readonly getBatchSize?: number;
  /** Segments scanned at the same time. @default - totalSegments */
  readonly concurrency?: number;
  /** Re-enqueue the source's state for what differs. @default false - findings are only reported */
  readonly repair?: boolean;
  /** With repair, delete target items the source does not have. @default false - extras are only reported */
  readonly deleteExtra?: boolean;
  /**
   * The pair's tombstones: an extra item whose key has a newer tombstone is a lost delete, repaired whether
   * or not `deleteExtra` is on. @default - lost deletes are counted as extra items
   */
  readonly tombstones?: Pick<TombstoneStore, 'newest'>;
  /** Sends repair envelopes to the pair queue (restricted to one target when given); required with `repair`. */
  readonly enqueue?: (envelopes: readonly TableEnvelope[], targetId?: string) => Promise<void>;
  /** What the run is for (engine/checkpoint.ts {@link RunMode}). @default 'reconcile' */
  readonly mode?: RunMode;
  /** Source items per second the run reads at most. @default - not paced by items */
  readonly itemRate?: number;
  /**
   * Wait before re-reading suspects, so writes already on their way through the queue can land.
   * @default 0 - suspects are re-read at once
   */
  readonly recheckDelayMs?: number;
  /** Keys kept per target and kind for the report. @default 20 */
  readonly maxSamples?: number;
  /** Clock (epoch ms). @default - Date.now */
  readonly now?: () => number;
  /** Waits this many ms. @default - setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Which side a scan reads: the source (missing/different) or one target (extra). */
export type ScanSide = { readonly kind: 'source' } | { readonly kind: 'target'; readonly targetId: string };

/** What checking one page found. */
export interface PageOutcome {
  /** Count increments per target id. */
  readonly counts: Record<string, TargetCounts>;
  readonly findings: Finding<AttrMap>[];
  /** Findings with the source state repair needs (one per key). */
  readonly repairs: RepairFinding[];
  /** When the suspects' source items were re-read (epoch ms): the repair version derives from it. */
  readonly readAt: number;
  /** A backfill's repairs, per target: each goes to its own target only. */
  readonly repairsByTarget?: ReadonlyMap<string, RepairFinding[]>;
  /** Source items the page read. */
  readonly sourceItems?: number;
}

/** A segment's progress after a page. */
export interface SegmentStep {
  readonly segment: number;
  readonly lastKey?: AttrMap;
  readonly done: boolean;
  readonly outcome: PageOutcome;
}

function zeroCounts(ids: readonly string[]): Record<string, TargetCounts> {
  const out: Record<string, TargetCounts> = {};
  for (const id of ids)
    out[id] = { checked: 0, matched: 0, missing: 0, extra: 0, different: 0, inFlight: 0, repaired: 0 };
  return out;
}

/** A table reader whose every call waits for, then charges, the read budget. */
function paced(reader: TableReader, budget: ReadBudget | undefined): TableReader {
  if (!budget) return reader;
  return {
    async scanPage(segment, total, startKey, limit) {
      await budget.acquire();
      const page = await reader.scanPage(segment, total, startKey, limit);
      budget.charge(page.consumedUnits ?? estimateReadUnits(page.items, { consistent: false, perItem: false }));
      return page;
    },
    async getMany(keys) {
      await budget.acquire();
      const items = await reader.getMany(keys);
      // Keys not found still cost a read each.
      const misses = Math.max(0, keys.length - items.length) * 0.5;
      budget.charge(estimateReadUnits(items, { consistent: false, perItem: true }) + misses);
      return items;
    },
    async getConsistent(key) {
      await budget.acquire();
      const item = await reader.getConsistent(key);
      budget.charge(estimateReadUnits(item ? [item] : [], { consistent: true, perItem: true }));
      return item;
    },
  };
}

/** Context shared by the pages of one run. */
interface Ctx {
  readonly deps: ReconcileDeps;
  readonly source: TableReader;
  readonly targets: readonly ReconcileTarget[];
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

function makeCtx(deps: ReconcileDeps): Ctx {
  return {
    deps,
    source: paced(deps.source, deps.budget),
    targets: deps.targets.map((t) => ({ id: t.id, reader: paced(t.reader, deps.budget) })),
    now: deps.now ?? Date.now,
    sleep: deps.sleep ?? realSleep,
  };
}

/** Looks keys up with batch gets; returns canonical key → item. */
async function lookUp(reader: TableReader, keys: readonly AttrMap[], ctx: Ctx): Promise<Map<string, AttrMap>> {
  const keyNames = ctx.deps.keyNames;
  const found = new Map<string, AttrMap>();
  for (const batch of chunks(keys, ctx.deps.getBatchSize ?? 100)) {
    for (const item of await reader.getMany(batch)) {
      const key = keyOf(item, keyNames);
      if (key) found.set(canonicalKey(key), item);
    }
  }
  return found;
}

function sourceSum(item: AttrMap, deps: ReconcileDeps): string {
  return itemChecksum(item, { keyNames: deps.keyNames, filter: deps.filter });
}

/** Checks one source page against every target: missing and different items. */
async function checkSourcePage(ctx: Ctx, items: readonly AttrMap[]): Promise<PageOutcome> {
  const { deps } = ctx;
  const ids = ctx.targets.map((t) => t.id);
  const counts = zeroCounts(ids);
  const findings: Finding<AttrMap>[] = [];
  const repairs: RepairFinding[] = [];
  const scanned = new Map<string, { key: AttrMap; sum: string }>();
  for (const item of items) {
    const key = keyOf(item, deps.keyNames);
    if (key) scanned.set(canonicalKey(key), { key, sum: sourceSum(item, deps) });
  }
  const keys = [...scanned.values()].map((s) => s.key);
  // Canonical key → the targets where it looks wrong.
  const suspects = new Map<string, ReconcileTarget[]>();
  await Promise.all(
    ctx.targets.map(async (target) => {
      const found = await lookUp(target.reader, keys, ctx);
      const c = counts[target.id]!;
      for (const [ck, s] of scanned) {
        const there = found.get(ck);
        if (there !== undefined && itemChecksum(there) === s.sum) {
          c.checked++;
          c.matched++;
        } else {
          const list = suspects.get(ck) ?? [];
          list.push(target);
          suspects.set(ck, list);
        }
      }
    }),
  );
  const delay = deps.recheckDelayMs ?? 0;
  if (suspects.size > 0 && delay > 0) await ctx.sleep(delay);
  const readAt = ctx.now();
  await mapLimit([...suspects], 16, async ([ck, targets]) => {
    const s = scanned.get(ck)!;
    const now = await ctx.source.getConsistent(s.key);
    if (now === undefined) {
      // Deleted since the scan: the delete is on its way; each target's own scan judges what is left.
      for (const target of targets) counts[target.id]!.inFlight++;
      return;
    }
    const nowSum = sourceSum(now, deps);
    let repairKind: 'missing' | 'different' | undefined;
    await Promise.all(
      targets.map(async (target) => {
        const c = counts[target.id]!;
        const there = await target.reader.getConsistent(s.key);
        if (there !== undefined && itemChecksum(there) === nowSum) {
          c.checked++;
          c.matched++;
          return;
        }
        if (nowSum !== s.sum) {
          // Changed since the scan: an in-flight write, not a mismatch.
          c.inFlight++;
          return;
        }
        const kind = there === undefined ? 'missing' : 'different';
        c.checked++;
        c[kind]++;
        findings.push({ target: target.id, kind, key: s.key });
        if (repairKind !== 'different') repairKind = kind;
      }),
    );
    if (repairKind) repairs.push({ kind: repairKind, key: s.key, sourceItem: now });
  });
  return { counts, findings, repairs, readAt };
}

/**
 * A backfill's source page: looks each item up on every target and enqueues, per target, the scanned state
 * of what it lacks or holds different. Nothing is re-read: the repair version is one second before the scan
 * was sent (`readAt`), so whatever changed since sorts after the copy and wins.
 */
async function fillSourcePage(ctx: Ctx, items: readonly AttrMap[], readAt: number): Promise<PageOutcome> {
  const { deps } = ctx;
  const counts = zeroCounts(ctx.targets.map((t) => t.id));
  const findings: Finding<AttrMap>[] = [];
  const repairsByTarget = new Map<string, RepairFinding[]>();
  const scanned = new Map<string, { key: AttrMap; item: AttrMap; sum: string }>();
  for (const item of items) {
    const key = keyOf(item, deps.keyNames);
    if (key) scanned.set(canonicalKey(key), { key, item, sum: sourceSum(item, deps) });
  }
  const keys = [...scanned.values()].map((s) => s.key);
  await Promise.all(
    ctx.targets.map(async (target) => {
      const found = await lookUp(target.reader, keys, ctx);
      const c = counts[target.id]!;
      const repairs: RepairFinding[] = [];
      for (const [ck, s] of scanned) {
        const there = found.get(ck);
        c.checked++;
        if (there !== undefined && itemChecksum(there) === s.sum) {
          c.matched++;
          continue;
        }
        const kind = there === undefined ? 'missing' : 'different';
        c[kind]++;
        findings.push({ target: target.id, kind, key: s.key });
        repairs.push({ kind, key: s.key, sourceItem: s.item });
      }
      if (repairs.length > 0) repairsByTarget.set(target.id, repairs);
    }),
  );
  return { counts, findings, repairs: [], readAt, repairsByTarget };
}

/** Checks one page of a target against the source: extra items. */
async function checkTargetPage(ctx: Ctx, target: ReconcileTarget, items: readonly AttrMap[]): Promise<PageOutcome> {
  const { deps } = ctx;
  const counts = zeroCounts(ctx.targets.map((t) => t.id));
  const c = counts[target.id]!;
  const findings: Finding<AttrMap>[] = [];
  const repairs: RepairFinding[] = [];
  const scanned = new Map<string, AttrMap>();
  for (const item of items) {
    const key = keyOf(item, deps.keyNames);
    if (key) scanned.set(canonicalKey(key), key);
  }
  const inSource = await lookUp(ctx.source, [...scanned.values()], ctx);
  const suspects = [...scanned].filter(([ck]) => !inSource.has(ck));
  const delay = deps.recheckDelayMs ?? 0;
  if (suspects.length > 0 && delay > 0) await ctx.sleep(delay);
  const readAt = ctx.now();
  const extras: { key: AttrMap; hash: string; version?: string }[] = [];
  await mapLimit(suspects, 16, async ([, key]) => {
    const [src, there] = await Promise.all([ctx.source.getConsistent(key), target.reader.getConsistent(key)]);
    if (src !== undefined || there === undefined) {
      // Created in the source, or deleted from the target, since the scan: in flight.
      c.inFlight++;
      return;
    }
    const v = there[VERSION_ATTR];
    extras.push({ key, hash: keyHash(key), ...(v && 'S' in v ? { version: v.S } : {}) });
  });
  // An extra item whose key the source deleted after the target's copy was written is a lost delete.
  const lost = await lostDeletes(deps.tombstones, extras);
  for (const x of extras) {
    c.checked++;
    const tomb = lost.get(x.hash);
    if (tomb !== undefined) {
      c.lostDeletes = (c.lostDeletes ?? 0) + 1;
      findings.push({ target: target.id, kind: 'lostDelete', key: x.key });
      repairs.push({ kind: 'lostDelete', key: x.key, version: tomb });
      continue;
    }
    c.extra++;
    findings.push({ target: target.id, kind: 'extra', key: x.key });
    repairs.push({ kind: 'extra', key: x.key });
  }
  return { counts, findings, repairs, readAt };
}

/**
 * Scans one segment of one side page by page from `plan.startKey`, checking each page; calls `onPage`
 * after each (where the caller repairs and checkpoints) and stops early when `shouldStop` says so.
 * Returns where the segment is.
 */
export async function compareSegment(
  deps: ReconcileDeps,
  side: ScanSide,
  plan: SegmentPlan,
  hooks: {
    readonly shouldStop?: () => boolean;
    readonly onPage?: (step: SegmentStep) => Promise<void>;
  } = {},
): Promise<{ done: boolean; lastKey?: AttrMap }> {
  const ctx = makeCtx(deps);
  const total = deps.totalSegments ?? 4;
  const limit = deps.pageSize ?? 500;
  const target = side.kind === 'target' ? ctx.targets.find((t) => t.id === side.targetId) : undefined;
  if (side.kind === 'target' && !target) throw new ReconcileConfigError(`unknown target "${side.targetId}"`);
  const reader = target ? target.reader : ctx.source;
  // A table pair's positions are the keys its own scans returned.
  let startKey = plan.startKey as AttrMap | undefined;
  const fill = deps.mode === 'backfill';
  for (;;) {
    if (hooks.shouldStop?.()) return startKey ? { done: false, lastKey: startKey } : { done: false };
    const sentAt = ctx.now();
    const page = await reader.scanPage(plan.segment, total, startKey, limit);
    // A source page is charged to the run's item pace; a target's (reconcile only) is not.
    const outcome = target
      ? await checkTargetPage(ctx, target, page.items)
      : {
          ...(fill ? await fillSourcePage(ctx, page.items, sentAt) : await checkSourcePage(ctx, page.items)),
          sourceItems: page.items.length,
        };
    const done = page.lastKey === undefined;
    await hooks.onPage?.({ segment: plan.segment, ...(page.lastKey ? { lastKey: page.lastKey } : {}), done, outcome });
    if (done) return { done: true };
    startKey = page.lastKey;
  }
}

/**
 * Runs (or continues) a reconcile run of a table pair until it is done or the deadline is near (the engine's
 * {@link runCheckpointed}): the source scan's segments and each target scan's segments, `concurrency` at a time.
 */
export async function runReconcile(deps: ReconcileDeps, opts: RunOptions): Promise<ReconcileResult> {
  const ids = deps.targets.map((t) => t.id);
  const total = deps.totalSegments ?? 4;
  if (deps.repair && !deps.enqueue) throw new ReconcileConfigError('repair is on but no enqueue function was given');
  if (deps.keyNames.length === 0) throw new ReconcileConfigError('keyNames must name the key attributes');
  const now = deps.now ?? Date.now;
  const mode = deps.mode ?? 'reconcile';
  return runCheckpointed(
    {
      pair: deps.pair,
      targetIds: ids,
      totalSegments: total,
      store: deps.store,
      mode,
      newRun: async (startedAt) => {
        const cp = newCheckpoint(deps.pair, ids, total, startedAt, mode);
        if (mode !== 'backfill') return cp;
        // A backfill never looks for extras (the targets' scans are not run), and says how far it is.
        for (const id of ids) cp.scans[targetScan(id)] = [];
        const estimatedTotal = await deps.source.approximateCount?.();
        return estimatedTotal !== undefined ? { ...cp, estimatedTotal } : cp;
      },
      ...(deps.itemRate !== undefined ? { itemRate: deps.itemRate } : {}),
      concurrency: deps.concurrency ?? total,
      ...(deps.maxSamples !== undefined ? { maxSamples: deps.maxSamples } : {}),
      now,
    },
    {
      scan: async (unit, hooks) => {
        const side: ScanSide =
          unit.scan === SOURCE_SCAN
            ? { kind: 'source' }
            : { kind: 'target', targetId: unit.scan.slice(targetScan('').length) };
        await compareSegment(
          deps,
          side,
          { segment: unit.segment, ...(unit.startKey ? { startKey: unit.startKey as AttrMap } : {}) },
          { shouldStop: hooks.shouldStop, onPage: (step) => hooks.onPage(scanStep(deps, step, now)) },
        );
      },
    },
    opts,
  );
}

/** A checked page as the engine's run takes it: counts, findings, and the repairs of what the pair may repair. */
function scanStep(deps: ReconcileDeps, step: SegmentStep, now: () => number): ScanStep {
  const o = step.outcome;
  const repairable = deps.repair ? o.findings.filter((f) => f.kind !== 'extra' || deps.deleteExtra) : [];
  const envelopeOptions = () => ({
    pair: deps.pair,
    origin: deps.origin,
    keyNames: deps.keyNames,
    ...(deps.filter ? { filter: deps.filter } : {}),
    deleteExtra: deps.deleteExtra ?? false,
    readAt: o.readAt,
    capturedAt: now(),
  });
  const repaired = () => {
    const out: Record<string, number> = {};
    for (const f of repairable) out[f.target] = (out[f.target] ?? 0) + 1;
    return out;
  };
  const repair = o.repairsByTarget
    ? async () => {
        // A backfill's repairs go to the target that needs them only.
        for (const [targetId, findings] of o.repairsByTarget!) {
          await deps.enqueue!(buildRepairEnvelopes(findings, envelopeOptions()), targetId);
        }
        return repaired();
      }
    : async () => {
        const envelopes = buildRepairEnvelopes(o.repairs, envelopeOptions());
        if (envelopes.length > 0) await deps.enqueue!(envelopes);
        return repaired();
      };
  return {
    ...(step.lastKey ? { lastKey: step.lastKey } : {}),
    done: step.done,
    counts: o.counts,
    findings: o.findings,
    ...(repairable.length > 0 ? { repair } : {}),
    ...(o.sourceItems ? { sourceItems: o.sourceItems } : {}),
  };
}
