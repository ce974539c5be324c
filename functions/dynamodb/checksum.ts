/**
 * Canonical item checksums, sizes and read units for reconciliation: a source item and its replica have the same checksum
 * whatever their attribute order, set order or number spelling, and whatever `rep:` attributes the
 * replica carries (DESIGN rule 5).
 */
import { createHash } from 'node:crypto';
import { type AttributeFilter, type AttrMap, applyAttributeFilter, canonicalItem } from './attributes';

/** How to checksum a source item: the pair's filter decides what a target is meant to hold. */
export interface ChecksumOptions {
  /** Key attributes (always kept by the filter). @default - none: the filter may drop key attributes */
  readonly keyNames?: readonly string[];
  /** The pair's attribute allow/deny list. Pass it for source items only. @default - no filter */
  readonly filter?: AttributeFilter;
}

/**
 * sha256 (hex) of an item's canonical form. For a source item pass the pair's filter and key names, so it
 * is compared with what a target should hold; for a target item pass nothing.
 */
export function itemChecksum(item: AttrMap, opts: ChecksumOptions = {}): string {
  const filtered = applyAttributeFilter(item, opts.keyNames ?? [], opts.filter);
  return createHash('sha256').update(canonicalItem(filtered)).digest('hex');
}

/** The key attributes of an item, or undefined when one is absent (not an item of this table). */
export function keyOf(item: AttrMap, keyNames: readonly string[]): AttrMap | undefined {
  const key: AttrMap = {};
  for (const n of keyNames) {
    const v = item[n];
    if (v === undefined) return undefined;
    key[n] = v;
  }
  return key;
}

/**
 * Approximate stored size of an item in bytes (attribute names plus values, as read units count it).
 * JSON overstates it slightly, which only makes the read budget more conservative.
 */
export function itemBytes(item: AttrMap): number {
  return Buffer.byteLength(JSON.stringify(item), 'utf8');
}

/**
 * Read units of a read, as DynamoDB counts them: a Scan page rounds the sum of its items up to 4 KB, a
 * GetItem/BatchGetItem rounds each item; strongly consistent reads cost twice eventually consistent ones.
 * A read that finds nothing still costs the minimum.
 */
export function estimateReadUnits(
  items: readonly AttrMap[],
  opts: { readonly consistent: boolean; readonly perItem: boolean },
): number {
  const factor = opts.consistent ? 1 : 0.5;
  const blocks = opts.perItem
    ? items.reduce((n, item) => n + Math.max(1, Math.ceil(itemBytes(item) / 4096)), 0)
    : Math.ceil(items.reduce((n, item) => n + itemBytes(item), 0) / 4096);
  return Math.max(1, blocks) * factor;
}
