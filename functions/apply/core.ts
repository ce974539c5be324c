/**
 * Apply core: envelopes → every target, under DESIGN.md's convergence rules, whatever the delivery order
 * and however many duplicates (standard SQS).
 *
 * 1. Older never overwrites newer: targets take a put or delete only if their item's `rep:v` is older.
 * 2. A delete is never undone by a late older put: a delete first records a tombstone in the pair's state
 *    table, then deletes on the targets; a put first writes the targets, then reads the tombstone and, if a
 *    newer delete exists, removes what it wrote (only if still its own version). Each side writes before it
 *    reads the other's write, so whichever runs last sees the other: no interleaving leaves the stale put.
 * 3. Applying an envelope twice changes nothing: the version guard rejects an equal version.
 * 5. Targets get only the source's attributes plus `rep:*` ones; tombstones live in the state table.
 *
 * Clients are hidden behind small store interfaces so the property test can interleave every step.
 */
import { type AttributeFilter, type AttrMap, applyAttributeFilter, canonicalKey, keyHash } from '../shared/attributes';
import { byteLength, type Envelope, versionTime } from '../shared/envelope';
import { isPoison, reasonOf } from '../shared/errors';

/** Outcome of one conditional write on a target. */
export type WriteOutcome = 'applied' | 'stale';

/** One target table, reached through version-guarded writes. */
export interface TargetStore {
  /** Writes the item if the target holds no newer or equal version of it. */
  putIfNewer(key: AttrMap, image: AttrMap, version: string, origin: string): Promise<WriteOutcome>;
  /** Deletes the item if the target holds no newer or equal version of it. */
  deleteIfOlder(key: AttrMap, version: string): Promise<WriteOutcome>;
  /** Deletes the item only if it is exactly this version (undoing a put that a newer delete overtook). */
  deleteIfVersion(key: AttrMap, version: string): Promise<void>;
}

/** The pair's tombstones: the newest delete version of each key (in the pair's state table). */
export interface TombstoneStore {
  /** Records a delete of the key at this version (keeps the newest one). */
  record(hash: string, version: string): Promise<void>;
  /** Newest tombstone version per key hash, read consistently; keys without a tombstone are absent. */
  newest(hashes: readonly string[]): Promise<Map<string, string>>;
}

/** Reads the source's current item (for fetch envelopes, whose image was too large for SQS). */
export interface SourceReader {
  get(key: AttrMap): Promise<AttrMap | undefined>;
}

/** A target as the core sees it. */
export interface ApplyTarget {
  readonly id: string;
  readonly store: TargetStore;
}

/** What apply needs. */
export interface ApplyDeps {
  readonly targets: readonly ApplyTarget[];
  readonly tombstones: TombstoneStore;
  readonly source: SourceReader;
  /** The pair's attribute filter, applied to fetched images as capture applies it to stream images. */
  readonly filter?: AttributeFilter;
  /** Writes in flight at most. @default - 32 */
  readonly concurrency?: number;
  /** Clock (epoch ms). @default - Date.now */
  readonly now?: () => number;
}

/** An envelope applied to a target, with what the metrics need. */
export interface AppliedEnvelope {
  readonly envelope: Envelope;
  readonly bytes: number;
  /** Source write → applied, ms. */
  readonly latencyMs: number;
  /** Capture → applied, ms. */
  readonly deliveryMs: number;
}

/** An envelope that failed on a target. */
export interface FailedEnvelope {
  readonly envelope: Envelope;
  readonly error: unknown;
  readonly poison: boolean;
}

/** Per-target result of applying a set of envelopes. */
export interface TargetResult {
  readonly applied: AppliedEnvelope[];
  /** Skipped because the target (or a tombstone) already holds a newer or equal version. */
  readonly stale: Envelope[];
  readonly failed: FailedEnvelope[];
}

/** Per-target results, keyed by target id. */
export type ApplyResult = Map<string, TargetResult>;

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Of several envelopes for one key, only the newest needs applying: the others would be stale by the time
 * it lands. Returns the newest per key and the superseded rest.
 */
