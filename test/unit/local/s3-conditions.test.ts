/** The proxy's copy-condition checks (src/local/s3-conditions.ts), decided as S3 decides them. */
import { describe, expect, it } from 'vitest';
import { copyConditionFailure, objectRequest } from '../../../src/local/s3-conditions';

describe('objectRequest', () => {
  it('reads a copy’s conditions, and tells parts from whole objects', () => {
    const copy = objectRequest(
      {
        method: 'PUT',
        url: '/dst/dir/a%20b',
        headers: { 'x-amz-copy-source': 'src/dir/a%20b', 'if-none-match': '*', 'x-amz-copy-source-if-match': '"e"' },
      },
      's3',
    );
    expect(copy).toEqual({
      path: '/dst/dir/a%20b',
      method: 'PUT',
      copySource: 'src/dir/a%20b',
      partCopy: false,
      ifNoneMatch: '*',
      sourceIfMatch: '"e"',
    });
    const part = objectRequest({ method: 'PUT', url: '/dst/k?partNumber=2&uploadId=u', headers: {} }, 's3');
    expect(part?.partCopy).toBe(true);
  });

  it('is undefined for reads, bucket-level requests and other services', () => {
    const headers = {};
    expect(objectRequest({ method: 'GET', url: '/dst/k', headers }, 's3')).toBeUndefined();
    expect(objectRequest({ method: 'POST', url: '/dst?delete', headers }, 's3')).toBeUndefined();
    expect(objectRequest({ method: 'PUT', url: '/dst', headers }, 's3')).toBeUndefined();
    // SQS's query API posts to /ACCOUNT/QUEUE: not an object, never locked.
    expect(objectRequest({ method: 'POST', url: '/123456789012/q', headers }, 'sqs')).toBeUndefined();
  });
});

describe('copyConditionFailure', () => {
  const whole = { partCopy: false };
  it('holds when nothing is asked', () => {
    expect(copyConditionFailure(whole, '"t"', '"s"')).toBeUndefined();
  });

  it('fails create-only on an existing key, and If-Match on another ETag (412) or a missing key (404)', () => {
    expect(copyConditionFailure({ ...whole, ifNoneMatch: '*' }, '"t"', undefined)?.status).toBe(412);
    expect(copyConditionFailure({ ...whole, ifNoneMatch: '*' }, undefined, undefined)).toBeUndefined();
    expect(copyConditionFailure({ ...whole, ifMatch: 't' }, '"t"', undefined)).toBeUndefined();
    expect(copyConditionFailure({ ...whole, ifMatch: '"u"' }, '"t"', undefined)?.status).toBe(412);
    expect(copyConditionFailure({ ...whole, ifMatch: '"u"' }, undefined, undefined)).toMatchObject({
      status: 404,
      code: 'NoSuchKey',
    });
  });

  it('checks the source pin first, and only the source pin on a part', () => {
    expect(copyConditionFailure({ ...whole, sourceIfMatch: '"s"', ifNoneMatch: '*' }, '"t"', '"z"')?.message).toMatch(
      /copy-source/,
    );
    expect(copyConditionFailure({ ...whole, sourceIfMatch: '"s"' }, undefined, undefined)?.code).toBe('NoSuchKey');
    expect(
      copyConditionFailure({ partCopy: true, ifNoneMatch: '*', sourceIfMatch: 's' }, '"t"', '"s"'),
    ).toBeUndefined();
  });
});
