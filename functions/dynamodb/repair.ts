/**
 * Repair of DynamoDB pairs: re-enqueue the source's current state through the normal apply path, so every convergence rule
 * still holds (DESIGN.md). Like `replicator backfill`, a repair put carries a version one second older
 * than the moment the source was read: any change made after the read sorts after it and wins, any older
 * one loses. Extra target items become deletes only when the pair allows it (`deleteExtra`).
 */
import { byteLength } from '../engine/envelope';
import { readVersion } from '../engine/version';
import {
  type AttributeFilter,
  type AttrMap,
  applyAttributeFilter,
  canonicalKey,
  withoutReplicationAttributes,
} from './attributes';
import type { TableEnvelope } from './envelope';

/** Envelopes larger than this travel as key-only fetch envelopes (the applier reads the source). */
export const MAX_ENVELOPE_BYTES = 250_000;

/** A confirmed difference that repair can act on. */
export type RepairFinding =
  | { readonly kind: 'missing' | 'different'; readonly key: AttrMap; readonly sourceItem: AttrMap }
  | { readonly kind: 'extra'; readonly key: AttrMap }
  /** A delete that never reached the target: repaired with the tombstone's own version. */
  | { readonly kind: 'lostDelete'; readonly key: AttrMap; readonly version: string };

/** How repair envelopes are built. */
export interface RepairOptions {
  readonly pair: string;
  /** Source region: the envelopes' origin. */
  readonly origin: string;
  readonly keyNames: readonly string[];
  /** The pair's attribute filter. @default - every attribute */
  readonly filter?: AttributeFilter;
  /** Delete target items the source does not have. @default false - extra items are only reported */
  readonly deleteExtra?: boolean;
  /** When the source was read (epoch ms): the version is one second before it. */
  readonly readAt: number;
  /** capturedAt of the envelopes (epoch ms). @default - readAt */
  readonly capturedAt?: number;
}

/**
 * Turns findings into envelopes: one put per missing/different key (several targets missing the same key
 * share it: the pair queue feeds every target), one delete per extra key when `deleteExtra` is on, and one
 * delete per lost delete, at the version of the source's delete (its tombstone), whatever `deleteExtra` says.
 */
export function buildRepairEnvelopes(findings: readonly RepairFinding[], opts: RepairOptions): TableEnvelope[] {
  const version = readVersion(opts.readAt);
  const capturedAt = opts.capturedAt ?? opts.readAt;
  const seen = new Set<string>();
  const out: TableEnvelope[] = [];
  for (const f of findings) {
    if (f.kind === 'extra' && !opts.deleteExtra) continue;
    const deletes = f.kind === 'extra' || f.kind === 'lostDelete';
    const id = `${deletes ? 'delete' : 'put'}:${canonicalKey(f.key)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    if (deletes) {
      out.push({
        v: 1,
        pair: opts.pair,
        op: 'delete',
        key: f.key,
        image: null,
        version: f.kind === 'lostDelete' ? f.version : version,
        origin: opts.origin,
        capturedAt,
      });
      continue;
    }
    const image = applyAttributeFilter(withoutReplicationAttributes(f.sourceItem), opts.keyNames, opts.filter);
    let envelope: TableEnvelope = {
      v: 1,
      pair: opts.pair,
      op: 'put',
      key: f.key,
      image,
      version,
      origin: opts.origin,
      capturedAt,
    };
    if (byteLength(envelope) > MAX_ENVELOPE_BYTES) envelope = { ...envelope, image: null };
    out.push(envelope);
  }
  return out;
}
