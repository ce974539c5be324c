import { describe, expect, it } from 'vitest';
import { parseTableBody } from '../../../functions/dynamodb/envelope';
import { envelope } from '../../helpers/factories';

describe('parseTableBody', () => {
  it('reads one envelope or a packed array, a fetch envelope (null image) too', () => {
    const a = envelope({});
    const b = envelope({ op: 'delete' });
    const fetch = envelope({ image: null });
    expect(parseTableBody(JSON.stringify(a))).toEqual([a]);
    expect(parseTableBody(JSON.stringify([a, b, fetch]))).toEqual([a, b, fetch]);
  });

  // zod/mini loads no locale of its own: without the English one a reason would say only "Invalid input".
  it('names the envelope and the field that is wrong, and says what was expected', () => {
    const body = (fields: object) => JSON.stringify({ ...envelope({}), ...fields });
    expect(() => parseTableBody(body({ pair: '' }))).toThrow(
      /^envelope 0: pair: Too small: expected string to have >=1 characters$/,
    );
    expect(() => parseTableBody(body({ op: 'update' }))).toThrow(
      /^envelope 0: op: Invalid option: expected one of "put"\|"delete"$/,
    );
    expect(() => parseTableBody(body({ capturedAt: 'now' }))).toThrow(
      /^envelope 0: capturedAt: Invalid input: expected number, received string$/,
    );
    expect(() => parseTableBody(body({ key: { pk: 'a' } }))).toThrow(
      /^envelope 0: key\.pk: Invalid input: expected record, received string$/,
    );
    expect(() => parseTableBody(JSON.stringify([envelope({}), { ...envelope({}), v: 2 }]))).toThrow(
      /^envelope 1: v: Invalid input: expected 1$/,
    );
  });

  it("says the pair type's own rules: a key with attributes, a stream version", () => {
    expect(() => parseTableBody(JSON.stringify({ ...envelope({}), key: {} }))).toThrow(
      /envelope 0: key: key must have at least one attribute/,
    );
    expect(() => parseTableBody(JSON.stringify({ ...envelope({}), version: 's'.padEnd(33, '0') }))).toThrow(
      /envelope 0: version: version must be "<15-digit ms>\.<40-digit sequence>"/,
    );
  });

  it('rejects an empty array and a body that is not JSON', () => {
    expect(() => parseTableBody('[]')).toThrow(/empty array/);
    expect(() => parseTableBody('nope')).toThrow(/not JSON/);
  });
});
