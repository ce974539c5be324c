/**
 * Backfill runs (mode `backfill` of the engine's reconcile run) for both pair types, on in-memory sides:
 * only what a target lacks or holds different is enqueued, to that target only, without re-reads; extras
 * are never looked for; the run continues across invocations; S3 key ranges are listed in parallel.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TableEnvelope } from '../../../functions/dynamodb/envelope';
import { runReconcile } from '../../../functions/dynamodb/reconcile';
import { progressOf, targetScan } from '../../../functions/engine/checkpoint';
import { readVersion } from '../../../functions/engine/version';
import type { S3Envelope } from '../../../functions/s3/envelope';
import { compareKeys, runS3Reconcile } from '../../../functions/s3/reconcile';
import { discoverBounds, positionIn } from '../../../functions/s3/shards';
import { MemoryTombstones } from '../../helpers/memory-stores';
import { item, MemoryCheckpointStore, MemoryTable } from '../../helpers/reconcile-memory';
import { MemoryBucket, MemoryStore } from '../../helpers/s3-memory-bucket';

const farDeadline = { deadlineMs: Number.MAX_SAFE_INTEGER };

/** The keys of each range the bounds make (after bounds[i-1], up to and including bounds[i]). */
function rangesOf(keys: readonly string[], bounds: readonly string[]): string[][] {
  const out: string[][] = Array.from({ length: bounds.length + 1 }, () => []);
  for (const k of keys) {
    const i = bounds.findIndex((b) => compareKeys(k, b) <= 0);
    out[i === -1 ? bounds.length : i]!.push(k);
  }
  return out;
}

