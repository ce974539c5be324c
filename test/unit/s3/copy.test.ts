import { describe, expect, it } from 'vitest';
import {
  type CopyDeps,
  type CopySettings,
  copyEnvelopes,
  copySettingsFromEnv,
  KeyMemory,
  MAX_GUARD_ROUNDS,
  MAX_PARTS,
  newestPerObject,
  planCopy,
} from '../../../functions/s3/copy';
import { s3KeyHash } from '../../../functions/s3/envelope';
import { MemoryTombstones } from '../../helpers/memory-stores';
import { s3Envelope } from '../../helpers/s3-factories';
import { MemorySourceBucket, MemoryTargetBucket, s3Error } from '../../helpers/s3-memory-stores';

const MiB = 1024 * 1024;
const SETTINGS: CopySettings = copySettingsFromEnv({});

describe('copySettingsFromEnv', () => {
  it('defaults to 64 MiB threshold and parts, 8 at a time, CRC32', () => {
    expect(copySettingsFromEnv({})).toEqual({
      multipartThreshold: 64 * MiB,
      partSize: 64 * MiB,
      concurrency: 8,
      checksumAlgorithm: 'CRC32',
      createFirst: true,
    });
  });

  it('reads every setting', () => {
    expect(
      copySettingsFromEnv({
        MULTIPART_THRESHOLD: String(5 * MiB),
        PART_SIZE: String(8 * MiB),
        COPY_CONCURRENCY: '16',
        CHECKSUM_ALGORITHM: 'sha256',
        COPY_CREATE_FIRST: 'false',
      }),
    ).toEqual({
      multipartThreshold: 5 * MiB,
      partSize: 8 * MiB,
      concurrency: 16,
      checksumAlgorithm: 'SHA256',
      createFirst: false,
    });
  });

  it('names the variable, the value and what is allowed', () => {
    expect(() => copySettingsFromEnv({ MULTIPART_THRESHOLD: '1000' })).toThrow(
      /MULTIPART_THRESHOLD must be a whole number of bytes between 5242880 and 5368709120 inclusive \(given 1000\)/,
    );
    expect(() => copySettingsFromEnv({ PART_SIZE: '5MB' })).toThrow(/PART_SIZE must be .* \(given 5MB\)/);
    expect(() => copySettingsFromEnv({ COPY_CONCURRENCY: '0' })).toThrow(
      /COPY_CONCURRENCY must be between 1 and 64 inclusive \(given 0\)/,
    );
    expect(() => copySettingsFromEnv({ CHECKSUM_ALGORITHM: 'MD5' })).toThrow(
      /CHECKSUM_ALGORITHM must be one of CRC32, CRC32C, CRC64NVME, SHA1, SHA256 \(given MD5\)/,
    );
  });
});

