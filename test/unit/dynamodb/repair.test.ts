import { describe, expect, it } from 'vitest';
import { parseTableBody } from '../../../functions/dynamodb/envelope';
import { buildRepairEnvelopes } from '../../../functions/dynamodb/repair';
import { readVersion, streamVersion } from '../../../functions/engine/version';

const key = { pk: { S: 'a' } };
const opts = { pair: 'orders', origin: 'us-east-1', keyNames: ['pk'], readAt: 1_780_000_000_999 };

describe('buildRepairEnvelopes', () => {
  it('versions repairs one second before the read, as backfill does', () => {
    expect(readVersion(opts.readAt)).toBe(streamVersion(1_780_000_000 - 1, '0'));
    const [e] = buildRepairEnvelopes([{ kind: 'missing', key, sourceItem: { ...key, x: { S: '1' } } }], opts);
    expect(e).toEqual({
      v: 1,
      pair: 'orders',
      op: 'put',
      key,
      image: { ...key, x: { S: '1' } },
      version: '001779999999000.0000000000000000000000000000000000000000',
      origin: 'us-east-1',
      capturedAt: opts.readAt,
    });
    expect(parseTableBody(JSON.stringify(e))).toEqual([e]);
  });

  it('strips rep: attributes and applies the pair filter to the image', () => {
    const sourceItem = { ...key, keep: { S: '1' }, secret: { S: 's' }, 'rep:v': { S: 'x' } };
    const [e] = buildRepairEnvelopes([{ kind: 'different', key, sourceItem }], {
      ...opts,
      filter: { deny: ['secret'] },
    });
    expect(e?.image).toEqual({ ...key, keep: { S: '1' } });
  });

  it('skips extra items unless deleteExtra is on, then deletes them', () => {
    expect(buildRepairEnvelopes([{ kind: 'extra', key }], opts)).toEqual([]);
    expect(buildRepairEnvelopes([{ kind: 'extra', key }], { ...opts, deleteExtra: true })).toEqual([
      expect.objectContaining({ op: 'delete', key, image: null, version: readVersion(opts.readAt) }),
    ]);
  });

  it('sends one envelope per key and kind', () => {
    const sourceItem = { ...key };
    const out = buildRepairEnvelopes(
      [
        { kind: 'missing', key, sourceItem },
        { kind: 'different', key: { pk: { S: 'a' } }, sourceItem },
      ],
      opts,
    );
    expect(out).toHaveLength(1);
  });

  it('sends an image too large for SQS as a fetch envelope', () => {
    const sourceItem = { ...key, big: { S: 'x'.repeat(300_000) } };
    const [e] = buildRepairEnvelopes([{ kind: 'missing', key, sourceItem }], opts);
    expect(e).toMatchObject({ op: 'put', image: null });
  });
});
