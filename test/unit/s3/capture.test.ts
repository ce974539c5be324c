import { describe, expect, it } from 'vitest';
import { buildS3Envelopes, decodeS3Key, matchesFilters, operationOf } from '../../../functions/s3/capture';
import {
  eventMessage,
  MOTO_PUT_BODY,
  S3_CAPTURE_OPTS,
  s3EventRecord,
  s3Notification,
  s3TestEvent,
} from '../../helpers/s3-factories';

const OPTS = S3_CAPTURE_OPTS;
const msg = eventMessage;

describe('decodeS3Key', () => {
  it.each([
    ['a+b', 'a b'],
    ['a%2Bb', 'a+b'],
    ['100%25', '100%'],
    ['%C3%BC%E2%9C%93', 'ü✓'],
    ['dir%2Fsub%2Ffile', 'dir/sub/file'],
    ['dir/sub/file', 'dir/sub/file'],
    ['a%2B+b%20c', 'a+ b c'],
    ['%2B%2B', '++'],
  ])('decodes %s as %s', (raw, key) => {
    expect(decodeS3Key(raw)).toBe(key);
  });

  it('fails on a malformed percent sequence', () => {
    expect(() => decodeS3Key('bad%2')).toThrow(/URI/);
  });
});

describe('operationOf', () => {
  it('maps created, removed and lifecycle deletes, and nothing else', () => {
    expect(operationOf('ObjectCreated:Put')).toBe('put');
    expect(operationOf('ObjectCreated:CompleteMultipartUpload')).toBe('put');
    expect(operationOf('ObjectRemoved:Delete')).toBe('delete');
    expect(operationOf('ObjectRemoved:DeleteMarkerCreated')).toBe('delete');
    expect(operationOf('LifecycleExpiration:Delete')).toBe('delete');
    expect(operationOf('ObjectTagging:Put')).toBeUndefined();
    expect(operationOf('ObjectRestore:Completed')).toBeUndefined();
  });
});

describe('matchesFilters', () => {
  it('keeps keys inside the prefix and suffix only', () => {
    expect(matchesFilters('datasets/a.csv', { prefix: 'datasets/', suffix: '.csv' })).toBe(true);
    expect(matchesFilters('models/a.csv', { prefix: 'datasets/' })).toBe(false);
    expect(matchesFilters('datasets/a.json', { suffix: '.csv' })).toBe(false);
    expect(matchesFilters('anything', {})).toBe(true);
  });
});

