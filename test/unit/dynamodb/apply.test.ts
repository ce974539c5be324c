import { describe, expect, it } from 'vitest';
import { type ApplyDeps, applyEnvelopes, type TableTarget } from '../../../functions/dynamodb/apply';
import { canonicalKey, keyHash } from '../../../functions/dynamodb/attributes';
import { envelope } from '../../helpers/factories';
import { MemorySource, MemoryTarget, MemoryTombstones } from '../../helpers/memory-stores';

function setup() {
  const eu = new MemoryTarget();
  const ap = new MemoryTarget();
  const tombstones = new MemoryTombstones();
  const source = new MemorySource();
  const deps: ApplyDeps & { readonly targets: readonly TableTarget[] } = {
    targets: [
      { id: 'eu-west-1/orders', store: eu },
      { id: 'ap-northeast-1/orders', store: ap },
    ],
    tombstones,
    source,
    now: () => 1_780_000_001_000,
  };
  return { eu, ap, tombstones, source, deps };
}
const key = { pk: { S: 'a' }, sk: { S: '1' } };

describe('applyEnvelopes', () => {
  it('writes a put to every target with rep:v and rep:o', async () => {
    const { eu, ap, deps } = setup();
    const e = envelope({ key, seq: 1 });
    const r = await applyEnvelopes([e], deps.targets, deps);
    expect(r.get('eu-west-1/orders')?.applied).toHaveLength(1);
    for (const t of [eu, ap]) {
      expect(t.items.get(canonicalKey(key))).toMatchObject({
        ...key,
        qty: { N: '1' },
        'rep:v': { S: e.version },
        'rep:o': { S: 'us-east-1' },
      });
    }
  });

  it('skips an older version after a newer one', async () => {
    const { eu, deps } = setup();
    const newer = envelope({ key, seq: 2, image: { ...key, qty: { N: '2' } } });
    const older = envelope({ key, seq: 1, image: { ...key, qty: { N: '1' } } });
    await applyEnvelopes([newer], deps.targets, deps);
    const r = await applyEnvelopes([older], deps.targets, deps);
    expect(r.get('eu-west-1/orders')?.stale).toEqual([older]);
    expect(eu.items.get(canonicalKey(key))?.qty).toEqual({ N: '2' });
  });

  it('changes nothing when the same envelope is applied twice', async () => {
    const { eu, deps } = setup();
    const e = envelope({ key, seq: 5 });
    await applyEnvelopes([e], deps.targets, deps);
    const before = structuredClone([...eu.items]);
    const r = await applyEnvelopes([e], deps.targets, deps);
    expect([...eu.items]).toEqual(before);
    expect(r.get('eu-west-1/orders')?.stale).toHaveLength(1);
  });

  it('does not let a late older put undo a delete', async () => {
    const { eu, ap, tombstones, deps } = setup();
    const put = envelope({ key, seq: 1 });
    const del = envelope({ op: 'delete', key, seq: 2 });
    await applyEnvelopes([del], deps.targets, deps);
    const r = await applyEnvelopes([put], deps.targets, deps);
    expect(eu.items.size + ap.items.size).toBe(0);
    expect(r.get('eu-west-1/orders')?.stale).toEqual([put]);
    expect(tombstones.versions.get(keyHash(key))).toBe(del.version);
  });

  it('applies only the newest envelope of a key within one batch', async () => {
    const { eu, deps } = setup();
    const a = envelope({ key, seq: 1 });
    const b = envelope({ op: 'delete', key, seq: 3 });
    const c = envelope({ key, seq: 2 });
    const r = await applyEnvelopes([a, b, c], deps.targets, deps);
    expect(eu.calls).toBe(1);
    expect(r.get('eu-west-1/orders')?.stale).toHaveLength(2);
    expect(eu.items.size).toBe(0);
  });

  it('reads the source for a fetch envelope and counts a vanished item as stale', async () => {
    const { eu, source, deps } = setup();
    const k2 = { pk: { S: 'b' }, sk: { S: '1' } };
    source.items.set(canonicalKey(key), { ...key, big: { S: 'x'.repeat(10) } });
    const r = await applyEnvelopes(
      [envelope({ key, image: null, seq: 1 }), envelope({ key: k2, image: null, seq: 2 })],
      deps.targets,
      deps,
    );
    expect(eu.items.get(canonicalKey(key))?.big).toEqual({ S: 'xxxxxxxxxx' });
    expect(r.get('eu-west-1/orders')?.stale.map((e) => e.key)).toEqual([k2]);
  });

  it('keeps going on the other targets when one target fails', async () => {
    const { ap, deps } = setup();
    const failing = {
      id: 'eu-west-1/orders',
      store: {
        ...new MemoryTarget(),
        putIfNewer: async () => Promise.reject(Object.assign(new Error('slow down'), { name: 'ThrottlingException' })),
        deleteIfOlder: async () => 'applied' as const,
        deleteIfVersion: async () => {},
      },
    };
    const e = envelope({ key, seq: 1 });
    const r = await applyEnvelopes([e], [failing, deps.targets[1]!], deps);
    expect(r.get('eu-west-1/orders')?.failed[0]).toMatchObject({ envelope: e, poison: false });
    expect(r.get('ap-northeast-1/orders')?.applied).toHaveLength(1);
    expect(ap.items.size).toBe(1);
  });

  it('marks a validation error as poison', async () => {
    const { deps } = setup();
    const bad = {
      ...new MemoryTarget(),
      putIfNewer: async () =>
        Promise.reject(Object.assign(new Error('Item size has exceeded'), { name: 'ValidationException' })),
      deleteIfOlder: async () => 'applied' as const,
      deleteIfVersion: async () => {},
    };
    const r = await applyEnvelopes([envelope({ key })], [{ id: 't', store: bad }], deps);
    expect(r.get('t')?.failed[0]?.poison).toBe(true);
  });

  it('reports latency from the source write and from capture', async () => {
    const { deps } = setup();
    const r = await applyEnvelopes([envelope({ key, timeSeconds: 1_780_000_000 })], deps.targets, deps);
    expect(r.get('eu-west-1/orders')?.applied[0]).toMatchObject({ latencyMs: 1_000, deliveryMs: 500 });
  });
});
