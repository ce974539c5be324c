import { describe, expect, it } from 'vitest';
import { type AttrJson, keyHash } from '../../../functions/dynamodb/attributes';
import type { TableEnvelope } from '../../../functions/dynamodb/envelope';
import {
  compareSegment,
  type ReconcileDeps,
  runReconcile,
  type TableReader,
} from '../../../functions/dynamodb/reconcile';
import { ReadBudget } from '../../../functions/engine/budget';
import { readVersion, streamVersion } from '../../../functions/engine/version';
import { MemoryTombstones } from '../../helpers/memory-stores';
import { FakeClock, item, MemoryCheckpointStore, MemoryTable, replicatedTables } from '../../helpers/reconcile-memory';

const far = Number.MAX_SAFE_INTEGER;
const str = (v: AttrJson | undefined) => (v && 'S' in v ? v.S : undefined);

function deps(t: ReturnType<typeof replicatedTables>, extra: Partial<ReconcileDeps> = {}): ReconcileDeps {
  return {
    pair: 'orders',
    origin: 'us-east-1',
    keyNames: ['pk', 'sk'],
    source: t.source,
    targets: [
      { id: 'eu', reader: t.eu },
      { id: 'ap', reader: t.ap },
    ],
    store: new MemoryCheckpointStore(),
    totalSegments: 3,
    pageSize: 7,
    ...extra,
  };
}

/** Corrupts the targets behind Replicator's back. */
function corrupt(t: ReturnType<typeof replicatedTables>) {
  const changed = item('p1', 's0001');
  t.eu.put({ ...t.eu.get(changed)!, n: { N: '999' } });
  const gone = item('p2', 's0002');
  t.eu.delete(gone);
  t.ap.delete(gone);
  const extra = item('zz', 'extra', { x: { S: 'y' } });
  t.ap.put(extra);
  return { changed: item('p1', 's0001'), gone, extra: item('zz', 'extra') };
}