export function newestPerKey(envelopes: readonly Envelope[]): { newest: Envelope[]; superseded: Envelope[] } {
  const byKey = new Map<string, Envelope>();
  const superseded: Envelope[] = [];
  for (const e of envelopes) {
    const k = canonicalKey(e.key);
    const seen = byKey.get(k);
    if (!seen) byKey.set(k, e);
    else if (e.version > seen.version) {
      superseded.push(seen);
      byKey.set(k, e);
    } else superseded.push(e);
  }
  return { newest: [...byKey.values()], superseded };
}

/**
 * Applies envelopes to the given targets (all of the pair's, or those a re-sent message is restricted to).
 * Never throws for a per-envelope failure: each lands in its target's `failed` list with its reason.
 */
export async function applyEnvelopes(
  envelopes: readonly Envelope[],
  targets: readonly ApplyTarget[],
  deps: ApplyDeps,
): Promise<ApplyResult> {
  const now = deps.now ?? Date.now;
  const limit = deps.concurrency ?? 32;
  const result: ApplyResult = new Map(targets.map((t) => [t.id, { applied: [], stale: [], failed: [] }]));
  const forAll = (fn: (r: TargetResult) => void) => {
    for (const r of result.values()) fn(r);
  };
  const { newest, superseded } = newestPerKey(envelopes);
  for (const e of superseded) forAll((r) => r.stale.push(e));

  // Resolve fetch envelopes: read the source's current state, which is at least as new as the envelope.
  const puts: { envelope: Envelope; image: AttrMap }[] = [];
  const deletes: Envelope[] = [];
  await mapLimit(newest, limit, async (e) => {
    if (e.op === 'delete') {
      deletes.push(e);
      return;
    }
    if (e.image !== null) {
      puts.push({ envelope: e, image: e.image });
      return;
    }
    try {
      const current = await deps.source.get(e.key);
      // Gone from the source: a newer delete exists and will be (or was) applied.
      if (current === undefined) forAll((r) => r.stale.push(e));
      else puts.push({ envelope: e, image: applyAttributeFilter(current, Object.keys(e.key), deps.filter) });
    } catch (error) {
      forAll((r) => r.failed.push({ envelope: e, error, poison: isPoison(error) }));
    }
  });

  const record = (t: ApplyTarget, e: Envelope, image: AttrMap | null, outcome: WriteOutcome) => {
    const r = result.get(t.id)!;
    if (outcome === 'stale') r.stale.push(e);
    else {
      const at = now();
      r.applied.push({
        envelope: e,
        bytes: image ? byteLength(image) : 0,
        latencyMs: Math.max(0, at - versionTime(e.version)),
        deliveryMs: Math.max(0, at - e.capturedAt),
      });
    }
  };
  const fail = (t: ApplyTarget, e: Envelope, error: unknown) =>
    result.get(t.id)!.failed.push({ envelope: e, error, poison: isPoison(error) });

  // Deletes: tombstone first, then the targets (rule 2's half on this side).
  const tasks: (() => Promise<void>)[] = [];
  for (const e of deletes) {
    tasks.push(async () => {
      try {
        await deps.tombstones.record(keyHash(e.key), e.version);
      } catch (error) {
        for (const t of targets) fail(t, e, error);
        return;
      }
      await mapLimit(targets, limit, async (t) => {
        try {
          record(t, e, null, await t.store.deleteIfOlder(e.key, e.version));
        } catch (error) {
          fail(t, e, error);
        }
      });
    });
  }
  // Puts: the targets first; the tombstone check follows once all are written.
  const written: { envelope: Envelope; image: AttrMap; outcomes: Map<string, WriteOutcome> }[] = [];
  for (const p of puts) {
    tasks.push(async () => {
      const outcomes = new Map<string, WriteOutcome>();
      await mapLimit(targets, limit, async (t) => {
        try {
          outcomes.set(t.id, await t.store.putIfNewer(p.envelope.key, p.image, p.envelope.version, p.envelope.origin));
        } catch (error) {
          fail(t, p.envelope, error);
        }
      });
      written.push({ ...p, outcomes });
    });
  }
  await mapLimit(tasks, limit, (task) => task());

  // Rule 2, the put's half: a stale outcome may be this envelope's own earlier attempt, so check those too.
  const toCheck = written.filter((w) => w.outcomes.size > 0);
  let tombs = new Map<string, string>();
  try {
    tombs = await deps.tombstones.newest([...new Set(toCheck.map((w) => keyHash(w.envelope.key)))]);
  } catch (error) {
    // Without the check the puts cannot be trusted: retry them all (a retry is a no-op plus the check).
    for (const w of toCheck) for (const id of w.outcomes.keys()) fail(targetById(targets, id), w.envelope, error);
    return result;
  }
  await mapLimit(toCheck, limit, async (w) => {
    const tomb = tombs.get(keyHash(w.envelope.key));
    const overtaken = tomb !== undefined && tomb > w.envelope.version;
    await mapLimit([...w.outcomes], limit, async ([id, outcome]) => {
      const t = targetById(targets, id);
      if (!overtaken) {
        record(t, w.envelope, w.image, outcome);
        return;
      }
      try {
        await t.store.deleteIfVersion(w.envelope.key, w.envelope.version);
        record(t, w.envelope, null, 'stale');
      } catch (error) {
        fail(t, w.envelope, error);
      }
    });
  });
  return result;
}

