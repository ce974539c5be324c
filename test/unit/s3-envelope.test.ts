import { describe, expect, it } from 'vitest';
import {
  makeS3Version,
  parseEventTime,
  parseS3Body,
  s3KeyHash,
  s3VersionTime,
  sequencerVersion,
  timeVersion,
} from '../../functions/shared/s3-envelope';
import { s3Envelope } from '../helpers/s3-factories';

describe('parseS3Body', () => {
  it('reads one envelope or a packed array', () => {
    const a = s3Envelope({ key: 'a' });
    const b = s3Envelope({ op: 'delete', key: 'b' });
    expect(parseS3Body(JSON.stringify(a))).toEqual([a]);
    expect(parseS3Body(JSON.stringify([a, b]))).toEqual([a, b]);
  });

  it('names the field that is wrong', () => {
    expect(() => parseS3Body('{"v":1}')).toThrow(/envelope 0: pair:/);
    expect(() => parseS3Body(JSON.stringify({ ...s3Envelope(), version: '1780000000000.1' }))).toThrow(
      /envelope 0: version: version must be "s<32 hex>"/,
    );
    expect(() => parseS3Body(JSON.stringify({ ...s3Envelope(), image: { a: 1 } }))).toThrow(/envelope 0: image:/);
    expect(() => parseS3Body('[]')).toThrow(/empty array/);
    expect(() => parseS3Body('nope')).toThrow(/not JSON/);
  });

  it('rejects a DynamoDB envelope (its key is not an object key)', () => {
    const ddb = { v: 1, pair: 'p', op: 'put', key: { pk: { S: 'a' } }, image: null, version: 's'.padEnd(33, '0') };
    expect(() => parseS3Body(JSON.stringify({ ...ddb, origin: 'x', capturedAt: 1 }))).toThrow(/key\.key/);
  });
});

describe('versions', () => {
  it('pads sequencers to 32 upper-case hex digits and rejects longer ones', () => {
    expect(sequencerVersion('5e')).toBe(`s${'5E'.padStart(32, '0')}`);
    expect(() => sequencerVersion('1'.repeat(33))).toThrow(/1-32 hex digits/);
  });

  it('prefers the sequencer to the time', () => {
    expect(makeS3Version({ sequencer: 'A', eventTimeMs: 5, eTag: 'e' })).toBe(sequencerVersion('A'));
    expect(makeS3Version({ eventTimeMs: 5, eTag: 'e' })).toBe(timeVersion(5, 'e'));
    expect(makeS3Version({ eventTimeMs: 5, eTag: 'e', versionId: 'v' })).toBe(timeVersion(5, 'v'));
  });

  it('carries the event time in t versions only', () => {
    expect(s3VersionTime(timeVersion(1_780_000_000_123, 'x'))).toBe(1_780_000_000_123);
    expect(s3VersionTime(sequencerVersion('1'))).toBeUndefined();
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
