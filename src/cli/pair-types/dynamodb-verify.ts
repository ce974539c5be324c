/**
 * Item-by-item comparison of a source table with a target table: what the demo and the end-to-end tests
 * use to say "converged". Both tables are scanned in full; items compare by canonical form (attribute and
 * set order ignored, `rep:` attributes left out, the pair's filter applied to the source side).
 */
import { type DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import {
  type AttributeFilter,
  type AttrMap,
  applyAttributeFilter,
  canonicalItem,
  canonicalKey,
  fromSdkMap,
} from '../../../functions/dynamodb/attributes';

/** A table and the client that reaches it. */
export interface TableRef {
  readonly client: DynamoDBClient;
  readonly table: string;
}

/** What a comparison found. */
export interface TableDiff {
  readonly checked: number;
  readonly matched: number;
  /** Keys in the source, not in the target. */
  readonly missing: AttrMap[];
  /** Keys in the target, not in the source. */
  readonly extra: AttrMap[];
  /** Keys in both whose items differ. */
  readonly different: AttrMap[];
}

/** Reads a whole table into a map of canonical key → item. */
export async function scanAll(ref: TableRef, keyNames?: readonly string[]): Promise<Map<string, AttrMap>> {
  const out = new Map<string, AttrMap>();
  for await (const page of paginateScan({ client: ref.client }, { TableName: ref.table, ConsistentRead: true })) {
    for (const raw of page.Items ?? []) {
      const item = fromSdkMap(raw);
      const names = keyNames ?? Object.keys(item);
      const key: AttrMap = {};
      for (const n of names) if (item[n] !== undefined) key[n] = item[n]!;
      out.set(canonicalKey(key), item);
    }
  }
  return out;
}

/** Compares two tables item by item. `keyNames` are the key attributes (needed to tell keys apart). */
export async function compareTables(
  source: TableRef,
  target: TableRef,
  keyNames: readonly string[],
  filter?: AttributeFilter,
): Promise<TableDiff> {
  const [src, dst] = await Promise.all([scanAll(source, keyNames), scanAll(target, keyNames)]);
  const diff: TableDiff = { checked: src.size, matched: 0, missing: [], extra: [], different: [] };
  const keyOf = (item: AttrMap) => Object.fromEntries(keyNames.map((n) => [n, item[n]!])) as AttrMap;
  for (const [k, item] of src) {
    const other = dst.get(k);
    if (!other) diff.missing.push(keyOf(item));
    else if (canonicalItem(applyAttributeFilter(item, keyNames, filter)) !== canonicalItem(other))
      diff.different.push(keyOf(item));
    else (diff as { matched: number }).matched++;
  }
  for (const [k, item] of dst) if (!src.has(k)) diff.extra.push(keyOf(item));
  return diff;
}

/** Whether a diff shows the target equal to the source. */
export function converged(d: TableDiff): boolean {
  return d.missing.length === 0 && d.extra.length === 0 && d.different.length === 0;
}
