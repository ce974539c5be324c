/** Versions: the one place that builds each kind, and the one compareVersions every rule uses. */
import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  isNewer,
  LOWEST_OBJECT_VERSION,
  nextObjectVersion,
  objectEventVersion,
  readVersion,
  sequencerVersion,
  streamVersion,
  timeVersion,
  versionTime,
} from '../../../functions/engine/version';
import { parseEventTime, s3KeyHash } from '../../../functions/s3/envelope';

describe('stream and read versions', () => {
  it('orders stream versions by time, then sequence number, whatever their lengths', () => {
    const a = streamVersion(1_780_000_000, '99');
    const b = streamVersion(1_780_000_000, '100');
    const c = streamVersion(1_780_000_001, '1');
    expect(compareVersions(a, b)).toBeLessThan(0);
    expect(compareVersions(c, b)).toBeGreaterThan(0);
    expect(compareVersions(b, b)).toBe(0);
    expect(isNewer(b, a)).toBe(true);
    expect(isNewer(a, undefined)).toBe(true);
    expect(versionTime(c)).toBe(1_780_000_001_000);
  });

  it('gives a read version that loses to a change made at the read and wins over one a second before', () => {
    const readAt = 1_780_000_000_500;
    expect(compareVersions(readVersion(readAt), streamVersion(1_780_000_000, '1'))).toBeLessThan(0);
    expect(compareVersions(readVersion(readAt), streamVersion(1_779_999_998, '9'.repeat(40)))).toBeGreaterThan(0);
  });

  it('rejects a sequence number that is not 1-40 digits', () => {
    expect(() => streamVersion(1, 'abc')).toThrow(/sequence number must be 1-40 digits \(given "abc"\)/);
  });
});

describe('object versions', () => {
  it('steps just past a version and never below the lowest', () => {
    expect(nextObjectVersion(`s${'0'.repeat(31)}F`)).toBe(`s${'0'.repeat(30)}10`);
    expect(nextObjectVersion('t000001700000005.v1')).toBe('t000001700000006.');
    expect(compareVersions(LOWEST_OBJECT_VERSION, sequencerVersion('1'))).toBe(0);
    expect(versionTime(sequencerVersion('1'))).toBeUndefined();
  });
});

describe('versions', () => {
  it('pads sequencers to 32 upper-case hex digits and rejects longer ones', () => {
    expect(sequencerVersion('5e')).toBe(`s${'5E'.padStart(32, '0')}`);
    expect(() => sequencerVersion('1'.repeat(33))).toThrow(/1-32 hex digits/);
  });

  it('prefers the sequencer to the time', () => {
    expect(objectEventVersion({ sequencer: 'A', eventTimeMs: 5, eTag: 'e' })).toBe(sequencerVersion('A'));
    expect(objectEventVersion({ eventTimeMs: 5, eTag: 'e' })).toBe(timeVersion(5, 'e'));
    expect(objectEventVersion({ eventTimeMs: 5, eTag: 'e', versionId: 'v' })).toBe(timeVersion(5, 'v'));
  });

  it('carries the event time in t versions only', () => {
    expect(versionTime(timeVersion(1_780_000_000_123, 'x'))).toBe(1_780_000_000_123);
    expect(versionTime(sequencerVersion('1'))).toBeUndefined();
  });

  it('parses event times with and without a zone as UTC', () => {
    expect(parseEventTime('2026-01-01T00:00:00.250')).toBe(Date.UTC(2026, 0, 1, 0, 0, 0, 250));
    expect(parseEventTime('2026-01-01T00:00:00.250Z')).toBe(Date.UTC(2026, 0, 1, 0, 0, 0, 250));
    expect(parseEventTime('2026-01-01T01:00:00+01:00')).toBe(Date.UTC(2026, 0, 1));
    expect(() => parseEventTime('yesterday')).toThrow(/not an ISO 8601 time/);
  });

  it('hashes keys to a fixed-length id', () => {
    expect(s3KeyHash('a'.repeat(1024))).toHaveLength(43);
    expect(s3KeyHash('a b')).not.toBe(s3KeyHash('a+b'));
  });
});
