import { describe, expect, it } from 'vitest';
import { LOWEST_OBJECT_VERSION, nextObjectVersion } from '../../../functions/engine/version';
import type { S3Envelope } from '../../../functions/s3/envelope';
import { s3KeyHash } from '../../../functions/s3/envelope';
import {
  buildS3RepairEnvelopes,
  compareKeys,
  listedEqual,
  repairDeleteVersion,
  repairPutVersion,
  runS3Reconcile,
  type S3ReconcileDeps,
} from '../../../functions/s3/reconcile';
import { MemoryTombstones } from '../../helpers/memory-stores';
import { MemoryBucket, MemoryStore } from '../../helpers/s3-memory-bucket';

function deps(over: Partial<S3ReconcileDeps> & Pick<S3ReconcileDeps, 'source' | 'targets'>): S3ReconcileDeps {
  return { pair: 'datasets', origin: 'us-east-1', store: new MemoryStore(), pageSize: 3, ...over };
}

const farDeadline = { deadlineMs: Number.MAX_SAFE_INTEGER };

function seeded(n: number, prefix = 'data/'): MemoryBucket {
  const b = new MemoryBucket();
  for (let i = 0; i < n; i++)
    b.put(`${prefix}${String(i).padStart(3, '0')}.bin`, `body-${i}`, { version: 't000001700000000.x' });
  return b;
}

function copyOf(source: MemoryBucket): MemoryBucket {
  const b = new MemoryBucket();
  for (const [k, v] of source.objects) b.objects.set(k, { ...v });
  return b;
}

describe('compareKeys', () => {
  it('orders by UTF-8 bytes, as S3 lists, not by UTF-16 units', () => {
    // U+FF61 is EF BD A1 in UTF-8; U+1F600 is F0 9F 98 80 (and D83D DE00 in UTF-16, which sorts first).
    expect('\u{1F600}' < '\uFF61').toBe(true);
    expect(compareKeys('\uFF61', '\u{1F600}')).toBeLessThan(0);
    expect(['b', 'a/b', 'a b', 'a+b'].sort(compareKeys)).toEqual(['a b', 'a+b', 'a/b', 'b']);
  });
});

describe('versions of repairs', () => {
  it('steps a sequencer version or a time version just past itself', () => {
    expect(nextObjectVersion(`s${'0'.repeat(30)}FF`)).toBe(`s${'0'.repeat(29)}100`);
    expect(nextObjectVersion('t001700000000000.abc')).toBe('t001700000000001.');
    expect(nextObjectVersion('t001700000000000.abc') > 't001700000000000.zzz').toBe(true);
  });

  it('keeps a different object’s own version unless its tombstone is newer', () => {
    const v = 's0000000000000000000000000000ABCD';
    expect(repairPutVersion(v, undefined)).toBe(v);
    expect(repairPutVersion(v, 's0000000000000000000000000000ABCC')).toBe(v);
    expect(repairPutVersion(v, 's0000000000000000000000000000ABCE')).toBe('s0000000000000000000000000000ABCF');
    expect(repairPutVersion(undefined, undefined)).toBe(LOWEST_OBJECT_VERSION);
    expect(repairDeleteVersion(undefined)).toBe(LOWEST_OBJECT_VERSION);
    expect(repairDeleteVersion(v)).toBe('s0000000000000000000000000000ABCE');
  });

  it('builds one envelope per finding, pinned to the source ETag, extras only with deleteExtra', () => {
    const findings = [
      { kind: 'missing' as const, key: 'a', source: { size: 3, etag: '"e1"' } },
      { kind: 'different' as const, key: 'b', source: { size: 4, etag: '"e2"' }, targetVersion: 't000000000000005.' },
      { kind: 'extra' as const, key: 'c', targetVersion: 't000000000000007.' },
    ];
    const tombs = new Map([[s3KeyHash('a'), 't000000000000009.q']]);
    const opts = { pair: 'p', origin: 'us-east-1', capturedAt: 1, deleteExtra: false };
    expect(buildS3RepairEnvelopes(findings, tombs, opts)).toEqual([
      {
        v: 1,
        pair: 'p',
        op: 'put',
        key: { key: 'a', size: 3, eTag: '"e1"' },
        image: null,
        version: 't000000000000010.',
        origin: 'us-east-1',
        capturedAt: 1,
      },
      {
        v: 1,
        pair: 'p',
        op: 'put',
        key: { key: 'b', size: 4, eTag: '"e2"' },
        image: null,
        version: 't000000000000005.',
        origin: 'us-east-1',
        capturedAt: 1,
      },
    ]);
    const withDeletes = buildS3RepairEnvelopes(findings, tombs, { ...opts, deleteExtra: true });
    expect(withDeletes[2]).toMatchObject({ op: 'delete', key: { key: 'c' }, version: 't000000000000008.' });
  });
});

