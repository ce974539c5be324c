/**
 * In-memory stores with DynamoDB's semantics (each call atomic), for the apply core's unit and property
 * tests. An optional `yieldPoint` runs before every call, so fast-check's scheduler can interleave calls
 * of concurrent applies in any order.
 */

import { type AttrMap, canonicalKey, ORIGIN_ATTR, VERSION_ATTR } from '../../functions/dynamodb/attributes';
import type { SourceReader, TableStore } from '../../functions/dynamodb/store';
import type { WriteOutcome } from '../../functions/engine/convergence';
import type { TombstoneStore } from '../../functions/engine/tombstones';

type YieldPoint = () => Promise<void>;
const none: YieldPoint = async () => {};

/** A target table held in a Map. */
export class MemoryTarget implements TableStore {
  readonly items = new Map<string, AttrMap>();
  calls = 0;
  constructor(private readonly yieldPoint: YieldPoint = none) {}

  private versionOf(key: AttrMap): string | undefined {
    const v = this.items.get(canonicalKey(key))?.[VERSION_ATTR];
    return v && 'S' in v ? v.S : undefined;
  }

  async putIfNewer(key: AttrMap, image: AttrMap, version: string, origin: string): Promise<WriteOutcome> {
    await this.yieldPoint();
    this.calls++;
    const current = this.versionOf(key);
    if (current !== undefined && !(current < version)) return 'stale';
    this.items.set(canonicalKey(key), {
      ...image,
      ...key,
      [VERSION_ATTR]: { S: version },
      [ORIGIN_ATTR]: { S: origin },
    });
    return 'applied';
  }

  async deleteIfOlder(key: AttrMap, version: string): Promise<WriteOutcome> {
    await this.yieldPoint();
    this.calls++;
    const current = this.versionOf(key);
    if (current !== undefined && !(current < version)) return 'stale';
    this.items.delete(canonicalKey(key));
    return 'applied';
  }

  async deleteIfVersion(key: AttrMap, version: string): Promise<void> {
    await this.yieldPoint();
    this.calls++;
    if (this.versionOf(key) === version) this.items.delete(canonicalKey(key));
  }

  /** The items without Replicator's attributes, keyed by canonical key. */
  userView(): Map<string, AttrMap> {
    const out = new Map<string, AttrMap>();
    for (const [k, item] of this.items) {
      out.set(k, Object.fromEntries(Object.entries(item).filter(([name]) => !name.startsWith('rep:'))));
    }
    return out;
  }
}

/** The state table's tombstones held in a Map. */
export class MemoryTombstones implements TombstoneStore {
  readonly versions = new Map<string, string>();
  constructor(private readonly yieldPoint: YieldPoint = none) {}

  async record(hash: string, version: string): Promise<void> {
    await this.yieldPoint();
    const current = this.versions.get(hash);
    if (current === undefined || current < version) this.versions.set(hash, version);
  }

  async newest(hashes: readonly string[]): Promise<Map<string, string>> {
    await this.yieldPoint();
    const out = new Map<string, string>();
    for (const h of hashes) {
      const v = this.versions.get(h);
      if (v !== undefined) out.set(h, v);
    }
    return out;
  }
}

/** A source table whose current items are given. */
export class MemorySource implements SourceReader {
  constructor(
    readonly items: Map<string, AttrMap> = new Map(),
    private readonly yieldPoint: YieldPoint = none,
  ) {}

  async get(key: AttrMap): Promise<AttrMap | undefined> {
    await this.yieldPoint();
    return this.items.get(canonicalKey(key));
  }
}
