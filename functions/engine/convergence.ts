/**
 * The convergence algorithm, whatever the pair type: envelopes → every target, under DESIGN.md's convergence
 * rules, whatever the delivery order and however many duplicates (standard SQS).
 *
 * 1. Older never overwrites newer: targets take a put or delete only if what they hold is older (each pair type's
 *    {@link TargetStore} makes its writes conditional on the version the target holds).
 * 2. A delete is never undone by a late older put: a delete first records a tombstone in the pair's state
 *    table, then deletes on the targets; a put first writes the targets, then reads the tombstone and, if a
 *    newer delete exists, removes what it wrote (only if the target still holds its own version). Each side
 *    writes before it reads the other's write, so whichever runs last sees the other: no interleaving leaves
 *    the stale put.
 * 3. Applying an envelope twice changes nothing: the version guard rejects an equal version.
 * 5. Targets get only the source's data plus the type's replication metadata; tombstones live in the state table.
 *
 * What differs between pair types is only what {@link KeySpace} and {@link TargetStore} say: how a key is
 * identified, what a put writes (a table image, or an object copied server-side) and how a write is made
 * conditional. Per-envelope failures are results, never throws, so one failing target neither blocks nor
 * repeats the others.
 */
import { mapLimit } from './concurrency';
import type { Envelope } from './envelope';
import type { TombstoneStore } from './tombstones';
import { compareVersions, versionTime } from './version';

/** Outcome of one conditional write on a target. */
export type WriteOutcome = 'applied' | 'stale';

/** What a put did on one target. */
export interface PutOutcome {
  readonly outcome: WriteOutcome;
  /** Only the size could verify the write (S3 copies); counted as UnverifiedCopies. */
  readonly unverified?: boolean;
}

/** One target, written only through version-guarded writes. `P` is what a put writes (its payload). */
export interface TargetStore<E, P> {
  /** Writes the put's payload if the target holds no newer or equal version of the key (rules 1 and 3). */
  putIfNewer(envelope: E, payload: P): Promise<PutOutcome>;
  /** Deletes the key if the target holds no newer or equal version of it. */
  deleteIfOlder(envelope: E): Promise<WriteOutcome>;
  /** Deletes the key only if the target holds exactly this envelope's version (a put a newer delete overtook). */
  deleteIfVersion(envelope: E): Promise<void>;
}

/** A target as the algorithm sees it. */
export interface ConvergenceTarget<E, P> {
  /** The target's id (its metrics' Target dimension). */
  readonly id: string;
  readonly store: TargetStore<E, P>;
}

/** What the algorithm needs to know of a pair type's keys and source. */
export interface KeySpace<E, P> {
  /** The service the source and the targets are (`dynamodb`, `s3`), for the reasons of failures. */
  readonly service: string;
  /** Identity of an envelope's key: equal exactly for the changes of one key. */
  keyId(envelope: E): string;
  /** The key's hash in the pair's state table (tombstones). */
  tombstoneHash(envelope: E): string;
  /**
   * Resolves a put into what its targets are written with (an image, a source object), or undefined when the
   * source has moved on (a newer change follows, or the key is gone): then the put is stale on every target.
   * Throws when the source cannot be read: the put fails on every target.
   */
  preparePut(envelope: E): Promise<P | undefined>;
  /** Confirms a delete before its tombstone; false makes it stale on every target. @default - every delete proceeds */
  confirmDelete?(envelope: E): Promise<boolean>;
  /** Whether an error can never succeed on retry (poison: dead-lettered at once). */
  isPoison(err: unknown): boolean;
  /** Whether a target write failed only because its source went away since preparePut: stale, not failed. @default - never */
  isSourceGone?(err: unknown): boolean;
  /** Bytes a put wrote, and a source write time for envelopes whose version carries none (epoch ms). */
  measure(envelope: E, payload: P | undefined): { readonly bytes: number; readonly writtenAt?: number };
}

/** What {@link converge} needs. */
export interface ConvergenceDeps<E, P> {
  readonly keys: KeySpace<E, P>;
  readonly tombstones: TombstoneStore;
  /** Envelopes (and writes of one envelope) in flight at most. */
  readonly concurrency: number;
  /** Clock (epoch ms). @default - Date.now */
  readonly now?: () => number;
}

/** An envelope applied to a target, with what the metrics need. */
export interface AppliedEnvelope<E> {
  readonly envelope: E;
  /** Bytes written (0 for deletes). */
  readonly bytes: number;
  /** Source write → applied, ms. */
  readonly latencyMs: number;
  /** Capture → applied, ms. */
  readonly deliveryMs: number;
  /** Only the size could verify the write (S3 copies). */
  readonly unverified: boolean;
}

/** An envelope that failed on a target. */
export interface FailedEnvelope<E> {
  readonly envelope: E;
  readonly error: unknown;
  readonly poison: boolean;
  /** What failed: `target <id> (<service>)`, `source (<service>)` or `state table (dynamodb)`. */
  readonly site?: string;
}

/** Per-target result of applying a set of envelopes. */
export interface TargetResult<E> {
  readonly applied: AppliedEnvelope<E>[];
  /** Skipped: the target or a tombstone already holds a newer or equal version, or the source moved on. */
  readonly stale: E[];
  readonly failed: FailedEnvelope<E>[];
}

/** Per-target results, keyed by target id. */
export type ConvergenceResult<E> = Map<string, TargetResult<E>>;

/**
 * Of several envelopes for one key, only the newest needs applying: the others would be stale by the time
 * it lands. Returns the newest per key and the superseded rest.
 */