describe('planCopy', () => {
  const settings = { ...SETTINGS, multipartThreshold: 8 * MiB, partSize: 5 * MiB };

  it('copies a 0-byte object, and one at the threshold, with one CopyObject', () => {
    expect(planCopy(0, settings)).toEqual({ mode: 'single', checksumAlgorithm: 'CRC32' });
    expect(planCopy(8 * MiB, settings).mode).toBe('single');
  });

  it('copies one byte over the threshold in parts, the last one short', () => {
    const plan = planCopy(8 * MiB + 1, settings);
    expect(plan).toEqual({
      mode: 'multipart',
      checksumAlgorithm: 'CRC32',
      partSize: 5 * MiB,
      parts: [
        { partNumber: 1, start: 0, end: 5 * MiB - 1 },
        { partNumber: 2, start: 5 * MiB, end: 8 * MiB },
      ],
    });
  });

  it('splits an exact multiple of the part size into full parts', () => {
    const plan = planCopy(15 * MiB, settings);
    expect(plan.mode === 'multipart' && plan.parts).toEqual([
      { partNumber: 1, start: 0, end: 5 * MiB - 1 },
      { partNumber: 2, start: 5 * MiB, end: 10 * MiB - 1 },
      { partNumber: 3, start: 10 * MiB, end: 15 * MiB - 1 },
    ]);
  });

  it('raises the part size to fit 10,000 parts, covering every byte once', () => {
    const size = 10_000 * 5 * MiB + 7;
    const plan = planCopy(size, settings);
    if (plan.mode !== 'multipart') throw new Error('expected a multipart plan');
    expect(plan.partSize).toBe(6 * MiB);
    expect(plan.parts.length).toBeLessThanOrEqual(MAX_PARTS);
    expect(plan.parts[0]?.start).toBe(0);
    expect(plan.parts.at(-1)?.end).toBe(size - 1);
    for (let i = 1; i < plan.parts.length; i++) expect(plan.parts[i]!.start).toBe(plan.parts[i - 1]!.end + 1);
  });

  it('rejects an object that would need parts over 5 GiB', () => {
    expect(() => planCopy(10_000 * 5 * 1024 * MiB + 1, settings)).toThrow(/over S3's 5 GiB limit/);
  });

  it('keeps a SHA checksum for CopyObject but uses CRC32 for multipart, which has no full-object SHA', () => {
    const sha = { ...settings, checksumAlgorithm: 'SHA256' as const };
    expect(planCopy(1, sha).checksumAlgorithm).toBe('SHA256');
    expect(planCopy(9 * MiB, sha).checksumAlgorithm).toBe('CRC32');
    expect(planCopy(9 * MiB, { ...settings, checksumAlgorithm: 'CRC64NVME' }).checksumAlgorithm).toBe('CRC64NVME');
  });
});

function setup(opts: { versioned?: boolean } = {}) {
  const source = new MemorySourceBucket(opts.versioned ?? false);
  const eu = new MemoryTargetBucket(source);
  const ap = new MemoryTargetBucket(source);
  const tombstones = new MemoryTombstones();
  const deps: CopyDeps = { source, tombstones, settings: SETTINGS, now: () => 1_780_000_001_000 };
  // Each with the memory of keys it saw, as the copy function keeps it for a container's life.
  const targets = [
    { id: 'eu-west-1/training-data-eu', bucket: eu, seen: new KeyMemory() },
    { id: 'ap-northeast-1/training-data-ap', bucket: ap, seen: new KeyMemory() },
  ];
  return { source, eu, ap, tombstones, deps, targets };
}
const EU = 'eu-west-1/training-data-eu';
const KEY = 'datasets/a b+c.bin';

describe('KeyMemory', () => {
  it('forgets the least recently seen key beyond its capacity, and a key on request', () => {
    const m = new KeyMemory(2);
    m.add('a');
    m.add('b');
    m.add('a');
    m.add('c');
    expect(['a', 'b', 'c'].map((k) => m.has(k))).toEqual([true, false, true]);
    m.forget('a');
    expect(m.has('a')).toBe(false);
  });
});

describe('copyEnvelopes', () => {
  it('copies a put to every target with rep-v, rep-o and the source metadata less its rep- keys', async () => {
    const { source, eu, ap, deps, targets } = setup();
    source.put(KEY, 'hello', undefined, { owner: 'ml', 'rep-x': 'stale marker' });
    const e = s3Envelope({ key: KEY, sequencer: '10' });
    const r = await copyEnvelopes([e], targets, deps);
    expect(r.get(EU)?.applied).toEqual([{ envelope: e, bytes: 5, latencyMs: 500, deliveryMs: 500, unverified: false }]);
    for (const t of [eu, ap]) {
      expect(t.objects.get(KEY)).toEqual({
        data: 'hello',
        // Which source object it copies (rep-e, rep-m): what `wait` reads.
        metadata: {
          owner: 'ml',
          'rep-v': e.version,
          'rep-o': 'us-east-1',
          'rep-e': '5d41402abc4b2a76b9719d911017c592',
        },
      });
    }
  });

  it('skips an older version after a newer one', async () => {
    const { source, eu, deps, targets } = setup({ versioned: true });
    source.put(KEY, 'one', 'v1');
    source.put(KEY, 'two', 'v2');
    const older = s3Envelope({ key: KEY, sequencer: '10', ref: { versionId: 'v1' } });
    const newer = s3Envelope({ key: KEY, sequencer: '11', ref: { versionId: 'v2' } });
    await copyEnvelopes([newer], targets, deps);
    const r = await copyEnvelopes([older], targets, deps);
    expect(r.get(EU)?.stale).toEqual([older]);
    expect(eu.objects.get(KEY)?.data).toBe('two');
  });

  it('copies the event version, not the current one, from a versioned source', async () => {
    const { source, eu, deps, targets } = setup({ versioned: true });
    source.put(KEY, 'one', 'v1');
    source.put(KEY, 'two', 'v2');
    await copyEnvelopes([s3Envelope({ key: KEY, ref: { versionId: 'v1' } })], targets, deps);
    expect(eu.objects.get(KEY)?.data).toBe('one');
  });

  it('changes nothing when the same envelope is applied twice', async () => {
    const { source, eu, deps, targets } = setup();
    source.put(KEY, 'hello');
    const e = s3Envelope({ key: KEY });
    await copyEnvelopes([e], targets, deps);
    const before = structuredClone([...eu.objects]);
    const calls = eu.calls.length;
    const r = await copyEnvelopes([e], targets, deps);
    expect([...eu.objects]).toEqual(before);
    expect(eu.calls.slice(calls)).toEqual([`head ${KEY}`]);
    expect(r.get(EU)?.stale).toEqual([e]);
  });

  it('copies a new key create-only without reading the target first', async () => {
    const { source, eu, deps, targets } = setup();
    source.put(KEY, 'hello');
    const r = await copyEnvelopes([s3Envelope({ key: KEY })], targets, deps);
    expect(r.get(EU)?.applied).toHaveLength(1);
    // No HEAD before the copy (the one after it verifies: this store returns no copy response to verify by).
    expect(eu.calls).toEqual([`copy ${KEY}`, `head ${KEY}`]);
  });

  it('reads a key it has not seen that exists after all, and decides as usual (newer wins)', async () => {
    const { source, eu, deps } = setup();
    source.put(KEY, 'old');
    const older = s3Envelope({ key: KEY, sequencer: '10' });
    const forgetful = [{ id: EU, bucket: eu }];
    await copyEnvelopes([older], forgetful, deps);
    source.put(KEY, 'new');
    const newer = s3Envelope({ key: KEY, sequencer: '11' });
    eu.calls.length = 0;
    const r = await copyEnvelopes([newer], forgetful, deps);
    expect(r.get(EU)?.applied).toHaveLength(1);
    // The create-only copy lost its condition; the HEAD then saw the older copy.
    expect(eu.calls).toEqual([`copy ${KEY}`, `head ${KEY}`, `copy ${KEY}`, `head ${KEY}`]);
    expect(eu.objects.get(KEY)?.data).toBe('new');
    // A late older put changes nothing, though it is tried create-only first.
    eu.calls.length = 0;
    expect((await copyEnvelopes([older], forgetful, deps)).get(EU)?.stale).toEqual([older]);
    expect(eu.objects.get(KEY)?.data).toBe('new');
  });

  it('reads first before a multipart copy, which a refused completion would waste', async () => {
    const { source, eu, targets } = setup();
    source.put(KEY, 'hello');
    const settings = { ...SETTINGS, multipartThreshold: 1, partSize: 5 * MiB };
    const deps: CopyDeps = { source, tombstones: new MemoryTombstones(), settings };
    await copyEnvelopes([s3Envelope({ key: KEY })], targets, deps);
    expect(eu.calls).toEqual([`head ${KEY}`, `copy ${KEY}`, `head ${KEY}`]);
  });

  it('reads first where createFirst is off (targets that ignore conditions on a copy)', async () => {
    const { source, eu, targets } = setup();
    source.put(KEY, 'hello');
    const deps: CopyDeps = {
      source,
      tombstones: new MemoryTombstones(),
      settings: { ...SETTINGS, createFirst: false },
    };
    await copyEnvelopes([s3Envelope({ key: KEY })], targets, deps);
    expect(eu.calls).toEqual([`head ${KEY}`, `copy ${KEY}`, `head ${KEY}`]);
  });

  it('does not let a late older put undo a delete', async () => {
    const { source, eu, ap, tombstones, deps, targets } = setup({ versioned: true });
    source.put(KEY, 'one', 'v1');
    const put = s3Envelope({ key: KEY, sequencer: '20', ref: { versionId: 'v1' } });
    source.remove(KEY, 'marker');
    const del = s3Envelope({ op: 'delete', key: KEY, sequencer: '21', ref: { versionId: 'marker' } });
    await copyEnvelopes([del], targets, deps);
    const r = await copyEnvelopes([put], targets, deps);
    expect(eu.objects.size + ap.objects.size).toBe(0);
    expect(r.get(EU)?.stale).toEqual([put]);
    expect(tombstones.versions.get(s3KeyHash(KEY))).toBe(del.version);
  });

  it('deletes an older copy, and counts a delete of an absent object as applied', async () => {
    const { source, eu, deps, targets } = setup();
    source.put(KEY, 'hello');
    await copyEnvelopes([s3Envelope({ key: KEY, sequencer: '30' })], targets, deps);
    source.remove(KEY);
    const r = await copyEnvelopes([s3Envelope({ op: 'delete', key: KEY, sequencer: '31' })], targets, deps);
    expect(eu.objects.size).toBe(0);
    expect(r.get(EU)?.applied).toHaveLength(1);
    const again = await copyEnvelopes(
      [s3Envelope({ op: 'delete', key: 'never-there', sequencer: '32' })],
      targets,
      deps,
    );
    expect(again.get(EU)?.applied).toHaveLength(1);
  });

  it('keeps the target object when the source has the key again (a newer put follows)', async () => {
    const { source, eu, tombstones, deps, targets } = setup();
    source.put(KEY, 'hello');
    await copyEnvelopes([s3Envelope({ key: KEY, sequencer: '40' })], targets, deps);
    const r = await copyEnvelopes([s3Envelope({ op: 'delete', key: KEY, sequencer: '41' })], targets, deps);
    expect(r.get(EU)?.stale).toHaveLength(1);
    expect(eu.objects.has(KEY)).toBe(true);
    expect(tombstones.versions.size).toBe(0);
  });

  it('counts a source that vanished before its copy as stale, not failed', async () => {
    const { deps, targets, eu } = setup();
    const r = await copyEnvelopes([s3Envelope({ key: 'gone' })], targets, deps);
    expect(r.get(EU)).toEqual({
      applied: [],
      stale: [expect.objectContaining({ key: { key: 'gone', sequencer: expect.any(String) } })],
      failed: [],
    });
    expect(eu.calls).toEqual([]);
  });

  it('counts a source that vanished between its HEAD and the copy as stale', async () => {
    const { source, deps, targets } = setup({ versioned: true });
    source.put(KEY, 'hello', 'v1');
    const vanishing = {
      ...deps,
      source: {
        head: async (key: string, versionId?: string) => {
          const h = await source.head(key, versionId);
          source.remove(KEY, 'm');
          // Removing the version itself (a permanent delete), not just adding a marker.
          (source as unknown as { versions: Map<string, unknown[]> }).versions.set(KEY, []);
          return h;
        },
      },
    };
    const r = await copyEnvelopes([s3Envelope({ key: KEY, ref: { versionId: 'v1' } })], targets, vanishing);
    expect(r.get(EU)?.stale).toHaveLength(1);
    expect(r.get(EU)?.failed).toEqual([]);
  });

  it('skips an unversioned event whose object was overwritten since (its eTag is not the source one)', async () => {
    const { source, eu, deps, targets } = setup();
    source.put(KEY, 'newer');
    const r = await copyEnvelopes([s3Envelope({ key: KEY, ref: { eTag: '0123456789abcdef' } })], targets, deps);
    expect(r.get(EU)?.stale).toHaveLength(1);
    expect(eu.objects.size).toBe(0);
  });

  it('does not copy on an object that Replicator wrote for another region (no loops)', async () => {
    const { source, eu, deps, targets } = setup();
    source.put(KEY, 'hello', undefined, { 'rep-o': 'eu-west-1', 'rep-v': 's1' });
    const r = await copyEnvelopes([s3Envelope({ key: KEY, origin: 'us-east-1' })], targets, deps);
    expect(r.get(EU)?.stale).toHaveLength(1);
    expect(eu.objects.size).toBe(0);
  });

  it('applies only the newest envelope of a key within one batch', async () => {
    const { source, eu, deps, targets } = setup();
    source.put(KEY, 'x');
    const a = s3Envelope({ key: KEY, sequencer: '50' });
    const b = s3Envelope({ key: KEY, sequencer: '52' });
    const c = s3Envelope({ key: KEY, sequencer: '51' });
    expect(newestPerObject([a, b, c])).toEqual({ newest: [b], superseded: [a, c] });
    const r = await copyEnvelopes([a, b, c], targets, deps);
    expect(r.get(EU)?.stale).toEqual([a, c]);
    expect(eu.objects.get(KEY)?.metadata['rep-v']).toBe(b.version);
  });

  it('fails a copy that does not match its source with a retryable IntegrityError, and recopies on retry', async () => {
    const { source, deps } = setup();
    source.put(KEY, 'hello');
    let corrupt = true;
    const target = new MemoryTargetBucket(source, { corrupt: (d) => (corrupt ? `${d}!` : d) });
    const e = s3Envelope({ key: KEY });
    const r = await copyEnvelopes([e], [{ id: 't', bucket: target }], deps);
    expect(r.get('t')?.failed).toEqual([
      { envelope: e, error: expect.objectContaining({ name: 'IntegrityError' }), poison: false, site: 'target t (s3)' },
    ]);
    expect(String(r.get('t')?.failed[0]?.error)).toMatch(/size 6 on the target, 5 on the source/);
    corrupt = false;
    const retry = await copyEnvelopes([e], [{ id: 't', bucket: target }], deps);
    expect(retry.get('t')?.applied).toHaveLength(1);
    expect(target.objects.get(KEY)?.data).toBe('hello');
  });

  it('removes a copy that does not match before failing it: a newer object under an older rep-v would invite an ETag ABA', async () => {
    const { source, deps } = setup();
    source.put(KEY, 'hello');
    // The source is replaced between its HEAD and the copy, and the copy ignores the source pin (as moto does).
    const racing = {
      head: async (k: string, v?: string) => {
        const h = await source.head(k, v);
        source.put(KEY, 'newer bytes');
        return h;
      },
    };
    const target = new MemoryTargetBucket(source, { honourCopyConditions: false });
    const e = s3Envelope({ key: KEY });
    const r = await copyEnvelopes([e], [{ id: 't', bucket: target }], { ...deps, source: racing });
    expect(r.get('t')?.failed[0]?.error).toMatchObject({ name: 'IntegrityError' });
    expect(target.objects.has(KEY)).toBe(false);
    expect(target.calls.filter((c) => c.startsWith('delete'))).toHaveLength(1);
  });

  it('keeps going on the other targets when one target fails', async () => {
    const { source, ap, deps, targets } = setup();
    source.put(KEY, 'hello');
    const failing = {
      id: EU,
      bucket: {
        head: async () => undefined,
        copy: async () => Promise.reject(s3Error('SlowDown', 503, 'Please reduce your request rate.')),
        delete: async () => 'done' as const,
      },
    };
    const e = s3Envelope({ key: KEY });
    const r = await copyEnvelopes([e], [failing, targets[1]!], deps);
    expect(r.get(EU)?.failed[0]).toMatchObject({ envelope: e, poison: false });
    expect(r.get('ap-northeast-1/training-data-ap')?.applied).toHaveLength(1);
    expect(ap.objects.size).toBe(1);
  });

  it('marks an object S3 refuses to copy (archived) as poison', async () => {
    const { source, deps } = setup();
    source.put(KEY, 'hello');
    const archived = {
      head: async () => undefined,
      copy: async () => Promise.reject(s3Error('InvalidObjectState', 403, 'The operation is not valid')),
      delete: async () => 'done' as const,
    };
    const r = await copyEnvelopes([s3Envelope({ key: KEY })], [{ id: 't', bucket: archived }], deps);
    expect(r.get('t')?.failed[0]?.poison).toBe(true);
  });

  it('decides again after a lost conditional write, and gives up (retryably) when it keeps losing', async () => {
    const { source, deps } = setup();
    source.put(KEY, 'hello');
    const real = new MemoryTargetBucket(source);
    let conflicts = 1;
    const flaky = {
      head: (k: string) => real.head(k),
      delete: (k: string, etag: string) => real.delete(k, etag),
      copy: async (...args: Parameters<MemoryTargetBucket['copy']>) =>
        conflicts-- > 0 ? ('conflict' as const) : real.copy(...args),
    };
    const r = await copyEnvelopes([s3Envelope({ key: KEY })], [{ id: 't', bucket: flaky }], deps);
    expect(r.get('t')?.applied).toHaveLength(1);
    conflicts = Number.POSITIVE_INFINITY;
    const again = await copyEnvelopes([s3Envelope({ key: 'datasets/other' })], [{ id: 't', bucket: flaky }], {
      ...deps,
      source: { head: async (k: string) => ({ ...(await source.head(KEY))!, key: k }) },
    });
    expect(String(again.get('t')?.failed[0]?.error)).toMatch(
      new RegExp(`RetryableApplyError: copy: the target object changed ${MAX_GUARD_ROUNDS} times`),
    );
  });

  it('flags a copy it could check by size only', async () => {
    const { source, deps } = setup();
    source.put(KEY, 'hello');
    // Uploaded in parts without a checksum: a multipart ETag and nothing else to compare.
    const plain = {
      head: async (k: string) => ({ ...(await source.head(k))!, checksums: {}, etag: '"s-2"' }),
    };
    const target = new MemoryTargetBucket(source, { honourCopyConditions: false });
    const r = await copyEnvelopes([s3Envelope({ key: KEY })], [{ id: 't', bucket: target }], {
      ...deps,
      source: plain,
    });
    expect(r.get('t')?.applied[0]?.unverified).toBe(true);
  });

  it('fails every target when the tombstone cannot be recorded, and copies nothing', async () => {
    const { deps, targets, eu } = setup();
    const broken = {
      ...deps,
      tombstones: { record: async () => Promise.reject(new Error('down')), newest: async () => new Map() },
    };
    const r = await copyEnvelopes([s3Envelope({ op: 'delete', key: KEY })], targets, broken);
    for (const t of r.values()) expect(t.failed).toHaveLength(1);
    expect(eu.calls).toEqual([]);
  });
});