function targetById(targets: readonly ApplyTarget[], id: string): ApplyTarget {
  const t = targets.find((x) => x.id === id);
  if (!t) throw new Error(`unknown target ${id}`);
  return t;
}

/** What to do with one SQS message after applying its envelopes (of either pair type). */
export interface MessagePlan<E = Envelope> {
  /** Send to the DLQ: per target, the envelopes and the reason. */
  readonly deadLetter: { targetId: string; envelopes: E[]; reason: string; errorName: string }[];
  /** Re-send to the pair queue, restricted to one target, with only the envelopes that failed there. */
  readonly resend: { targetId: string; envelopes: E[] }[];
  /** Every envelope failed on every target for a retryable reason: let SQS redeliver the message as it is. */
  readonly retryWhole: boolean;
}

/** The failures of one target, as {@link planMessage} reads them. */
export interface TargetFailures<E> {
  readonly failed: readonly { readonly envelope: E; readonly error: unknown; readonly poison: boolean }[];
}

/**
 * Decides a message's fate from its apply (or copy) result. Poison goes to the DLQ at once; retryable
 * failures are retried until `attempt` reaches `maxAttempts`, then dead-lettered with the last reason. A
 * partly failed message is re-sent with only its failed envelopes, per failed target, so successes are not
 * repeated.
 */
export function planMessage<E>(
  envelopes: readonly E[],
  result: ReadonlyMap<string, TargetFailures<E>>,
  attempt: number,
  maxAttempts: number,
): MessagePlan<E> {
  const plan: MessagePlan<E> = { deadLetter: [], resend: [], retryWhole: false };
  let retryableCount = 0;
  for (const [targetId, r] of result) {
    const poison = r.failed.filter((f) => f.poison);
    const retryable = r.failed.filter((f) => !f.poison);
    if (poison.length > 0) {
      plan.deadLetter.push({
        targetId,
        envelopes: poison.map((f) => f.envelope),
        reason: reasonOf(poison[0]!.error),
        errorName: nameOf(poison[0]!.error),
      });
    }
    if (retryable.length === 0) continue;
    retryableCount += retryable.length;
    if (attempt >= maxAttempts) {
      plan.deadLetter.push({
        targetId,
        envelopes: retryable.map((f) => f.envelope),
        reason: `attempts exhausted (${attempt} of ${maxAttempts}); last error: ${reasonOf(retryable[0]!.error)}`,
        errorName: nameOf(retryable[0]!.error),
      });
    } else {
      plan.resend.push({ targetId, envelopes: retryable.map((f) => f.envelope) });
    }
  }
  const everyPairFailed = retryableCount === envelopes.length * result.size;
  if (plan.resend.length > 0 && plan.deadLetter.length === 0 && everyPairFailed) {
    return { deadLetter: [], resend: [], retryWhole: true };
  }
  return plan;
}

function nameOf(err: unknown): string {
  return (err as { name?: string } | null)?.name ?? 'Error';
}
