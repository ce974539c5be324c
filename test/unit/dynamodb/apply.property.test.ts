/**
 * DESIGN.md's convergence rules 1-3 as a property: whatever the delivery order, duplicates, batching and
 * interleaving of concurrent applies, every target ends equal to the source's final state.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ApplyDeps, applyEnvelopes, type TableTarget } from '../../../functions/dynamodb/apply';
import { type AttrMap, canonicalKey } from '../../../functions/dynamodb/attributes';
import type { TableEnvelope } from '../../../functions/dynamodb/envelope';
import { streamVersion } from '../../../functions/engine/version';
import { applyInterleaved, atLeastOnce, inBatches } from '../../helpers/delivery';
import { MemorySource, MemoryTarget, MemoryTombstones } from '../../helpers/memory-stores';

const KEYS: AttrMap[] = [{ pk: { S: 'a' } }, { pk: { S: 'b' }, sk: { N: '1' } }, { pk: { S: 'ü ✓' } }];

const opArb = fc.record({
  key: fc.nat(KEYS.length - 1),
  kind: fc.constantFrom('put', 'put', 'delete'),
  value: fc.nat(1000),
  // A put whose image was too large for SQS travels as a fetch envelope (image null).
  fetch: fc.boolean(),
  // Several changes can share one second; the sequence number still orders them.
  sameSecond: fc.boolean(),
});

interface Scenario {
  envelopes: TableEnvelope[];
  finalState: Map<string, AttrMap>;
}

type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

function sourceHistory(ops: Op[]): Scenario {
  const finalState = new Map<string, AttrMap>();
  let seconds = 1_780_000_000;
  const envelopes = ops.map((op, i): TableEnvelope => {
    if (!op.sameSecond) seconds++;
    const key = KEYS[op.key]!;
    const version = streamVersion(seconds, String(1000 + i));
    if (op.kind === 'delete') {
      finalState.delete(canonicalKey(key));
      return { v: 1, pair: 'p', op: 'delete', key, image: null, version, origin: 'us-east-1', capturedAt: 0 };
    }
    const image = { ...key, value: { N: String(op.value) }, step: { N: String(i) } };
    finalState.set(canonicalKey(key), image);
    return {
      v: 1,
      pair: 'p',
      op: 'put',
      key,
      image: op.fetch ? null : image,
      version,
      origin: 'us-east-1',
      capturedAt: 0,
    };
  });
  return { envelopes, finalState };
}

describe('apply convergence (property)', () => {
  it('every target equals the source after any order, duplicates and interleaving; no delete is undone', async () => {
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
          const targets = [new MemoryTarget(yieldPoint), new MemoryTarget(yieldPoint)];
          const deps: ApplyDeps & { readonly targets: readonly TableTarget[] } = {
            targets: targets.map((store, i) => ({ id: `t${i}`, store })),
            tombstones: new MemoryTombstones(yieldPoint),
            // Deliveries happen after the source's history, so a fetch reads its final state.
            source: new MemorySource(finalState, yieldPoint),
          };
          // Split into batches that apply concurrently; the scheduler picks the order of every step.
          const results = await applyInterleaved(s, inBatches(deliveries, batchSizes), (b) =>
            applyEnvelopes(b, deps.targets, deps),
          );
          for (const r of results) for (const t of r.values()) expect(t.failed).toEqual([]);
          for (const t of targets) expect(t.userView()).toEqual(finalState);
        },
      ),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 1000) },
    );
  });
});
