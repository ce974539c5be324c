/**
 * Reconcile of S3 pairs: the comparer the engine's run (engine/reconcile-run.ts) drives. It compares the
 * objects of a source bucket under the pair's prefix (and suffix) with each target bucket's, finds missing, extra and different objects, and (when repair is on) re-enqueues
 * the source's current state through the normal copy path.
 *
 * ListObjectsV2 returns keys in UTF-8 byte order, so each target is a merge join of two sorted listings:
 * the source's and the target's, both from the same start key. A chunk ends at the smaller of the two
 * pages' last keys (what lies beyond it stays buffered for the next chunk), so a key is always judged with
 * both sides listed. The checkpoint is the last key judged, per target: a run continues after it.
 *
 * Comparing. Sizes first. Then ETags, but only of the same kind: two single-part ETags, or two multipart
 * ETags, that are equal settle it (equal ETags of different content would need an MD5 collision), while a
 * multipart ETag is never compared with a single-part one. Everything else is a suspect, and suspects are
 * settled by HEAD of both sides (ChecksumMode ENABLED) with the copier's own rule ({@link verifyCopy}):
 * full-object checksums, else MD5 ETags; a pair of objects neither can compare is counted as matched and
 * `unverified`. A suspect whose source changed since it was listed is in flight, not a mismatch.
 *
 * Repair versions. The copier applies a put only over an older `rep-v` and undoes it if a newer tombstone
 * exists, so a repair's version must beat what the target and the key's tombstone hold, yet lose to every
 * later real event. Real S3 orders a key's events by sequencer, which a HEAD cannot read, so the version is
 * derived from what is known rather than from the clock:
 * - a different object keeps its target's `rep-v` (the copier re-copies an equal version that does not
 *   verify), or goes just past the tombstone when that is newer;
 * - a missing object, or one without a `rep-v`, goes just past its tombstone, or gets the lowest version;
 * - an extra object's delete goes just past its target's `rep-v` (the lowest version when it has none).
 * Every repair message is restricted to its one target (message attribute `rep-target`).
 *
 * Pure logic: buckets, the checkpoint store, tombstones and the repair queue are passed in.
 */
import type { ReadBudget } from '../engine/budget';
import {
  type CheckpointStore,
  type Cursor,
  emptyCounts,
  newCheckpoint,
  type RunMode,
  SOURCE_SCAN,
  type TargetCounts,
  targetScan,
} from '../engine/checkpoint';
import { mapLimit, realSleep } from '../engine/concurrency';
import {
  type FindingKind,
  ReconcileConfigError,
  type ReconcileResult,
  type RunOptions,
  runCheckpointed,
  type ScanStep,
} from '../engine/reconcile-run';
import { lostDeletes, type TombstoneStore } from '../engine/tombstones';
import { compareVersions, LOWEST_OBJECT_VERSION, nextObjectVersion } from '../engine/version';
import type { TargetObject } from './copy';
import { type S3Envelope, s3KeyHash } from './envelope';
import { type ChecksumAlgorithm, isMultipartEtag, normalizeEtag, verifyCopy } from './integrity';
import { discoverBounds, positionIn } from './shards';

/** An object as a listing shows it. */
export interface ListedObject {
  readonly key: string;
  readonly size: number;
  /** As S3 returns it (quoted or not). */
  readonly etag: string;
  /** Epoch ms, when the listing says. */
  readonly lastModified?: number;
}

/** One page of a listing. */
export interface ListPage {
  /** In S3's order (UTF-8 bytes). */
  readonly objects: ListedObject[];
  /** Whether keys follow the last one of this page. */
  readonly truncated: boolean;
}

/** An object as a HEAD shows it (ChecksumMode ENABLED), with its `rep-v` when Replicator wrote it. */
export type HeadObject = TargetObject;