describe('listedEqual', () => {
  it('never compares a multipart ETag with a single-part one', () => {
    const single = { key: 'k', size: 10, etag: '"abc"' };
    expect(listedEqual(single, { ...single })).toBe(true);
    expect(listedEqual(single, { ...single, etag: '"abc-2"' })).toBe(false);
    expect(listedEqual(single, { ...single, size: 11 })).toBe(false);
    expect(listedEqual({ ...single, etag: '"abc-2"' }, { ...single, etag: 'abc-2' })).toBe(true);
  });
});

describe('runS3Reconcile', () => {
  it('finds exactly the missing, extra and different objects across page boundaries', async () => {
    const source = seeded(20);
    source.put('other/outside-prefix.bin', 'x');
    const target = copyOf(source);
    target.objects.delete('data/004.bin');
    target.objects.delete('data/019.bin');
    target.put('data/007.bin', 'overwritten behind our back');
    target.put('data/010.bin', 'same-size!', { version: 't000001700000000.x' });
    source.put('data/010.bin', 'SAME-SIZE!', { version: 't000001700000000.x' });
    target.put('data/0105-extra.bin', 'extra', { version: 't000001600000000.y' });
    target.put('data/zzz-extra.bin', 'extra');
    const r = await runS3Reconcile(
      deps({ source, targets: [{ id: 'eu-west-1/t', bucket: target }], prefix: 'data/' }),
      farDeadline,
    );
    expect(r.complete).toBe(true);
    const t = r.report.targets[0]!;
    expect(t).toMatchObject({ checked: 22, matched: 16, missing: 2, extra: 2, different: 2, inFlight: 0, repaired: 0 });
    expect(t.samples.missing).toEqual([{ key: { S: 'data/004.bin' } }, { key: { S: 'data/019.bin' } }]);
    expect(t.samples.extra).toEqual([{ key: { S: 'data/0105-extra.bin' } }, { key: { S: 'data/zzz-extra.bin' } }]);
    expect(t.samples.different.map((k) => k.key)).toEqual([{ S: 'data/007.bin' }, { S: 'data/010.bin' }]);
    expect(r.report.consistencyRatio).toBeCloseTo(16 / 22);
  });

  it('applies the suffix filter to both sides', async () => {
    const source = seeded(5);
    source.put('data/readme.txt', 'only in source');
    const target = copyOf(seeded(5));
    target.put('data/notes.txt', 'only in target');
    const r = await runS3Reconcile(
      deps({ source, targets: [{ id: 't', bucket: target }], suffix: '.bin' }),
      farDeadline,
    );
    expect(r.report.targets[0]).toMatchObject({ checked: 5, matched: 5, missing: 0, extra: 0 });
  });

  it('settles a multipart ETag against a single-part one by full-object checksum, or counts it unverified', async () => {
    const source = new MemoryBucket()
      .put('a', 'same', { etag: '"aaaa"' })
      .put('b', 'same', { etag: '"bbbb"' })
      .put('c', 'none', { etag: '"cccc"', checksums: {} });
    const target = new MemoryBucket()
      .put('a', 'same', { etag: '"zzzz-2"', checksumType: 'FULL_OBJECT' })
      .put('b', 'same', { etag: '"yyyy-2"', checksumType: 'FULL_OBJECT', checksums: { CRC32: 'other' } })
      .put('c', 'none', { etag: '"xxxx-2"', checksums: {} });
    const r = await runS3Reconcile(deps({ source, targets: [{ id: 't', bucket: target }] }), farDeadline);
    expect(r.report.targets[0]).toMatchObject({ checked: 3, matched: 2, different: 1, unverified: 1 });
    expect(r.report.targets[0]!.samples.different).toEqual([{ key: { S: 'b' } }]);
  });

  it('does not count an object that changed after it was listed', async () => {
    const source = seeded(3);
    const target = copyOf(source);
    target.objects.delete('data/001.bin');
    target.objects.set('data/002.bin', { ...target.objects.get('data/002.bin')!, size: 1 });
    target.put('data/003.bin', 'extra for now');
    source.afterList = () => {
      source.put('data/001.bin', 'rewritten since');
      source.objects.delete('data/002.bin');
      source.put('data/003.bin', 'created since');
    };
    const r = await runS3Reconcile(
      deps({ source, targets: [{ id: 't', bucket: target }], pageSize: 100 }),
      farDeadline,
    );
    expect(r.report.targets[0]).toMatchObject({
      checked: 1,
      matched: 1,
      missing: 0,
      different: 0,
      extra: 0,
      inFlight: 3,
    });
  });

  it('repairs each target through its own messages, and deletes extras only when the pair says so', async () => {
    const source = seeded(6);
    const t1 = copyOf(source);
    const t2 = copyOf(source);
    t1.objects.delete('data/001.bin');
    t2.put('data/002.bin', 'corrupt', { version: 't000001700000000.x' });
    t2.put('data/009.bin', 'extra', { version: 't000001700000005.z' });
    const sent: { target: string; envelopes: readonly S3Envelope[] }[] = [];
    const tombstones = {
      newest: async (hashes: readonly string[]) => new Map(hashes.filter(() => false).map((h) => [h, ''])),
    };
    const base = deps({
      source,
      targets: [
        { id: 't1', bucket: t1 },
        { id: 't2', bucket: t2 },
      ],
      repair: true,
      tombstones,
      enqueue: async (target, envelopes) => {
        sent.push({ target, envelopes });
      },
      now: () => 1234,
    });
    const r = await runS3Reconcile(base, farDeadline);
    expect(r.report.repaired).toBe(2);
    expect(r.report.mismatched).toBe(3);
    const all = sent.flatMap((s) =>
      s.envelopes.map((e) => ({ target: s.target, op: e.op, key: e.key.key, version: e.version })),
    );
    expect(all).toEqual(
      expect.arrayContaining([
        { target: 't1', op: 'put', key: 'data/001.bin', version: LOWEST_OBJECT_VERSION },
        { target: 't2', op: 'put', key: 'data/002.bin', version: 't000001700000000.x' },
      ]),
    );
    expect(all).toHaveLength(2);

    sent.length = 0;
    const again = await runS3Reconcile({ ...base, store: new MemoryStore(), deleteExtra: true }, farDeadline);
    expect(again.report.repaired).toBe(3);
    expect(sent.flatMap((s) => s.envelopes)).toContainEqual(
      expect.objectContaining({ op: 'delete', key: { key: 'data/009.bin' }, version: 't000001700000006.' }),
    );
  });

  it('continues from its checkpoint across invocations and ends with the same counts', async () => {
    const source = seeded(30);
    const target = copyOf(source);
    target.objects.delete('data/005.bin');
    target.objects.delete('data/025.bin');
    target.put('data/0155.bin', 'extra');
    const store = new MemoryStore();
    let clock = 0;
    const d = deps({ source, targets: [{ id: 't', bucket: target }], store, pageSize: 4, now: () => clock++ });
    let invocations = 0;
    let result: Awaited<ReturnType<typeof runS3Reconcile>>;
    do {
      invocations++;
      // A deadline a few ticks away: each invocation judges one chunk or two.
      result = await runS3Reconcile(d, { deadlineMs: clock + 3 });
    } while (!result.complete && invocations < 100);
    expect(invocations).toBeGreaterThan(3);
    expect(result.report.invocations).toBe(invocations);
    expect(result.report.targets[0]).toMatchObject({ checked: 31, matched: 28, missing: 2, extra: 1 });
  });

  it('refuses a repair run without an enqueue function or tombstones', async () => {
    const source = seeded(1);
    await expect(runS3Reconcile(deps({ source, targets: [], repair: true }), farDeadline)).rejects.toThrow(/enqueue/);
    await expect(
      runS3Reconcile(deps({ source, targets: [], repair: true, enqueue: async () => undefined }), farDeadline),
    ).rejects.toThrow(/tombstone/);
  });
});

