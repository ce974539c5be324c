import { describe, expect, it } from 'vitest';
import { parseS3Body } from '../../../functions/s3/envelope';
import { s3Envelope } from '../../helpers/s3-factories';

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

  // zod/mini loads no locale of its own: without the English one a reason would say only "Invalid input".
  it('says what was expected', () => {
    const body = (fields: object) => JSON.stringify({ ...s3Envelope(), ...fields });
    expect(() => parseS3Body(body({ key: { key: 'a', size: -1 } }))).toThrow(
      /^envelope 0: key\.size: Too small: expected number to be >=0$/,
    );
    expect(() => parseS3Body(body({ key: { key: 'a', size: 1.5 } }))).toThrow(
      /^envelope 0: key\.size: Invalid input: expected int, received number$/,
    );
    expect(() => parseS3Body(body({ image: { a: 1 } }))).toThrow(
      /^envelope 0: image: Invalid input: expected null, received object$/,
    );
  });

  it('rejects a DynamoDB envelope (its key is not an object key)', () => {
    const ddb = { v: 1, pair: 'p', op: 'put', key: { pk: { S: 'a' } }, image: null, version: 's'.padEnd(33, '0') };
    expect(() => parseS3Body(JSON.stringify({ ...ddb, origin: 'x', capturedAt: 1 }))).toThrow(/key\.key/);
  });
});
