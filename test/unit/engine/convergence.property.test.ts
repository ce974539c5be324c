/**
 * DESIGN.md's convergence rules 1-3 as a property of the engine itself, with the smallest pair type there is
 * (test/helpers/engine-memory.ts): whatever the delivery order, duplicates, batching and interleaving of
 * concurrent applies, every target ends equal to the source's final state. Each pair type's adapter runs the
 * same property over its own stores (test/unit/dynamodb/apply.property.test.ts, test/unit/s3/copy.property.test.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { converge } from '../../../functions/engine/convergence';
import { applyInterleaved, atLeastOnce, inBatches } from '../../helpers/delivery';
import {
  type MemoryEnvelope,
  MemoryStore,
  memoryEnvelope,
  memoryKeySpace,
  memoryTargets,
} from '../../helpers/engine-memory';
import { MemoryTombstones } from '../../helpers/memory-stores';

const KEYS = ['a', 'b', 'c'];

const opArb = fc.record({
  key: fc.nat(KEYS.length - 1),
  kind: fc.constantFrom('put', 'put', 'delete'),
  value: fc.nat(1000),
  // A put whose payload is read from the source when it is applied (a fetch envelope).
  fetch: fc.boolean(),
});

type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

/** The envelopes of a source history, and the source's state after it. */
function sourceHistory(ops: Op[]): { envelopes: MemoryEnvelope[]; finalState: Map<string, string> } {
  const finalState = new Map<string, string>();
  const envelopes = ops.map((op, i) => {
    const key = KEYS[op.key]!;
    if (op.kind === 'delete') {
      finalState.delete(key);
      return memoryEnvelope(key, i, null, 'delete');
    }
    const value = `${op.value}#${i}`;
    finalState.set(key, value);
    return memoryEnvelope(key, i, op.fetch ? null : value);
  });
  return { envelopes, finalState };
}

describe('engine convergence (property)', () => {
  it('every target ends equal to the source, whatever the order, duplicates and interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 16 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 8 }),
        fc.scheduler(),
        async (ops, duplicatePicks, batchSizes, s) => {
          const { envelopes, finalState } = sourceHistory(ops);
          const deliveries = atLeastOnce(envelopes, duplicatePicks);
          const yieldPoint = () => s.schedule(Promise.resolve());
          const stores = [new MemoryStore(yieldPoint), new MemoryStore(yieldPoint)];
          const targets = memoryTargets(stores);
          // Deliveries happen after the source's history, so a fetch reads its final state.
          const deps = {
            keys: memoryKeySpace(finalState, yieldPoint),
            tombstones: new MemoryTombstones(yieldPoint),
            concurrency: 4,
          };
          const results = await applyInterleaved(s, inBatches(deliveries, batchSizes), (b) =>
            converge(b, targets, deps),
          );
          for (const r of results) for (const t of r.values()) expect(t.failed).toEqual([]);
          for (const store of stores) expect(store.values()).toEqual(finalState);
        },
      ),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 1000) },
    );
  });
});