describe('buildS3Envelopes', () => {
  it('builds a put envelope with the decoded key, size, eTag, versionId and sequencer', () => {
    const body = s3Notification(
      s3EventRecord({
        rawKey: 'datasets/a+b%2B%25.bin',
        size: 5,
        eTag: 'abc',
        versionId: 'V1',
        sequencer: '0055AED6DCD90281E5',
      }),
    );
    const { envelopes, invalid } = buildS3Envelopes([msg(body)], OPTS);
    expect(invalid).toEqual([]);
    expect(envelopes[0]?.envelope).toEqual({
      v: 1,
      pair: 'datasets',
      op: 'put',
      key: { key: 'datasets/a b+%.bin', size: 5, eTag: 'abc', versionId: 'V1', sequencer: '0055AED6DCD90281E5' },
      image: null,
      version: `s${'0055AED6DCD90281E5'.padStart(32, '0')}`,
      origin: 'us-east-1',
      capturedAt: 1_780_000_000_999,
    });
    expect(envelopes[0]?.recordId).toBe('m1');
  });

  it('reads moto notifications: %2F in keys, no sequencer, eventTime without Z taken as UTC', () => {
    const { envelopes } = buildS3Envelopes([msg(MOTO_PUT_BODY)], OPTS);
    const e = envelopes[0]!.envelope;
    expect(e.key).toEqual({ key: 'a b/c+d%e/ü.txt', size: 11, eTag: '5eb63bbbe01eeed093cb22bb8f5acdc3' });
    expect(e.version).toBe(
      `t${String(Date.UTC(2026, 10, 25, 18, 9, 34, 828)).padStart(15, '0')}.5eb63bbbe01eeed093cb22bb8f5acdc3`,
    );
  });

  it('makes a delete envelope of ObjectRemoved events', () => {
    const body = s3Notification(
      s3EventRecord({ eventName: 'ObjectRemoved:DeleteMarkerCreated', rawKey: 'k', versionId: 'M' }),
    );
    const e = buildS3Envelopes([msg(body)], OPTS).envelopes[0]!.envelope;
    expect(e).toMatchObject({ op: 'delete', key: { key: 'k', versionId: 'M' }, image: null });
  });

  it('ignores s3:TestEvent as a success', () => {
    const r = buildS3Envelopes([msg(s3TestEvent())], OPTS);
    expect(r).toEqual({ envelopes: [], skipped: [{ recordId: 'm1', reason: 's3:TestEvent' }], invalid: [] });
  });

  it('skips events of another bucket, outside the filters, or of types not replicated', () => {
    const body = s3Notification(
      s3EventRecord({ rawKey: 'datasets/x.csv', bucket: 'other' }),
      s3EventRecord({ rawKey: 'models/x.csv' }),
      s3EventRecord({ rawKey: 'datasets/x.json' }),
      s3EventRecord({ rawKey: 'datasets/x.csv', eventName: 'ObjectTagging:Put' }),
      s3EventRecord({ rawKey: 'datasets/x.csv' }),
    );
    const r = buildS3Envelopes([msg(body)], { ...OPTS, prefix: 'datasets/', suffix: '.csv' });
    expect(r.envelopes.map((e) => e.envelope.key.key)).toEqual(['datasets/x.csv']);
    expect(r.skipped.map((s) => s.reason)).toEqual([
      'event of bucket "other", not training-data',
      'key outside the prefix/suffix filters',
      'key outside the prefix/suffix filters',
      'event ObjectTagging:Put is not replicated',
    ]);
  });

  it('filters on the decoded key', () => {
    const body = s3Notification(s3EventRecord({ rawKey: 'my+data%2Fa' }));
    expect(buildS3Envelopes([msg(body)], { ...OPTS, prefix: 'my data/' }).envelopes).toHaveLength(1);
  });

  it('reports a malformed message as invalid and sends nothing of it', () => {
    const good = s3EventRecord({ rawKey: 'a' });
    const r = buildS3Envelopes(
      [
        msg('not json', 'bad1'),
        msg('{"hello":1}', 'bad2'),
        msg(s3Notification(good, s3EventRecord({ rawKey: 'x%zz' })), 'bad3'),
        msg(s3Notification(s3EventRecord({ rawKey: 'b', sequencer: 'not-hex' })), 'bad4'),
        msg(s3Notification(good), 'ok'),
      ],
      OPTS,
    );
    expect(r.invalid.map((i) => i.recordId)).toEqual(['bad1', 'bad2', 'bad3', 'bad4']);
    // Not JSON.parse's message, which quotes the body's start.
    expect(r.invalid[0]?.reason).toBe('Error: body is not JSON (8 bytes)');
    expect(r.invalid[2]?.reason).toMatch(/record 1: URI malformed/);
    expect(r.invalid[3]?.reason).toMatch(/sequencer must be 1-32 hex digits/);
    expect(r.envelopes.map((e) => e.recordId)).toEqual(['ok']);
  });
});

describe('S3 versions', () => {
  const versionOf = (record: Record<string, unknown>) =>
    buildS3Envelopes([msg(s3Notification(record))], OPTS).envelopes[0]!.envelope.version;

  it('orders sequencers of different lengths once left-padded, case-insensitively', () => {
    const a = versionOf(s3EventRecord({ rawKey: 'k', sequencer: 'FF' }));
    const b = versionOf(s3EventRecord({ rawKey: 'k', sequencer: '100' }));
    const c = versionOf(s3EventRecord({ rawKey: 'k', sequencer: '0055aed6dcd90281e5' }));
    const d = versionOf(s3EventRecord({ rawKey: 'k', sequencer: '0055AED6DCD90281E6' }));
    expect([d, b, c, a].sort()).toEqual([a, b, c, d]);
    expect(a).toMatch(/^s[0-9A-F]{32}$/);
  });

  it('falls back to event time, then versionId or eTag, without a sequencer', () => {
    const early = versionOf(
      s3EventRecord({ rawKey: 'k', sequencer: null, eventTime: '2026-05-20T10:00:00.001Z', eTag: 'b' }),
    );
    const late = versionOf(
      s3EventRecord({ rawKey: 'k', sequencer: null, eventTime: '2026-05-20T10:00:00.002Z', eTag: 'a' }),
    );
    const withVersion = versionOf(
      s3EventRecord({ rawKey: 'k', sequencer: null, eventTime: '2026-05-20T10:00:00.002Z', eTag: 'a', versionId: 'V' }),
    );
    expect(early < late).toBe(true);
    expect(late).toBe(`t${String(Date.UTC(2026, 4, 20, 10, 0, 0, 2)).padStart(15, '0')}.a`);
    expect(withVersion.endsWith('.V')).toBe(true);
  });

  it('reads a zone-less moto time as UTC, the same instant as with Z', () => {
    const zoneless = versionOf(s3EventRecord({ rawKey: 'k', sequencer: null, eventTime: '2026-05-20T10:00:00.5' }));
    const zulu = versionOf(s3EventRecord({ rawKey: 'k', sequencer: null, eventTime: '2026-05-20T10:00:00.5Z' }));
    expect(zoneless).toBe(zulu);
  });
});
