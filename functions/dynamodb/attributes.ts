/**
 * DynamoDB AttributeValue JSON (as in stream events and envelopes) and its conversion to the SDK's shape.
 *
 * Stream events and envelopes carry binary values as base64 strings; the SDK wants Uint8Array. Everything
 * else is the same shape, so conversion only walks B, BS, M and L.
 */
import { createHash } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** One attribute value in DynamoDB JSON as it travels in events and envelopes (binary as base64). */
export type AttrJson =
  | { S: string }
  | { N: string }
  | { B: string }
  | { SS: string[] }
  | { NS: string[] }
  | { BS: string[] }
  | { M: Record<string, AttrJson> }
  | { L: AttrJson[] }
  | { NULL: boolean }
  | { BOOL: boolean };

/** An item or key in DynamoDB JSON. */
export type AttrMap = Record<string, AttrJson>;

/** Converts an envelope value to the SDK's AttributeValue (base64 → bytes). */
export function toSdkValue(v: AttrJson): AttributeValue {
  if ('B' in v) return { B: Buffer.from(v.B, 'base64') };
  if ('BS' in v) return { BS: v.BS.map((b) => Buffer.from(b, 'base64')) };
  if ('M' in v) return { M: toSdkMap(v.M) };
  if ('L' in v) return { L: v.L.map(toSdkValue) };
  return v as AttributeValue;
}

/** Converts an envelope item or key to the SDK's shape. */
export function toSdkMap(m: AttrMap): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(m)) out[k] = toSdkValue(v);
  return out;
}

/** Converts an SDK AttributeValue to envelope JSON (bytes → base64). */
export function fromSdkValue(v: AttributeValue): AttrJson {
  if (v.B !== undefined) return { B: Buffer.from(v.B).toString('base64') };
  if (v.BS !== undefined) return { BS: v.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (v.M !== undefined) return { M: fromSdkMap(v.M) };
  if (v.L !== undefined) return { L: v.L.map(fromSdkValue) };
  if (v.S !== undefined) return { S: v.S };
  if (v.N !== undefined) return { N: v.N };
  if (v.SS !== undefined) return { SS: v.SS };
  if (v.NS !== undefined) return { NS: v.NS };
  if (v.NULL !== undefined) return { NULL: v.NULL };
  if (v.BOOL !== undefined) return { BOOL: v.BOOL };
  throw new TypeError(`unsupported attribute value: ${JSON.stringify(Object.keys(v))}`);
}

/** Converts an SDK item to envelope JSON. */
export function fromSdkMap(m: Record<string, AttributeValue>): AttrMap {
  const out: AttrMap = {};
  for (const [k, v] of Object.entries(m)) out[k] = fromSdkValue(v);
  return out;
}

/** A canonical string of a key: attribute names sorted, so equal keys give equal strings. */
export function canonicalKey(key: AttrMap): string {
  return JSON.stringify(
    Object.keys(key)
      .sort()
      .map((name) => [name, key[name]]),
  );
}

/** A short, fixed-length id of a key, safe as a DynamoDB partition key whatever the key's size. */
export function keyHash(key: AttrMap): string {
  return createHash('sha256').update(canonicalKey(key)).digest('base64url');
}

/** Prefix of attributes Replicator adds to replicated items (DESIGN rule 5). */
export const REP_PREFIX = 'rep:';
/** Attribute holding the version of the source change a target item reflects. */
export const VERSION_ATTR = 'rep:v';
/** Attribute holding the region where the change was made (loop prevention, rule 4). */
export const ORIGIN_ATTR = 'rep:o';

/** Removes Replicator's own attributes from an item (for comparisons and re-capture). */
export function withoutReplicationAttributes(item: AttrMap): AttrMap {
  const out: AttrMap = {};
  for (const [k, v] of Object.entries(item)) if (!k.startsWith(REP_PREFIX)) out[k] = v;
  return out;
}

/**
 * Keeps only what a pair's filter lets through. Key attributes always pass: without them the item
 * cannot be written.
 */
export function applyAttributeFilter(
  item: AttrMap,
  keyNames: readonly string[],
  filter: AttributeFilter | undefined,
): AttrMap {
  if (!filter) return item;
  const out: AttrMap = {};
  for (const [k, v] of Object.entries(item)) {
    const isKey = keyNames.includes(k);
    const allowed = filter.allow ? filter.allow.includes(k) : !(filter.deny ?? []).includes(k);
    if (isKey || allowed) out[k] = v;
  }
  return out;
}

/** A pair's attribute filter: an allow list or a deny list. */
export interface AttributeFilter {
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
}

function canonicalValue(v: AttrJson): unknown {
  if ('M' in v) return { M: canonicalObject(v.M) };
  if ('L' in v) return { L: v.L.map(canonicalValue) };
  // Sets have no order: sort them so equal sets compare equal.
  if ('SS' in v) return { SS: [...v.SS].sort() };
  if ('NS' in v)
    return {
      NS: [...v.NS]
        .map(Number)
        .sort((a, b) => a - b)
        .map(String),
    };
  if ('BS' in v) return { BS: [...v.BS].sort() };
  if ('N' in v) return { N: String(Number(v.N)) };
  return v;
}

function canonicalObject(m: AttrMap): [string, unknown][] {
  return Object.keys(m)
    .sort()
    .map((k) => [k, canonicalValue(m[k]!)]);
}

/**
 * A canonical string of an item: attribute order, set order and number spelling do not matter, and
 * Replicator's own `rep:` attributes are left out, so a source item and its replica compare equal.
 */
export function canonicalItem(item: AttrMap): string {
  return JSON.stringify(canonicalObject(withoutReplicationAttributes(item)));
}