/** A bucket as the reconciler reads it. */
export interface BucketReader {
  /** Objects whose key starts with `prefix`, after `startAfter`, `limit` at most (ListObjectsV2). */
  list(prefix: string | undefined, startAfter: string | undefined, limit: number): Promise<ListPage>;
  /** HEAD of the current object; undefined when there is none. */
  head(key: string): Promise<HeadObject | undefined>;
}

/** A target as the S3 reconciler sees it. */
export interface S3ReconcileTarget {
  /** Stable id (e.g. `eu-west-1/datasets-eu`). */
  readonly id: string;
  readonly bucket: BucketReader;
}

/** The newest tombstone versions of some object keys (by {@link s3KeyHash}). */
export type TombstoneReader = Pick<TombstoneStore, 'newest'>;

/** What an S3 reconcile needs. */
export interface S3ReconcileDeps {
  readonly pair: string;
  /** Source region: the origin of repair envelopes. */
  readonly origin: string;
  /** Only keys starting with this. @default - every key */
  readonly prefix?: string;
  /** Only keys ending with this. @default - every key */
  readonly suffix?: string;
  readonly source: BucketReader;
  readonly targets: readonly S3ReconcileTarget[];
  readonly store: CheckpointStore;
  /** The pair's tombstones; required when `repair` is on. */
  readonly tombstones?: TombstoneReader;
  /** The checksum the copier asks for (CHECKSUM_ALGORITHM). @default CRC32 */
  readonly checksumAlgorithm?: ChecksumAlgorithm;
  /** Paces every request, one unit each. @default - requests are not paced */
  readonly budget?: ReadBudget;
  /** Keys per listing page (ListObjectsV2 returns 1,000 at most). @default 1000 */
  readonly pageSize?: number;
  /** Re-enqueue the source's state for what differs. @default false */
  readonly repair?: boolean;
  /** With repair, delete target objects the source does not have. @default false */
  readonly deleteExtra?: boolean;
  /** Sends repair envelopes restricted to one target; required when `repair` is on. */
  readonly enqueue?: (targetId: string, envelopes: readonly S3Envelope[]) => Promise<void>;
  /** Wait before re-reading suspects. @default 0 */
  readonly recheckDelayMs?: number;
  /** What the run is for (engine/checkpoint.ts {@link RunMode}). @default 'reconcile' */
  readonly mode?: RunMode;
  /** Key ranges listed in parallel (per target), split where shard discovery finds the keys (shards.ts). @default 1 */
  readonly shards?: number;
  /** Source objects per second the run reads at most. @default - not paced by objects */
  readonly itemRate?: number;
  /** Keys kept per target and kind for the report. @default 20 */
  readonly maxSamples?: number;
  /** HEADs at once while settling suspects. @default 16 */
  readonly concurrency?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Orders keys as S3 lists them: by their UTF-8 bytes (JavaScript's `<` compares UTF-16 units). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** How a checkpoint names an S3 key: the attribute-map shape every scan position has. */
export function keyCursor(key: string): Cursor {
  return { key: { S: key } };
}

function cursorKey(cursor: Cursor | undefined): string | undefined {
  const value = cursor?.key as { S?: unknown } | undefined;
  return typeof value?.S === 'string' ? value.S : undefined;
}

/** The version of a repair put (see the file's header). */
export function repairPutVersion(targetVersion: string | undefined, tombstone: string | undefined): string {
  if (targetVersion !== undefined && (tombstone === undefined || compareVersions(tombstone, targetVersion) <= 0)) {
    return targetVersion;
  }
  return tombstone !== undefined ? nextObjectVersion(tombstone) : LOWEST_OBJECT_VERSION;
}

/** The version of a repair delete of an extra object (see the file's header). */
export function repairDeleteVersion(targetVersion: string | undefined): string {
  return targetVersion !== undefined ? nextObjectVersion(targetVersion) : LOWEST_OBJECT_VERSION;
}

/** Whether a listing already shows two objects equal: same size, and equal ETags of the same kind. */
export function listedEqual(source: ListedObject, target: ListedObject): boolean {
  if (source.size !== target.size) return false;
  if (isMultipartEtag(source.etag) !== isMultipartEtag(target.etag)) return false;
  return normalizeEtag(source.etag) === normalizeEtag(target.etag);
}

type Kind = FindingKind;

/** A confirmed difference on one target, with what its repair needs. */
interface S3Finding {
  readonly kind: Kind;
  readonly key: string;
  readonly source?: Pick<HeadObject, 'size' | 'etag'>;
  readonly targetVersion?: string;
  /** A lost delete's tombstone: the version of the source's delete. */
  readonly tombstone?: string;
}

/** What checking one chunk of one target found. */
interface ChunkOutcome {
  readonly counts: TargetCounts;
  readonly findings: S3Finding[];
  /** Objects matched by size alone (no checksum or MD5 ETag on both sides). */
  readonly unverified: number;
}

/** A bucket reader whose every request waits for, then charges one unit of, the budget. */
function paced(reader: BucketReader, budget: ReadBudget | undefined): BucketReader {
  if (!budget) return reader;
  return {
    async list(prefix, startAfter, limit) {
      await budget.acquire();
      budget.charge(1);
      return reader.list(prefix, startAfter, limit);
    },
    async head(key) {
      await budget.acquire();
      budget.charge(1);
      return reader.head(key);
    },
  };
}

/** A sorted listing of one key range, read page by page, buffered so a chunk can stop inside a page. */
class Listing {
  private buffer: ListedObject[] = [];
  private more = true;
  private after: string | undefined;
  /** Objects listed that the suffix leaves out. */
  skipped = 0;

  constructor(
    private readonly reader: BucketReader,
    private readonly prefix: string | undefined,
    private readonly suffix: string | undefined,
    startAfter: string | undefined,
    private readonly pageSize: number,
    /** The range's last key (inclusive). @default - the end of the listing */
    private readonly end?: string,
  ) {
    this.after = startAfter;
  }

  /** Lists the next page if the buffer is empty and keys remain. */
  async fill(): Promise<void> {
    while (this.buffer.length === 0 && this.more) {
      const page = await this.reader.list(this.prefix, this.after, this.pageSize);
      let objects = page.objects;
      const last = objects.at(-1);
      this.more = page.truncated && last !== undefined;
      if (last) this.after = last.key;
      if (this.end !== undefined && last !== undefined && compareKeys(last.key, this.end) >= 0) {
        // The range ends inside this page.
        objects = objects.filter((o) => compareKeys(o.key, this.end!) <= 0);
        this.more = false;
      }
      this.buffer = objects.filter((o) => this.suffix === undefined || o.key.endsWith(this.suffix));
      this.skipped += objects.length - this.buffer.length;
    }
  }

  /** The key up to which this side is known: the buffer's last key while keys remain, else undefined (the end). */
  bound(): string | undefined {
    return this.more ? this.after : undefined;
  }

  /** Removes and returns the buffered objects up to `bound` (all when undefined). */
  take(bound: string | undefined): ListedObject[] {
    if (bound === undefined) return this.buffer.splice(0);
    const n = this.buffer.findIndex((o) => compareKeys(o.key, bound) > 0);
    return this.buffer.splice(0, n === -1 ? this.buffer.length : n);
  }

  /** Takes the count of skipped objects since the last call. */
  takeSkipped(): number {
    const n = this.skipped;
    this.skipped = 0;
    return n;
  }
}

function minBound(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareKeys(a, b) <= 0 ? a : b;
}

interface Ctx {
  readonly deps: S3ReconcileDeps;
  readonly fill: boolean;
  readonly source: BucketReader;
  readonly algorithm: ChecksumAlgorithm;
  readonly sleep: (ms: number) => Promise<void>;
}

/** Settles one suspect with HEADs of both sides. */
async function settle(
  ctx: Ctx,
  target: BucketReader,
  listedSource: ListedObject | undefined,
  out: { counts: TargetCounts; findings: S3Finding[]; unverified: number },
  key: string,
): Promise<void> {
  const { counts } = out;
  const src = await ctx.source.head(key);
  if (listedSource === undefined) {
    // Listed on the target only: extra unless the source has it by now or the target lost it.
    const there = src === undefined ? await target.head(key) : undefined;
    if (src !== undefined || there === undefined) {
      counts.inFlight++;
      return;
    }
    counts.checked++;
    counts.extra++;
    out.findings.push({ kind: 'extra', key, ...(there.version !== undefined ? { targetVersion: there.version } : {}) });
    return;
  }
  if (src === undefined || normalizeEtag(src.etag) !== normalizeEtag(listedSource.etag)) {
    // Deleted or overwritten since it was listed: its event is on its way.
    counts.inFlight++;
    return;
  }
  const there = await target.head(key);
  const check = there ? verifyCopy(src, there, ctx.algorithm) : undefined;
  if (check && check.status !== 'mismatch') {
    counts.checked++;
    counts.matched++;
    if (check.status === 'unverified') out.unverified++;
    return;
  }
  const kind: Kind = there === undefined ? 'missing' : 'different';
  counts.checked++;
  counts[kind]++;
  out.findings.push({
    kind,
    key,
    source: src,
    ...(there?.version !== undefined ? { targetVersion: there.version } : {}),
  });
}

/** Judges one chunk of a target: source and target objects up to the same key. */
async function checkChunk(
  ctx: Ctx,
  target: BucketReader,
  sourceObjects: readonly ListedObject[],
  targetObjects: readonly ListedObject[],
): Promise<ChunkOutcome> {
  const out = { counts: emptyCounts(), findings: [] as S3Finding[], unverified: 0 };
  const inTarget = new Map(targetObjects.map((o) => [o.key, o]));
  const suspects: { key: string; source?: ListedObject }[] = [];
  for (const s of sourceObjects) {
    const t = inTarget.get(s.key);
    inTarget.delete(s.key);
    if (t !== undefined && listedEqual(s, t)) {
      out.counts.checked++;
      out.counts.matched++;
    } else if (t === undefined && ctx.fill) {
      // A backfill copies what the listing shows missing as listed: the copy is pinned to this ETag, so an
      // object changed since is left to its own event.
      out.counts.checked++;
      out.counts.missing++;
      out.findings.push({ kind: 'missing', key: s.key, source: { size: s.size, etag: s.etag } });
    } else suspects.push({ key: s.key, source: s });
  }
  // A backfill never looks for extras.
  if (!ctx.fill) for (const key of inTarget.keys()) suspects.push({ key });
  const delay = ctx.deps.recheckDelayMs ?? 0;
  if (suspects.length > 0 && delay > 0) await ctx.sleep(delay);
  await mapLimit(suspects, ctx.deps.concurrency ?? 16, (s) => settle(ctx, target, s.source, out, s.key));
  await findLostDeletes(ctx, out);
  // Settled in any order: in key order, the report's samples and the repairs do not depend on timing.
  out.findings.sort((a, b) => compareKeys(a.key, b.key));
  return out;
}

/**
 * Extra objects whose key the source deleted after the target's copy was written (a tombstone newer than the
 * copy's `rep-v`) are lost deletes: counted apart from extras, and repaired as the delete they are.
 */
async function findLostDeletes(ctx: Ctx, out: { counts: TargetCounts; findings: S3Finding[] }): Promise<void> {
  const extras = out.findings
    .filter((f) => f.kind === 'extra')
    .map((f) => ({ hash: s3KeyHash(f.key), version: f.targetVersion }));
  const lost = await lostDeletes(ctx.deps.tombstones, extras);
  if (lost.size === 0) return;
  out.findings = out.findings.map((f) => {
    const tomb = f.kind === 'extra' ? lost.get(s3KeyHash(f.key)) : undefined;
    if (tomb === undefined) return f;
    out.counts.extra--;
    out.counts.lostDeletes = (out.counts.lostDeletes ?? 0) + 1;
    return { ...f, kind: 'lostDelete', tombstone: tomb };
  });
}

/**
 * Builds the repair envelopes of one target's findings: extras only with `deleteExtra`; lost deletes always,
 * at their tombstone's version (the source's own delete).
 */
export function buildS3RepairEnvelopes(
  findings: readonly {
    readonly kind: Kind;
    readonly key: string;
    readonly source?: Pick<HeadObject, 'size' | 'etag'>;
    readonly targetVersion?: string;
    readonly tombstone?: string;
  }[],
  tombstones: ReadonlyMap<string, string>,
  opts: { readonly pair: string; readonly origin: string; readonly deleteExtra: boolean; readonly capturedAt: number },
): S3Envelope[] {
  const out: S3Envelope[] = [];
  for (const f of findings) {
    const base = { v: 1, pair: opts.pair, image: null, origin: opts.origin, capturedAt: opts.capturedAt } as const;
    if (f.kind === 'lostDelete' && f.tombstone !== undefined) {
      out.push({ ...base, op: 'delete', key: { key: f.key }, version: f.tombstone });
      continue;
    }
    if (f.kind === 'extra') {
      if (!opts.deleteExtra) continue;
      out.push({ ...base, op: 'delete', key: { key: f.key }, version: repairDeleteVersion(f.targetVersion) });
      continue;
    }
    const tomb = tombstones.get(s3KeyHash(f.key));
    out.push({
      ...base,
      op: 'put',
      // The source's ETag pins the copy to the state that was compared: a newer object is its own event's job.
      key: { key: f.key, ...(f.source ? { size: f.source.size, eTag: f.source.etag } : {}) },
      version: repairPutVersion(f.targetVersion, tomb),
    });
  }
  return out;
}

/**
 * Runs (or continues) an S3 reconcile run until it is done or the deadline is near (the engine's
 * {@link runCheckpointed}): one merge join per target, all at once, checkpointed after every chunk (after its
 * repairs were enqueued). The checkpoint has one "segment" per target scan; the source scan is the merge's
 * other side and has no position of its own.
 */
export async function runS3Reconcile(deps: S3ReconcileDeps, opts: RunOptions): Promise<ReconcileResult> {
  const now = deps.now ?? Date.now;
  const ids = deps.targets.map((t) => t.id);
  if (deps.repair && !deps.enqueue) throw new ReconcileConfigError('repair is on but no enqueue function was given');
  if (deps.repair && !deps.tombstones) throw new ReconcileConfigError('repair is on but no tombstone reader was given');
  const mode = deps.mode ?? 'reconcile';
  const ctx: Ctx = {
    deps,
    fill: mode === 'backfill',
    source: paced(deps.source, deps.budget),
    algorithm: deps.checksumAlgorithm ?? 'CRC32',
    sleep: deps.sleep ?? realSleep,
  };
  const pageSize = deps.pageSize ?? 1000;
  const byScan = new Map(deps.targets.map((t) => [targetScan(t.id), t]));

  const scanTarget = async (
    target: S3ReconcileTarget,
    range: KeyRange,
    startAfter: string | undefined,
    hooks: { readonly shouldStop: () => boolean; readonly onPage: (step: ScanStep) => Promise<void> },
  ) => {
    const reader = paced(target.bucket, deps.budget);
    const from = startAfter ?? range.lo;
    const src = new Listing(ctx.source, deps.prefix, deps.suffix, from, pageSize, range.hi);
    const tgt = new Listing(reader, deps.prefix, deps.suffix, from, pageSize, range.hi);
    for (;;) {
      if (hooks.shouldStop()) return;
      await Promise.all([src.fill(), tgt.fill()]);
      const bound = minBound(src.bound(), tgt.bound());
      const sourceObjects = src.take(bound);
      const outcome = await checkChunk(ctx, reader, sourceObjects, tgt.take(bound));
      const repairable = deps.repair
        ? outcome.findings.filter((f) => f.kind !== 'extra' || deps.deleteExtra === true)
        : [];
      const skipped = src.takeSkipped();
      const bytes = sourceObjects.reduce((n, o) => n + o.size, 0);
      const counts: Partial<TargetCounts> = {
        ...outcome.counts,
        ...(outcome.unverified > 0 ? { unverified: outcome.unverified } : {}),
        ...(skipped > 0 ? { skipped } : {}),
        bytes,
      };
      await hooks.onPage({
        ...(bound === undefined
          ? { done: true }
          : {
              done: false,
              lastKey: keyCursor(bound),
              fraction: positionIn(bound, range.lo, range.hi, deps.prefix ?? ''),
            }),
        counts: { [target.id]: counts },
        findings: outcome.findings.map((f) => ({ target: target.id, kind: f.kind, key: keyCursor(f.key) })),
        ...(repairable.length > 0 ? { repair: () => repairChunk(target.id, repairable) } : {}),
        sourceItems: sourceObjects.length + skipped,
      });
      if (bound === undefined) return;
    }
  };

  const repairChunk = async (targetId: string, repairable: readonly S3Finding[]) => {
    const puts = repairable.filter((f) => f.kind === 'missing' || f.kind === 'different').map((f) => s3KeyHash(f.key));
    const tombs = puts.length > 0 ? await deps.tombstones!.newest(puts) : new Map<string, string>();
    const envelopes = buildS3RepairEnvelopes(repairable, tombs, {
      pair: deps.pair,
      origin: deps.origin,
      deleteExtra: deps.deleteExtra === true,
      capturedAt: now(),
    });
    await deps.enqueue!(targetId, envelopes);
    return { [targetId]: repairable.length };
  };

  const shards = deps.shards ?? 1;
  let bounds: readonly string[] = [];
  const rangeOf = (segment: number): KeyRange => ({
    ...(segment > 0 && bounds[segment - 1] !== undefined ? { lo: bounds[segment - 1] } : {}),
    ...(segment < bounds.length ? { hi: bounds[segment] } : {}),
  });
  return runCheckpointed(
    {
      pair: deps.pair,
      targetIds: ids,
      totalSegments: shards,
      store: deps.store,
      mode,
      newRun: async (startedAt) => {
        const found =
          shards > 1
            ? await discoverBounds(deps.prefix ?? '', (prefix, after) => firstKeyAfter(ctx.source, prefix, after), {
                shards,
              })
            : [];
        const cp = newCheckpoint(deps.pair, ids, shards, startedAt, mode);
        // The source is listed as each target's merge partner: it has no scan of its own.
        cp.scans[SOURCE_SCAN] = [];
        // Fewer ranges than shards where the keys are few: the segments past the last range have nothing.
        for (const id of ids) {
          cp.scans[targetScan(id)] = cp.scans[targetScan(id)]!.map((_, i) => ({ done: i > found.length }));
        }
        return { ...cp, ...(found.length > 0 ? { bounds: found } : {}) };
      },
      ...(deps.itemRate !== undefined ? { itemRate: deps.itemRate } : {}),
      ...(deps.maxSamples !== undefined ? { maxSamples: deps.maxSamples } : {}),
      now,
      onStart: (cp) => {
        bounds = cp.bounds ?? [];
      },
    },
    {
      scan: (unit, hooks) => scanTarget(byScan.get(unit.scan)!, rangeOf(unit.segment), cursorKey(unit.startKey), hooks),
    },
    opts,
  );
}

/** One key range of a sharded listing: after `lo` (from the start when absent) up to `hi` inclusive (to the end). */
interface KeyRange {
  readonly lo?: string;
  readonly hi?: string;
}

/** The first key under `prefix` after `after` (one request): what shard discovery asks. */
async function firstKeyAfter(reader: BucketReader, prefix: string, after: string | undefined) {
  return (await reader.list(prefix, after, 1)).objects[0]?.key;
}