describe('runReconcile', () => {
  it('finds nothing when targets hold the source (rep: attributes and attribute order aside)', async () => {
    const t = replicatedTables(40);
    const r = await runReconcile(deps(t), { deadlineMs: far });
    expect(r.complete).toBe(true);
    for (const target of r.report.targets) {
      expect(target).toMatchObject({
        checked: 40,
        matched: 40,
        missing: 0,
        extra: 0,
        different: 0,
        consistencyRatio: 1,
      });
    }
    expect(r.report.consistencyRatio).toBe(1);
  });

  it('finds exactly the missing, extra and different items on each target', async () => {
    const t = replicatedTables(40);
    const { changed, gone, extra } = corrupt(t);
    const r = await runReconcile(deps(t), { deadlineMs: far });
    const [eu, ap] = r.report.targets;
    expect(eu).toMatchObject({ target: 'eu', checked: 40, matched: 38, missing: 1, different: 1, extra: 0 });
    expect(eu?.samples).toEqual({ missing: [gone], different: [changed], extra: [] });
    expect(ap).toMatchObject({ target: 'ap', checked: 41, matched: 39, missing: 1, different: 0, extra: 1 });
    expect(ap?.samples).toEqual({ missing: [gone], different: [], extra: [extra] });
    expect(eu?.consistencyRatio).toBeCloseTo(38 / 40);
    expect(r.report).toMatchObject({ checked: 81, matched: 77, mismatched: 4, repaired: 0 });
    expect(r.report.consistencyRatio).toBeCloseTo(77 / 81);
  });

  it('compares the filtered source with the targets', async () => {
    const t = replicatedTables(10);
    for (const it of t.source.items.values()) it.secret = { S: 'not replicated' };
    const r = await runReconcile(deps(t, { filter: { deny: ['secret'] } }), { deadlineMs: far });
    expect(r.report.mismatched).toBe(0);
    const unfiltered = await runReconcile(deps(t), { deadlineMs: far });
    expect(unfiltered.report.targets[0]?.different).toBe(10);
  });

  it('does not count a write in flight: the source changed between scan and re-read', async () => {
    const t = replicatedTables(20);
    const caughtUp = item('p3', 's0003');
    const lagging = item('p4', 's0004');
    const deleted = item('p5', 's0005');
    // The targets are one write behind on these three keys; the source moves on again during the check.
    for (const k of [caughtUp, lagging, deleted]) t.eu.put({ ...t.eu.get(k)!, n: { N: 'old' } });
    t.source.beforeConsistentGet = (key) => {
      if (str(key.sk) === 's0003') {
        t.source.put({ ...t.source.get(key)!, n: { N: '2' } });
        t.eu.put({ ...t.source.get(key)!, 'rep:v': { S: 'newer' } });
      }
      if (str(key.sk) === 's0004') t.source.put({ ...t.source.get(key)!, n: { N: '3' } });
      if (str(key.sk) === 's0005') {
        t.source.delete(key);
        t.eu.delete(key);
        t.ap.delete(key);
      }
    };
    const r = await runReconcile(deps(t), { deadlineMs: far });
    expect(r.report.targets[0]).toMatchObject({ checked: 18, matched: 18, missing: 0, different: 0, inFlight: 2 });
    expect(r.report.mismatched).toBe(0);
  });

  it('does not count an extra target item the source gained while it was checked', async () => {
    const t = replicatedTables(10);
    const newcomer = item('new', 'one', { x: { S: '1' } });
    t.eu.put(newcomer);
    t.source.beforeConsistentGet = (key) => {
      if (str(key.pk) === 'new') t.source.put(newcomer);
    };
    const r = await runReconcile(deps(t), { deadlineMs: far });
    expect(r.report.targets[0]).toMatchObject({ extra: 0, inFlight: 1 });
  });

  it('stops before the deadline and resumes from the checkpoint to the same totals as one run', async () => {
    const single = replicatedTables(60);
    corrupt(single);
    const one = await runReconcile(deps(single), { deadlineMs: far });

    const t = replicatedTables(60);
    corrupt(t);
    const clock = new FakeClock();
    // Every scan page takes a second.
    const slow = (table: MemoryTable): TableReader => ({
      scanPage: async (...a) => {
        clock.advance(1000);
        return table.scanPage(...a);
      },
      getMany: (k) => table.getMany(k),
      getConsistent: (k) => table.getConsistent(k),
    });
    const store = new MemoryCheckpointStore();
    const d = deps(t, {
      source: slow(t.source),
      targets: [
        { id: 'eu', reader: slow(t.eu) },
        { id: 'ap', reader: slow(t.ap) },
      ],
      store,
      concurrency: 2,
      now: clock.now,
    });
    let r = await runReconcile(d, { deadlineMs: clock.t + 4_000 });
    expect(r.complete).toBe(false);
    expect(clock.t).toBeLessThanOrEqual(r.checkpoint.startedAt + 4_000);
    expect(JSON.parse(store.json!)).toEqual(r.checkpoint);
    let invocations = 1;
    while (!r.complete) {
      r = await runReconcile(d, { deadlineMs: clock.t + 4_000 });
      invocations++;
      expect(invocations).toBeLessThan(100);
    }
    expect(invocations).toBeGreaterThan(3);
    expect(r.report.invocations).toBe(invocations);
    expect(r.report.targets).toEqual(one.report.targets);
    expect(r.report.durationMs).toBe(clock.t - r.report.startedAt);

    // A finished run is not resumed: the next invocation starts a new one.
    const next = await runReconcile(d, { deadlineMs: far });
    expect(next.report.invocations).toBe(1);
    expect(next.report.targets).toEqual(one.report.targets);
  });

  it('paces reads with the read budget', async () => {
    const t = replicatedTables(60);
    const clock = new FakeClock();
    const start = clock.t;
    const budget = new ReadBudget({ readRate: 5, now: clock.now, sleep: clock.sleep });
    const r = await runReconcile(deps(t, { budget, now: clock.now, sleep: clock.sleep }), { deadlineMs: far });
    expect(r.complete).toBe(true);
    expect(budget.spent).toBeGreaterThan(20);
    // Everything past the 5-unit burst is paid for at 5 units/s, less the last read's debt.
    expect(clock.t - start).toBeGreaterThanOrEqual(((budget.spent - 5 - 5) / 5) * 1000);
    expect(budget.waitedMs).toBeGreaterThan(0);
  });

  it('looks keys up in batches of at most getBatchSize keys', async () => {
    const t = replicatedTables(300);
    const r = await runReconcile(deps(t, { totalSegments: 1, pageSize: 250 }), { deadlineMs: far });
    expect(r.report.matched).toBe(600);
    // Source pages of 250 and 50 keys: 3 + 1 batch gets per target.
    expect(t.eu.batchGets).toBe(4);
  });

  it('waits recheckDelayMs before re-reading suspects, and only when there are some', async () => {
    const t = replicatedTables(10);
    const clock = new FakeClock();
    await runReconcile(deps(t, { recheckDelayMs: 3000, now: clock.now, sleep: clock.sleep }), { deadlineMs: far });
    expect(clock.slept).toEqual([]);
    corrupt(t);
    await runReconcile(deps(t, { recheckDelayMs: 3000, now: clock.now, sleep: clock.sleep }), { deadlineMs: far });
    expect(clock.slept.length).toBeGreaterThan(0);
    expect(new Set(clock.slept)).toEqual(new Set([3000]));
  });

  it('compares one segment from a start key', async () => {
    const t = replicatedTables(40);
    corrupt(t);
    const d = deps(t, { totalSegments: 1, pageSize: 10 });
    const first = await t.source.scanPage(0, 1, undefined, 10);
    const steps: number[] = [];
    const r = await compareSegment(
      d,
      { kind: 'source' },
      { segment: 0, startKey: first.lastKey! },
      {
        onPage: async (step) => void steps.push(step.outcome.counts.eu!.checked),
      },
    );
    expect(r).toEqual({ done: true });
    expect(steps).toEqual([10, 10, 10]);
  });

  it('fails when repair is on without a way to enqueue', async () => {
    await expect(runReconcile(deps(replicatedTables(1), { repair: true }), { deadlineMs: far })).rejects.toThrow(
      /repair is on but no enqueue function/,
    );
  });
});