export function newestPerKey<E extends { readonly version: string }>(
  envelopes: readonly E[],
  keyId: (e: E) => string,
): { newest: E[]; superseded: E[] } {
  const byKey = new Map<string, E>();
  const superseded: E[] = [];
  for (const e of envelopes) {
    const k = keyId(e);
    const seen = byKey.get(k);
    if (!seen) byKey.set(k, e);
    else if (compareVersions(e.version, seen.version) > 0) {
      superseded.push(seen);
      byKey.set(k, e);
    } else superseded.push(e);
  }
  return { newest: [...byKey.values()], superseded };
}

/**
 * Applies envelopes to the given targets (all of the pair's, or the one a re-sent message is restricted to).
 * Never throws for a per-envelope failure: each lands in its target's `failed` list with its reason.
 */
export async function converge<E extends Envelope, P>(
  envelopes: readonly E[],
  targets: readonly ConvergenceTarget<E, P>[],
  deps: ConvergenceDeps<E, P>,
): Promise<ConvergenceResult<E>> {
  const { keys } = deps;
  const now = deps.now ?? Date.now;
  const limit = deps.concurrency;
  const result: ConvergenceResult<E> = new Map(targets.map((t) => [t.id, { applied: [], stale: [], failed: [] }]));
  const staleOnAll = (e: E) => {
    for (const r of result.values()) r.stale.push(e);
  };
  const SOURCE = `source (${keys.service})`;
  const STATE = 'state table (dynamodb)';
  const failOnAll = (e: E, error: unknown, site: string) => {
    for (const r of result.values()) r.failed.push({ envelope: e, error, poison: keys.isPoison(error), site });
  };
  const fail = (t: ConvergenceTarget<E, P>, e: E, error: unknown, site = `target ${t.id} (${keys.service})`) =>
    result.get(t.id)!.failed.push({ envelope: e, error, poison: keys.isPoison(error), site });
  const record = (t: ConvergenceTarget<E, P>, e: E, outcome: PutOutcome, payload?: P) => {
    const r = result.get(t.id)!;
    if (outcome.outcome === 'stale') {
      r.stale.push(e);
      return;
    }
    const at = now();
    const measured = keys.measure(e, payload);
    // A version without a time (an S3 sequencer) falls back to what the type knows, then to capture's time.
    const writtenAt = versionTime(e.version) ?? measured.writtenAt ?? e.capturedAt;
    r.applied.push({
      envelope: e,
      bytes: measured.bytes,
      latencyMs: Math.max(0, at - writtenAt),
      deliveryMs: Math.max(0, at - e.capturedAt),
      unverified: outcome.unverified === true,
    });
  };

  const { newest, superseded } = newestPerKey(envelopes, (e) => keys.keyId(e));
  for (const e of superseded) staleOnAll(e);

  const written: { envelope: E; payload: P; outcomes: Map<string, PutOutcome> }[] = [];
  await mapLimit(newest, limit, async (e) => {
    if (e.op === 'delete') {
      // Tombstone first, then the targets (rule 2's half on this side).
      try {
        if (keys.confirmDelete && !(await keys.confirmDelete(e))) {
          staleOnAll(e);
          return;
        }
      } catch (error) {
        failOnAll(e, error, SOURCE);
        return;
      }
      try {
        await deps.tombstones.record(keys.tombstoneHash(e), e.version);
      } catch (error) {
        failOnAll(e, error, STATE);
        return;
      }
      await mapLimit(targets, limit, async (t) => {
        try {
          record(t, e, { outcome: await t.store.deleteIfOlder(e) });
        } catch (error) {
          fail(t, e, error);
        }
      });
      return;
    }
    let payload: P | undefined;
    try {
      payload = await keys.preparePut(e);
    } catch (error) {
      failOnAll(e, error, SOURCE);
      return;
    }
    if (payload === undefined) {
      staleOnAll(e);
      return;
    }
    const ready = payload;
    const outcomes = new Map<string, PutOutcome>();
    await mapLimit(targets, limit, async (t) => {
      try {
        outcomes.set(t.id, await t.store.putIfNewer(e, ready));
      } catch (error) {
        // Gone between preparePut and the write: stale like a source gone before it.
        if (keys.isSourceGone?.(error)) outcomes.set(t.id, { outcome: 'stale' });
        else fail(t, e, error);
      }
    });
    written.push({ envelope: e, payload: ready, outcomes });
  });

  // Rule 2, the put's half: a stale outcome may be this envelope's own earlier attempt, so check those too.
  const toCheck = written.filter((w) => w.outcomes.size > 0);
  let tombs = new Map<string, string>();
  try {
    tombs = await deps.tombstones.newest([...new Set(toCheck.map((w) => keys.tombstoneHash(w.envelope)))]);
  } catch (error) {
    // Without the check the puts cannot be trusted: retry them all (a retry is a no-op plus the check).
    for (const w of toCheck) {
      for (const id of w.outcomes.keys()) fail(targetById(targets, id), w.envelope, error, STATE);
    }
    return result;
  }
  await mapLimit(toCheck, limit, async (w) => {
    const tomb = tombs.get(keys.tombstoneHash(w.envelope));
    const overtaken = tomb !== undefined && compareVersions(tomb, w.envelope.version) > 0;
    await mapLimit([...w.outcomes], limit, async ([id, outcome]) => {
      const t = targetById(targets, id);
      if (!overtaken) {
        record(t, w.envelope, outcome, w.payload);
        return;
      }
      try {
        await t.store.deleteIfVersion(w.envelope);
        record(t, w.envelope, { outcome: 'stale' });
      } catch (error) {
        fail(t, w.envelope, error);
      }
    });
  });
  return result;
}

function targetById<T extends { readonly id: string }>(targets: readonly T[], id: string): T {
  const t = targets.find((x) => x.id === id);
  if (!t) throw new Error(`unknown target ${id}`);
  return t;
}
