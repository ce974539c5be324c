import { describe, expect, it } from 'vitest';
import { type ObjectIntegrity, verifyCopy } from '../../../functions/s3/integrity';

describe('verifyCopy', () => {
  const single: ObjectIntegrity = { size: 10, etag: '"abc"', checksums: { CRC32: 'AAAA' }, sse: 'AES256' };

  it('verifies by full-object checksum', () => {
    const target = { ...single, etag: '"def-2"', checksumType: 'FULL_OBJECT' };
    expect(verifyCopy(single, target, 'CRC32')).toEqual({ status: 'verified', by: 'checksum' });
  });

  it('reports a size or checksum mismatch with both values', () => {
    expect(verifyCopy(single, { ...single, size: 9 }, 'CRC32')).toEqual({
      status: 'mismatch',
      reason: 'size 9 on the target, 10 on the source',
    });
    expect(verifyCopy(single, { ...single, checksums: { CRC32: 'BBBB' } }, 'CRC32')).toEqual({
      status: 'mismatch',
      reason: 'CRC32 BBBB on the target, AAAA on the source',
    });
  });

  it('compares single-part MD5 ETags (quotes aside) when no checksum of the algorithm exists', () => {
    const source = { ...single, checksums: {} };
    expect(verifyCopy(source, { ...source, etag: 'ABC' }, 'CRC32')).toEqual({ status: 'verified', by: 'etag' });
    expect(verifyCopy(source, { ...source, etag: '"abd"' }, 'CRC32').status).toBe('mismatch');
  });

  it('never compares a multipart ETag with a single-part one', () => {
    const source = { size: 10, etag: '"abc-3"', checksums: {} };
    expect(verifyCopy(source, { ...single, checksums: {} }, 'CRC32')).toEqual({ status: 'unverified' });
  });

  it('ignores composite checksums: marked COMPOSITE, suffixed -N, or (moto) on a multipart ETag without a type', () => {
    const target = { ...single, etag: '"x-2"', checksumType: 'FULL_OBJECT' };
    const composite = { size: 10, etag: '"abc-3"', checksums: { CRC32: 'AAAA-3' }, checksumType: 'COMPOSITE' };
    const motoComposite = { size: 10, etag: '"abc-3"', checksums: { CRC32: 'AAAA' } };
    expect(verifyCopy(composite, target, 'CRC32')).toEqual({ status: 'unverified' });
    expect(verifyCopy(motoComposite, target, 'CRC32')).toEqual({ status: 'unverified' });
    const fullMultipart = { ...motoComposite, checksumType: 'FULL_OBJECT' };
    expect(verifyCopy(fullMultipart, target, 'CRC32')).toEqual({ status: 'verified', by: 'checksum' });
  });

  it('does not take a KMS ETag for an MD5', () => {
    const kms = { size: 10, etag: '"abc"', checksums: {}, sse: 'aws:kms' };
    expect(verifyCopy(kms, { ...kms, etag: '"zzz"' }, 'CRC32')).toEqual({ status: 'unverified' });
  });

  it('compares only checksums of the requested algorithm', () => {
    const source = { ...single, etag: '"s-2"', checksums: { SHA256: 'S' } };
    expect(verifyCopy(source, { ...single, etag: '"t-2"' }, 'CRC32')).toEqual({ status: 'unverified' });
  });
});
