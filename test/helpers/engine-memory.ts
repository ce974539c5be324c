/**
 * The smallest pair type there is, for the engine's own tests: string keys, string payloads, targets held in
 * Maps with each call atomic. An optional `yieldPoint` runs before every call, so fast-check's scheduler can
 * interleave the calls of concurrent applies in any order.
 */
import type { ConvergenceTarget, KeySpace, TargetStore, WriteOutcome } from '../../functions/engine/convergence';
import type { Envelope } from '../../functions/engine/envelope';

/** An envelope of the memory pair type: the key is a string, the image a string. */
export type MemoryEnvelope = Envelope<string, string>;

type YieldPoint = () => Promise<void>;
const none: YieldPoint = async () => {};

/** One target: key → the value and version it holds. */
export class MemoryStore implements TargetStore<MemoryEnvelope, string> {
  readonly items = new Map<string, { value: string; version: string }>();
  constructor(private readonly yieldPoint: YieldPoint = none) {}

  private holdsNewerOrEqual(key: string, version: string): boolean {
    const current = this.items.get(key)?.version;
    return current !== undefined && current >= version;
  }

  async putIfNewer(e: MemoryEnvelope, value: string): Promise<{ outcome: WriteOutcome }> {
    await this.yieldPoint();
    if (this.holdsNewerOrEqual(e.key, e.version)) return { outcome: 'stale' };
    this.items.set(e.key, { value, version: e.version });
    return { outcome: 'applied' };
  }

  async deleteIfOlder(e: MemoryEnvelope): Promise<WriteOutcome> {
    await this.yieldPoint();
    if (this.holdsNewerOrEqual(e.key, e.version)) return 'stale';
    this.items.delete(e.key);
    return 'applied';
  }

  async deleteIfVersion(e: MemoryEnvelope): Promise<void> {
    await this.yieldPoint();
    if (this.items.get(e.key)?.version === e.version) this.items.delete(e.key);
  }

  /** Key → value, without versions. */
  values(): Map<string, string> {
    return new Map([...this.items].map(([k, v]) => [k, v.value]));
  }
}

/** The key space of the memory pair type; a put's payload is its image, or the source's value for a null image. */
export function memoryKeySpace(
  source: ReadonlyMap<string, string>,
  yieldPoint: YieldPoint = none,
): KeySpace<MemoryEnvelope, string> {
  return {
    service: 'memory',
    keyId: (e) => e.key,
    tombstoneHash: (e) => `h:${e.key}`,
    async preparePut(e) {
      if (e.image !== null) return e.image;
      await yieldPoint();
      return source.get(e.key);
    },
    isPoison: (err) => (err as { name?: string }).name === 'Poison',
    measure: (_e, value) => ({ bytes: value?.length ?? 0 }),
  };
}

/** Memory targets with ids `t0`, `t1`, …. */
export function memoryTargets(stores: readonly MemoryStore[]): ConvergenceTarget<MemoryEnvelope, string>[] {
  return stores.map((store, i) => ({ id: `t${i}`, store }));
}

/** An envelope of the memory pair type; `seq` orders it (a put with a value, or a delete). */
export function memoryEnvelope(
  key: string,
  seq: number,
  value: string | null,
  op: 'put' | 'delete' = 'put',
): MemoryEnvelope {
  return {
    v: 1,
    pair: 'p',
    op,
    key,
    image: op === 'delete' ? null : value,
    version: `${String(1_000 + seq).padStart(15, '0')}.${'0'.repeat(40)}`,
    origin: 'us-east-1',
    capturedAt: 1_000_000,
  };
}