describe('runReconcile with repair', () => {
  async function repairRun(deleteExtra: boolean) {
    const t = replicatedTables(30);
    const keys = corrupt(t);
    const sent: TableEnvelope[] = [];
    const clock = new FakeClock(1_780_000_123_456);
    const r = await runReconcile(
      deps(t, { repair: true, deleteExtra, enqueue: async (e) => void sent.push(...e), now: clock.now }),
      { deadlineMs: far },
    );
    return { t, keys, sent, r, clock };
  }

  it('re-enqueues missing and different items as puts with the backfill version', async () => {
    const { t, keys, sent, r, clock } = await repairRun(false);
    const puts = sent.filter((e) => e.op === 'put');
    expect(puts.map((e) => e.key).sort((a, b) => (str(a.pk)! < str(b.pk)! ? -1 : 1))).toEqual([
      keys.changed,
      keys.gone,
    ]);
    for (const e of puts) {
      expect(e.version).toBe(readVersion(clock.t));
      expect(e.version).toBe('001780000122000.0000000000000000000000000000000000000000');
      expect(e.image).toEqual(t.source.get(e.key));
      expect(e).toMatchObject({ v: 1, pair: 'orders', origin: 'us-east-1' });
    }
    // The key missing on both targets is sent once: the pair queue feeds every target.
    expect(puts).toHaveLength(2);
    expect(sent.filter((e) => e.op === 'delete')).toEqual([]);
    expect(r.report.targets.map((x) => [x.target, x.repaired])).toEqual([
      ['eu', 2],
      ['ap', 1],
    ]);
  });

  it('deletes extra target items only when deleteExtra is on', async () => {
    const { keys, sent, r } = await repairRun(true);
    const deletes = sent.filter((e) => e.op === 'delete');
    expect(deletes).toHaveLength(1);
    expect(deletes[0]).toMatchObject({ key: keys.extra, image: null });
    expect(r.report.targets.map((x) => [x.target, x.repaired])).toEqual([
      ['eu', 2],
      ['ap', 2],
    ]);
  });

  it('converges: applying the repair envelopes leaves nothing to find', async () => {
    const { t, sent } = await repairRun(true);
    for (const target of [t.eu, t.ap]) {
      for (const e of sent) {
        if (e.op === 'delete') target.delete(e.key);
        else target.put({ ...e.image!, 'rep:v': { S: e.version } });
      }
    }
    const again = await runReconcile(deps(t), { deadlineMs: far });
    expect(again.report).toMatchObject({ mismatched: 0, consistencyRatio: 1 });
  });

  it('does not advance the checkpoint past a page whose repairs could not be enqueued', async () => {
    const t = replicatedTables(30);
    corrupt(t);
    const store = new MemoryCheckpointStore();
    const failing = deps(t, {
      store,
      repair: true,
      enqueue: async () => {
        throw new Error('SQS unavailable');
      },
    });
    await expect(runReconcile(failing, { deadlineMs: far })).rejects.toThrow(/SQS unavailable/);
    const sent: TableEnvelope[] = [];
    const r = await runReconcile({ ...failing, enqueue: async (e) => void sent.push(...e) }, { deadlineMs: far });
    expect(r.report.targets.find((x) => x.target === 'eu')).toMatchObject({ missing: 1, different: 1, repaired: 2 });
    expect(sent.filter((e) => e.op === 'put')).toHaveLength(2);
  });
});