describe('runS3Reconcile and lost deletes', () => {
  it('counts an extra object whose key has a newer tombstone as a lost delete and repairs it with that version', async () => {
    const source = seeded(3);
    const target = copyOf(source);
    target.put('data/gone.bin', 'deleted at the source', { version: 't000001700000000.a' });
    target.put('data/extra.bin', 'never at the source', { version: 't000001700000000.b' });
    const tombstones = new MemoryTombstones();
    await tombstones.record(s3KeyHash('data/gone.bin'), 't000001700000009.');
    // An older tombstone than the object's rep-v: that object was written after the delete, a true extra.
    await tombstones.record(s3KeyHash('data/extra.bin'), 't000001600000000.');
    const sent: { targetId: string; envelopes: readonly S3Envelope[] }[] = [];
    const r = await runS3Reconcile(
      deps({
        source,
        targets: [{ id: 't', bucket: target }],
        tombstones,
        repair: true,
        deleteExtra: false,
        enqueue: async (targetId, envelopes) => void sent.push({ targetId, envelopes }),
      }),
      farDeadline,
    );
    expect(r.report.targets[0]).toMatchObject({ checked: 5, matched: 3, extra: 1, lostDeletes: 1, repaired: 1 });
    expect(r.report.targets[0]?.samples.lostDelete).toEqual([{ key: { S: 'data/gone.bin' } }]);
    expect(sent.flatMap((s) => s.envelopes)).toEqual([
      expect.objectContaining({ op: 'delete', key: { key: 'data/gone.bin' }, version: 't000001700000009.' }),
    ]);
  });
});
