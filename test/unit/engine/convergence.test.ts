/**
 * The engine's convergence algorithm, with the smallest pair type there is (test/helpers/engine-memory.ts):
 * what every pair type's apply path gets from the engine, tested once. The property test beside this file
 * drives it through random orders and duplicates; each pair type's adapter has its own tests.
 */
import { describe, expect, it } from 'vitest';
import { canonicalKey } from '../../../functions/dynamodb/attributes';
import { type ConvergenceDeps, converge, newestPerKey } from '../../../functions/engine/convergence';
import {
  type MemoryEnvelope,
  MemoryStore,
  memoryEnvelope,
  memoryKeySpace,
  memoryTargets,
} from '../../helpers/engine-memory';
import { envelope } from '../../helpers/factories';
import { MemoryTombstones } from '../../helpers/memory-stores';

function setup(source: Map<string, string> = new Map()) {
  const stores = [new MemoryStore(), new MemoryStore()];
  const tombstones = new MemoryTombstones();
  const deps: ConvergenceDeps<MemoryEnvelope, string> = {
    keys: memoryKeySpace(source),
    tombstones,
    concurrency: 4,
    now: () => 2_000,
  };
  return { stores, targets: memoryTargets(stores), tombstones, deps };
}

describe('converge', () => {
  it('writes a put to every target, measuring latency from the version and delivery from capture', async () => {
    const { stores, targets, deps } = setup();
    const r = await converge([memoryEnvelope('a', 1, 'x')], targets, deps);
    for (const s of stores) expect(s.values()).toEqual(new Map([['a', 'x']]));
    // Version time 1001 ms, captured at 1,000,000 ms (after "now": delivery is clamped at 0).
    expect(r.get('t0')?.applied).toEqual([
      { envelope: expect.objectContaining({ key: 'a' }), bytes: 1, latencyMs: 999, deliveryMs: 0, unverified: false },
    ]);
  });

  it('applies only the newest envelope of a key and counts the rest as stale', async () => {
    const { stores, targets, deps } = setup();
    const older = memoryEnvelope('a', 1, 'old');
    const newer = memoryEnvelope('a', 2, 'new');
    const r = await converge([newer, older], targets, deps);
    expect(stores[0]!.values().get('a')).toBe('new');
    expect(r.get('t1')?.stale).toEqual([older]);
  });

  it('never lets an older version overwrite a newer one (rule 1) and changes nothing twice (rule 3)', async () => {
    const { stores, targets, deps } = setup();
    await converge([memoryEnvelope('a', 2, 'new')], targets, deps);
    const r = await converge([memoryEnvelope('a', 1, 'old'), memoryEnvelope('b', 1, 'b')], targets, deps);
    expect(stores[0]!.values()).toEqual(
      new Map([
        ['a', 'new'],
        ['b', 'b'],
      ]),
    );
    const again = await converge([memoryEnvelope('b', 1, 'b')], targets, deps);
    expect(r.get('t0')?.stale).toHaveLength(1);
    expect(again.get('t0')?.stale).toHaveLength(1);
  });

  it("records a delete's tombstone before it deletes on the targets", async () => {
    const { stores, targets, tombstones, deps } = setup();
    await converge([memoryEnvelope('a', 1, 'x')], targets, deps);
    const del = memoryEnvelope('a', 2, null, 'delete');
    await converge([del], targets, deps);
    expect(tombstones.versions.get('h:a')).toBe(del.version);
    for (const s of stores) expect(s.values().size).toBe(0);
  });

  it('removes a put that a newer delete overtook (rule 2), and counts it stale', async () => {
    const { stores, targets, deps } = setup();
    await converge([memoryEnvelope('a', 5, null, 'delete')], targets, deps);
    const late = memoryEnvelope('a', 3, 'late');
    const r = await converge([late], targets, deps);
    for (const s of stores) expect(s.values().size).toBe(0);
    expect(r.get('t0')?.stale).toEqual([late]);
  });

  it('fails only the target that failed, naming poison apart from retryable errors', async () => {
    const { stores, targets, deps } = setup();
    const poison = Object.assign(new Error('bad'), { name: 'Poison' });
    stores[1]!.putIfNewer = async () => Promise.reject(poison);
    const e = memoryEnvelope('a', 1, 'x');
    const r = await converge([e], targets, deps);
    expect(r.get('t0')?.applied).toHaveLength(1);
    expect(r.get('t1')?.failed).toEqual([{ envelope: e, error: poison, poison: true, site: 'target t1 (memory)' }]);
  });

  it('counts a put whose source moved on as stale everywhere, and fails it everywhere when the source cannot be read', async () => {
    const { targets, deps } = setup();
    const fetch = memoryEnvelope('gone', 1, null);
    const r = await converge([fetch], targets, deps);
    expect(r.get('t0')?.stale).toEqual([fetch]);
    const broken = { ...deps, keys: { ...deps.keys, preparePut: async () => Promise.reject(new Error('throttled')) } };
    const failed = await converge([memoryEnvelope('b', 1, 'x')], targets, broken);
    for (const t of ['t0', 't1']) expect(failed.get(t)?.failed[0]?.poison).toBe(false);
  });

  it('counts a write whose source went away after preparePut as stale when the type says so', async () => {
    const { stores, targets, deps } = setup();
    stores[0]!.putIfNewer = async () => Promise.reject(Object.assign(new Error('gone'), { name: 'Gone' }));
    const keys = { ...deps.keys, isSourceGone: (err: unknown) => (err as Error).name === 'Gone' };
    const r = await converge([memoryEnvelope('a', 1, 'x')], targets, { ...deps, keys });
    expect(r.get('t0')?.stale).toHaveLength(1);
    expect(r.get('t0')?.failed).toEqual([]);
  });

  it('skips a delete the type does not confirm', async () => {
    const { stores, targets, tombstones, deps } = setup();
    await converge([memoryEnvelope('a', 1, 'x')], targets, deps);
    const keys = { ...deps.keys, confirmDelete: async () => false };
    const r = await converge([memoryEnvelope('a', 2, null, 'delete')], targets, { ...deps, keys });
    expect(r.get('t0')?.stale).toHaveLength(1);
    expect(tombstones.versions.size).toBe(0);
    expect(stores[0]!.values().get('a')).toBe('x');
  });

  it('fails every written put when the tombstone check cannot be made (a retry is a no-op plus the check)', async () => {
    const { targets, tombstones, deps } = setup();
    tombstones.newest = async () => Promise.reject(new Error('state table throttled'));
    const r = await converge([memoryEnvelope('a', 1, 'x')], targets, deps);
    for (const t of ['t0', 't1']) expect(r.get(t)?.failed).toHaveLength(1);
  });

  it('measures latency from what the type knows when the version carries no time', async () => {
    const { targets, deps } = setup();
    const keys = { ...deps.keys, measure: () => ({ bytes: 7, writtenAt: 1_500 }) };
    const e = { ...memoryEnvelope('a', 1, 'x'), version: `s${'0'.repeat(31)}9` };
    const r = await converge([e], targets, { ...deps, keys });
    expect(r.get('t0')?.applied[0]).toMatchObject({ bytes: 7, latencyMs: 500 });
  });
});

const key = { pk: { S: 'a' }, sk: { S: '1' } };

describe('newestPerKey', () => {
  it('keeps the highest version of each key', () => {
    const a = envelope({ key, seq: 1 });
    const b = envelope({ key, seq: 9 });
    const other = envelope({ key: { pk: { S: 'z' } }, seq: 2 });
    expect(newestPerKey([b, a, other], (e) => canonicalKey(e.key)).newest).toEqual([b, other]);
  });
});