describe('discoverBounds (S3 key ranges by skip-scan)', () => {
  const firstKeyAfter = (b: MemoryBucket) => async (prefix: string, after: string | undefined) =>
    (await b.list(prefix, after, 1)).objects[0]?.key;

  it('splits checkpoint-like keys into even ranges with a few requests, whatever their count', async () => {
    const b = new MemoryBucket();
    for (let run = 0; run < 40; run++) for (let s = 0; s < 25; s++) b.put(`ckpt/run-${run}/shard-${s}.bin`, 'x');
    const bounds = await discoverBounds('ckpt/', firstKeyAfter(b), { shards: 4 });
    expect(bounds).toHaveLength(3);
    const sizes = rangesOf([...b.objects.keys()], bounds).map((r) => r.length);
    expect(sizes.reduce((a, n) => a + n, 0)).toBe(1000);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2 * Math.min(...sizes));
    expect(b.lists).toBeLessThanOrEqual(256);
  });

  it('gives no bounds for an empty or one-key prefix', async () => {
    const b = new MemoryBucket().put('other/x', 'x');
    expect(await discoverBounds('data/', firstKeyAfter(b), { shards: 8 })).toEqual([]);
    b.put('data/only', 'x');
    expect(await discoverBounds('data/', firstKeyAfter(b), { shards: 8 })).toEqual([]);
  });

  it('bounds are sorted and every key lands in exactly one range, for any keys (odd characters too)', async () => {
    const keyChar = fc.constantFrom(
      'a',
      'b',
      'z',
      '0',
      '9',
      '/',
      ' ',
      '+',
      '\u00e9',
      '\uFF61',
      '\u{1F600}',
      '\u{10FFFF}',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(
          fc.array(keyChar, { minLength: 0, maxLength: 6 }).map((cs) => `p/${cs.join('')}`),
          {
            maxLength: 60,
          },
        ),
        fc.integer({ min: 2, max: 9 }),
        async (keys, shards) => {
          const b = new MemoryBucket();
          for (const k of keys) b.put(k, 'x');
          const bounds = await discoverBounds('p/', firstKeyAfter(b), { shards, maxRequests: 64 });
          expect(bounds.length).toBeLessThan(shards);
          for (let i = 1; i < bounds.length; i++) expect(compareKeys(bounds[i - 1]!, bounds[i]!)).toBeLessThan(0);
          const ranges = rangesOf(keys, bounds);
          expect(ranges.flat().sort(compareKeys)).toEqual([...keys].sort(compareKeys));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('estimates where a key lies in a range', () => {
    expect(positionIn('data/m', 'data/a', 'data/z', 'data/')).toBeCloseTo(12 / 25, 2);
    expect(positionIn('data/a', undefined, undefined, 'data/')).toBeGreaterThan(0);
    expect(positionIn('data/a', undefined, undefined, 'data/')).toBeLessThan(0.5);
  });
});

describe('S3 backfill run', () => {
  function setup() {
    const source = new MemoryBucket();
    for (let i = 0; i < 40; i++) source.put(`data/${String(i).padStart(2, '0')}.bin`, `body-${i}`);
    source.put('data/notes.txt', 'left out by the suffix');
    const eu = new MemoryBucket();
    const ap = new MemoryBucket();
    // eu already has the first ten, equal; and one different; and one the source does not have.
    for (let i = 0; i < 10; i++) eu.objects.set(`data/0${i}.bin`, { ...source.objects.get(`data/0${i}.bin`)! });
    eu.put('data/10.bin', 'stale body', { version: 't000001700000000.x' });
    eu.put('data/zz-extra.bin', 'extra');
    const sent: { target: string; envelopes: readonly S3Envelope[] }[] = [];
    return { source, eu, ap, sent };
  }

  it('enqueues to each target only what it lacks or holds different, lists key ranges in parallel, never HEADs a missing object', async () => {
    const { source, eu, ap, sent } = setup();
    const store = new MemoryStore();
    const r = await runS3Reconcile(
      {
        pair: 'datasets',
        origin: 'us-east-1',
        prefix: 'data/',
        suffix: '.bin',
        source,
        targets: [
          { id: 'eu', bucket: eu },
          { id: 'ap', bucket: ap },
        ],
        store,
        tombstones: new MemoryTombstones(),
        repair: true,
        mode: 'backfill',
        shards: 4,
        pageSize: 5,
        enqueue: async (target, envelopes) => {
          sent.push({ target, envelopes });
        },
      },
      farDeadline,
    );
    expect(r.complete).toBe(true);
    expect(r.checkpoint.mode).toBe('backfill');
    expect(r.checkpoint.bounds!.length).toBeGreaterThan(0);
    const byTarget = (t: string) =>
      sent.filter((s) => s.target === t).flatMap((s) => s.envelopes.map((e) => e.key.key));
    expect(byTarget('ap').sort()).toEqual([...source.objects.keys()].filter((k) => k.endsWith('.bin')).sort());
    expect(byTarget('eu').sort()).toEqual(
      Array.from({ length: 30 }, (_, i) => `data/${String(i + 10).padStart(2, '0')}.bin`),
    );
    const euReport = r.report.targets.find((t) => t.target === 'eu')!;
    expect(euReport).toMatchObject({
      checked: 40,
      matched: 10,
      missing: 29,
      different: 1,
      extra: 0,
      repaired: 30,
      skipped: 1,
    });
    // Only the different one was settled by HEADs (source and target), never the 29 missing ones.
    expect(source.heads).toBe(1);
    // The extra is neither looked for nor deleted.
    expect(byTarget('eu')).not.toContain('data/zz-extra.bin');
    // Pinned to the listed state.
    const put = sent.flatMap((s) => s.envelopes).find((e) => e.key.key === 'data/20.bin')!;
    expect(put.key).toMatchObject({ size: 'body-20'.length, eTag: source.objects.get('data/20.bin')!.etag });
  });

  it('continues across invocations from its checkpoint, copying each object once, and says how far it is', async () => {
    const { source, eu, ap, sent } = setup();
    const store = new MemoryStore();
    let t = 0;
    const deps = {
      pair: 'datasets',
      origin: 'us-east-1',
      prefix: 'data/',
      source,
      targets: [
        { id: 'eu', bucket: eu },
        { id: 'ap', bucket: ap },
      ],
      store,
      tombstones: new MemoryTombstones(),
      repair: true,
      mode: 'backfill' as const,
      shards: 3,
      pageSize: 2,
      now: () => t,
      enqueue: async (target: string, envelopes: readonly S3Envelope[]) => {
        sent.push({ target, envelopes });
        t += 10;
      },
    };
    let invocations = 0;
    const fractions: number[] = [];
    for (;;) {
      invocations++;
      const r = await runS3Reconcile(deps, { deadlineMs: t + 25 });
      fractions.push(progressOf(r.checkpoint));
      if (r.complete) break;
      expect(invocations).toBeLessThan(200);
    }
    expect(invocations).toBeGreaterThan(2);
    expect(fractions.at(-1)).toBe(1);
    const apKeys = sent.filter((s) => s.target === 'ap').flatMap((s) => s.envelopes.map((e) => e.key.key));
    expect(new Set(apKeys).size).toBe(apKeys.length);
    expect(apKeys).toHaveLength(41);
  });
});

describe('DynamoDB backfill run', () => {
  it('enqueues the scanned state per target, never re-reads, never scans targets; versions sort before the scan', async () => {
    const source = new MemoryTable('source');
    const eu = new MemoryTable('eu');
    const ap = new MemoryTable('ap');
    for (let i = 0; i < 30; i++) source.put(item(`p${i % 4}`, `s${i}`, { n: { N: String(i) } }));
    for (let i = 0; i < 10; i++) eu.put({ ...source.get(item(`p${i % 4}`, `s${i}`))!, 'rep:v': { S: 'v' } });
    eu.put(item('p0', 'gone', {}));
    const sent: { target?: string; envelopes: readonly TableEnvelope[] }[] = [];
    const store = new MemoryCheckpointStore();
    const r = await runReconcile(
      {
        pair: 'orders',
        origin: 'us-east-1',
        keyNames: ['pk', 'sk'],
        source: Object.assign(source, { approximateCount: async () => 30 }),
        targets: [
          { id: 'eu', reader: eu },
          { id: 'ap', reader: ap },
        ],
        store,
        repair: true,
        mode: 'backfill',
        totalSegments: 3,
        pageSize: 4,
        now: () => 1_700_000_000_000,
        enqueue: async (envelopes, target) => {
          sent.push({ ...(target ? { target } : {}), envelopes });
        },
      },
      farDeadline,
    );
    expect(r.complete).toBe(true);
    expect(r.checkpoint.scans[targetScan('eu')]).toEqual([]);
    expect(r.checkpoint.estimatedTotal).toBe(30);
    expect(source.consistentGets + eu.consistentGets + ap.consistentGets).toBe(0);
    expect(eu.scans + ap.scans).toBe(0);
    expect(sent.every((s) => s.target !== undefined)).toBe(true);
    const count = (t: string) => sent.filter((s) => s.target === t).reduce((n, s) => n + s.envelopes.length, 0);
    expect(count('eu')).toBe(20);
    expect(count('ap')).toBe(30);
    expect(r.report.targets.find((t) => t.target === 'eu')).toMatchObject({ checked: 30, matched: 10, missing: 20 });
    // One second before the page's scan was sent: a change made since sorts after the copy.
    for (const e of sent.flatMap((s) => s.envelopes)) expect(e.version).toBe(readVersion(1_700_000_000_000));
  });
});