describe('MemoryTable', () => {
  it('splits the same keys into different segments per table', async () => {
    const a = new MemoryTable('a');
    const b = new MemoryTable('b');
    for (let i = 0; i < 20; i++) {
      a.put(item('p', String(i)));
      b.put(item('p', String(i)));
    }
    const segA = (await a.scanPage(0, 4, undefined, 100)).items;
    const segB = (await b.scanPage(0, 4, undefined, 100)).items;
    expect(segA).not.toEqual(segB);
  });
});

describe('runReconcile and lost deletes', () => {
  /** The target keeps an item the source deleted; `tombstone` is the version of the source's delete. */
  async function lostDeleteRun(o: { targetVersion: string; tombstone: string; repair: boolean }) {
    const t = replicatedTables(10);
    const key = { pk: { S: 'gone' }, sk: { S: '1' } };
    for (const target of [t.eu, t.ap]) target.put({ ...key, n: { N: '1' }, 'rep:v': { S: o.targetVersion } });
    const tombstones = new MemoryTombstones();
    await tombstones.record(keyHash(key), o.tombstone);
    const sent: TableEnvelope[] = [];
    const r = await runReconcile(
      deps(t, {
        tombstones,
        repair: o.repair,
        deleteExtra: false,
        ...(o.repair ? { enqueue: async (e: readonly TableEnvelope[]) => void sent.push(...e) } : {}),
      }),
      { deadlineMs: far },
    );
    return { r, sent, key };
  }
  const older = streamVersion(1_780_000_000, '1');
  const newer = streamVersion(1_780_000_100, '2');

  it('counts an item whose key has a newer tombstone as a lost delete, apart from true extras', async () => {
    const { r } = await lostDeleteRun({ targetVersion: older, tombstone: newer, repair: false });
    for (const x of r.report.targets) expect(x).toMatchObject({ extra: 0, lostDeletes: 1, repaired: 0 });
    expect(r.report.mismatched).toBe(2);
    expect(r.report.targets[0]?.samples.lostDelete).toEqual([{ pk: { S: 'gone' }, sk: { S: '1' } }]);
  });

  it('repairs a lost delete with the tombstone version even though deleteExtra is off', async () => {
    const { r, sent, key } = await lostDeleteRun({ targetVersion: older, tombstone: newer, repair: true });
    // Each target's scan finds it and sends it (a duplicate delete changes nothing: rule 3).
    expect(sent).toEqual([
      expect.objectContaining({ op: 'delete', key, version: newer }),
      expect.objectContaining({ op: 'delete', key, version: newer }),
    ]);
    for (const x of r.report.targets) expect(x).toMatchObject({ lostDeletes: 1, repaired: 1 });
  });

  it('counts an item written after the tombstone as a true extra', async () => {
    const { r, sent } = await lostDeleteRun({ targetVersion: newer, tombstone: older, repair: true });
    for (const x of r.report.targets) expect(x).toMatchObject({ extra: 1, repaired: 0 });
    expect(r.report.targets[0]?.lostDeletes ?? 0).toBe(0);
    expect(sent).toEqual([]);
  });
});
