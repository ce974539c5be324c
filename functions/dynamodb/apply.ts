/**
 * Apply of DynamoDB pairs: the engine's convergence algorithm (engine/convergence.ts) over target tables.
 * What is DynamoDB's own: a key's identity is its canonical attribute map; a put writes the envelope's image,
 * or for a fetch envelope (image too large for SQS) the source's current item, read consistently and
 * filtered as capture filters; writes are conditional PutItem/DeleteItem on `rep:v` (store.ts).
 */
import {
  type ConvergenceResult,
  type ConvergenceTarget,
  converge,
  type KeySpace,
  type TargetStore,
} from '../engine/convergence';
import { byteLength } from '../engine/envelope';
import type { TombstoneStore } from '../engine/tombstones';
import { type AttributeFilter, type AttrMap, applyAttributeFilter, canonicalKey, keyHash } from './attributes';
import type { TableEnvelope } from './envelope';
import { isTablePoison } from './errors';
import type { SourceReader, TableStore } from './store';

/** A target table as apply sees it. */
export interface TableTarget {
  readonly id: string;
  readonly store: TableStore;
}

/** What apply needs. */
export interface ApplyDeps {
  readonly tombstones: TombstoneStore;
  readonly source: SourceReader;
  /** The pair's attribute filter, applied to fetched images as capture applies it to stream images. */
  readonly filter?: AttributeFilter;
  /** Writes in flight at most. @default - 32 */
  readonly concurrency?: number;
  /** Clock (epoch ms). @default - Date.now */
  readonly now?: () => number;
}

/** Per-target results of applying table envelopes, keyed by target id. */
export type ApplyResult = ConvergenceResult<TableEnvelope>;

/** The key space of a table pair: canonical keys, images from the envelope or the source. */
export function tableKeySpace(deps: Pick<ApplyDeps, 'source' | 'filter'>): KeySpace<TableEnvelope, AttrMap> {
  return {
    service: 'dynamodb',
    keyId: (e) => canonicalKey(e.key),
    tombstoneHash: (e) => keyHash(e.key),
    async preparePut(e) {
      if (e.image !== null) return e.image;
      // A fetch envelope: the source's current state is at least as new as the envelope; gone means a newer
      // delete exists and will be (or was) applied.
      const current = await deps.source.get(e.key);
      return current === undefined ? undefined : applyAttributeFilter(current, Object.keys(e.key), deps.filter);
    },
    isPoison: isTablePoison,
    measure: (_e, image) => ({ bytes: image ? byteLength(image) : 0 }),
  };
}

/** A target table as the engine writes it: its store's key-level writes, with the envelope's key and version. */
export function tableTargetStore(store: TableStore): TargetStore<TableEnvelope, AttrMap> {
  return {
    putIfNewer: async (e, image) => ({ outcome: await store.putIfNewer(e.key, image, e.version, e.origin) }),
    deleteIfOlder: (e) => store.deleteIfOlder(e.key, e.version),
    deleteIfVersion: (e) => store.deleteIfVersion(e.key, e.version),
  };
}

/**
 * Applies table envelopes to the given targets (all of the pair's, or those a re-sent message is restricted
 * to). Never throws for a per-envelope failure: each lands in its target's `failed` list with its reason.
 */
export function applyEnvelopes(
  envelopes: readonly TableEnvelope[],
  targets: readonly TableTarget[],
  deps: ApplyDeps,
): Promise<ApplyResult> {
  const converging: ConvergenceTarget<TableEnvelope, AttrMap>[] = targets.map((t) => ({
    id: t.id,
    store: tableTargetStore(t.store),
  }));
  return converge(envelopes, converging, {
    keys: tableKeySpace(deps),
    tombstones: deps.tombstones,
    concurrency: deps.concurrency ?? 32,
    ...(deps.now ? { now: deps.now } : {}),
  });
}
