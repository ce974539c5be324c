/**
 * In-memory tables, checkpoint store and clock for the reconcile core's unit tests.
 *
 * A table splits its keys into scan segments by a hash salted with the table's name, as DynamoDB splits by
 * each table's own partitions: segment n of two tables holding the same keys covers different keys.
 */
import { createHash } from 'node:crypto';
import { type AttrMap, canonicalKey } from '../../functions/dynamodb/attributes';
import type { ScanPage, TableReader } from '../../functions/dynamodb/reconcile';
import type { ReconcileCheckpoint } from '../../functions/engine/checkpoint';

/** A table held in a Map, read like DynamoDB (Scan segments, BatchGetItem, consistent GetItem). */
export class MemoryTable implements TableReader {
  readonly items = new Map<string, AttrMap>();
  scans = 0;
  batchGets = 0;
  consistentGets = 0;
  /** Runs before a consistent read returns (to change the table between scan and re-read). */
  beforeConsistentGet?: (key: AttrMap) => void;

  constructor(
    readonly name: string,
    readonly keyNames: readonly string[] = ['pk', 'sk'],
  ) {}

  private ck(item: AttrMap): string {
    return canonicalKey(Object.fromEntries(this.keyNames.map((n) => [n, item[n]!])));
  }

  /** Writes an item (replacing the one with the same key). */
  put(item: AttrMap): this {
    this.items.set(this.ck(item), item);
    return this;
  }

  delete(key: AttrMap): void {
    this.items.delete(this.ck(key));
  }

  get(key: AttrMap): AttrMap | undefined {
    return this.items.get(this.ck(key));
  }

  private segmentOf(ck: string, total: number): number {
    return createHash('sha256').update(`${this.name}|${ck}`).digest().readUInt32BE(0) % total;
  }

  async scanPage(segment: number, total: number, startKey: AttrMap | undefined, limit: number): Promise<ScanPage> {
    this.scans++;
    const keys = [...this.items.keys()].filter((ck) => this.segmentOf(ck, total) === segment).sort();
    const from = startKey ? keys.findIndex((ck) => ck > this.ck(startKey)) : 0;
    const slice = from < 0 ? [] : keys.slice(from, from + limit);
    const items = slice.map((ck) => this.items.get(ck)!);
    const last = slice[slice.length - 1];
    const more = from >= 0 && from + limit < keys.length && last !== undefined;
    return more ? { items, lastKey: JSON.parse(JSON.stringify(this.keyOf(items[items.length - 1]!))) } : { items };
  }

  private keyOf(item: AttrMap): AttrMap {
    return Object.fromEntries(this.keyNames.map((n) => [n, item[n]!]));
  }

  async getMany(keys: readonly AttrMap[]): Promise<AttrMap[]> {
    this.batchGets++;
    if (keys.length > 100) throw new Error(`BatchGetItem takes 100 keys at most (given ${keys.length})`);
    return keys.map((k) => this.get(k)).filter((i): i is AttrMap => i !== undefined);
  }

  async getConsistent(key: AttrMap): Promise<AttrMap | undefined> {
    this.consistentGets++;
    this.beforeConsistentGet?.(key);
    return this.get(key);
  }
}

/** A checkpoint store that keeps the JSON text (so the state is proven to be plain JSON). */
export class MemoryCheckpointStore {
  json: string | undefined;
  saves = 0;
  async load(): Promise<ReconcileCheckpoint | undefined> {
    return this.json === undefined ? undefined : (JSON.parse(this.json) as ReconcileCheckpoint);
  }
  async save(cp: ReconcileCheckpoint): Promise<void> {
    this.saves++;
    this.json = JSON.stringify(cp);
  }
}

/** A clock that only moves when told to, or when something sleeps. */
export class FakeClock {
  slept: number[] = [];
  constructor(public t = 1_780_000_000_000) {}
  readonly now = (): number => this.t;
  readonly sleep = async (ms: number): Promise<void> => {
    this.slept.push(ms);
    this.t += ms;
  };
  advance(ms: number): void {
    this.t += ms;
  }
}

/** An item with key pk/sk and the given attributes. */
export function item(pk: string, sk: string, attrs: AttrMap = {}): AttrMap {
  return { pk: { S: pk }, sk: { S: sk }, ...attrs };
}

/** A source and two targets holding the same `n` items. */
export function replicatedTables(n: number) {
  const source = new MemoryTable('source');
  const eu = new MemoryTable('eu');
  const ap = new MemoryTable('ap');
  for (let i = 0; i < n; i++) {
    const it = item(`p${i % 7}`, `s${String(i).padStart(4, '0')}`, { n: { N: String(i) }, tags: { SS: ['a', 'b'] } });
    source.put(it);
    eu.put({ ...it, 'rep:v': { S: 'v' } });
    ap.put({ ...it, 'rep:v': { S: 'v' }, 'rep:o': { S: 'us-east-1' } });
  }
  return { source, eu, ap };
}
