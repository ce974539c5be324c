import { describe, expect, it } from 'vitest';
import { estimateReadUnits, itemChecksum, keyOf } from '../../../functions/dynamodb/checksum';

describe('itemChecksum', () => {
  it('does not depend on attribute order, set order or number spelling', () => {
    const a = {
      pk: { S: 'a' },
      n: { N: '1.50' },
      tags: { SS: ['x', 'y'] },
      m: { M: { b: { S: '2' }, a: { N: '01' } } },
    };
    const b = { m: { M: { a: { N: '1' }, b: { S: '2' } } }, tags: { SS: ['y', 'x'] }, n: { N: '1.5' }, pk: { S: 'a' } };
    expect(itemChecksum(a)).toBe(itemChecksum(b));
    expect(itemChecksum(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores rep: attributes', () => {
    const source = { pk: { S: 'a' }, x: { S: '1' } };
    const replica = { ...source, 'rep:v': { S: '000.1' }, 'rep:o': { S: 'us-east-1' } };
    expect(itemChecksum(replica)).toBe(itemChecksum(source));
  });

  it('differs when a value differs', () => {
    expect(itemChecksum({ pk: { S: 'a' }, x: { S: '1' } })).not.toBe(itemChecksum({ pk: { S: 'a' }, x: { S: '2' } }));
  });

  it('keeps list order significant', () => {
    expect(itemChecksum({ l: { L: [{ S: 'a' }, { S: 'b' }] } })).not.toBe(
      itemChecksum({ l: { L: [{ S: 'b' }, { S: 'a' }] } }),
    );
  });

  it('applies the pair filter to the source side, keeping key attributes', () => {
    const source = { pk: { S: 'a' }, keep: { S: '1' }, secret: { S: 's' } };
    const target = { pk: { S: 'a' }, keep: { S: '1' } };
    expect(itemChecksum(source, { keyNames: ['pk'], filter: { deny: ['secret'] } })).toBe(itemChecksum(target));
    expect(itemChecksum(source, { keyNames: ['pk'], filter: { allow: ['keep'] } })).toBe(itemChecksum(target));
    expect(itemChecksum(source)).not.toBe(itemChecksum(target));
  });
});

describe('keyOf', () => {
  it('picks the key attributes, or undefined when one is absent', () => {
    expect(keyOf({ pk: { S: 'a' }, sk: { N: '1' }, x: { S: 'y' } }, ['pk', 'sk'])).toEqual({
      pk: { S: 'a' },
      sk: { N: '1' },
    });
    expect(keyOf({ pk: { S: 'a' } }, ['pk', 'sk'])).toBeUndefined();
  });
});

describe('estimateReadUnits', () => {
  const big = { pk: { S: 'x'.repeat(5000) } };
  it('rounds a scan page as a whole and gets per item; consistent reads cost double', () => {
    expect(estimateReadUnits([big, big], { consistent: false, perItem: false })).toBe(1.5);
    expect(estimateReadUnits([big, big], { consistent: false, perItem: true })).toBe(2);
    expect(estimateReadUnits([big], { consistent: true, perItem: true })).toBe(2);
    expect(estimateReadUnits([], { consistent: true, perItem: true })).toBe(1);
  });
});
