import { describe, expect, it } from 'vitest';
import { buildEnvelopes, type CaptureOptions } from '../../../functions/dynamodb/capture';
import { streamRecord } from '../../helpers/factories';

const opts: CaptureOptions = { pair: 'orders', origin: 'us-east-1', envelopesPerMessage: 25, now: () => 42 };
const key = { pk: { S: 'a' }, sk: { S: '1' } };

describe('buildEnvelopes', () => {
  it('turns an INSERT into a put with the new image and a sortable version', () => {
    const r = streamRecord({
      eventName: 'INSERT',
      keys: key,
      newImage: { ...key, qty: { N: '3' } },
      sequenceNumber: '7',
      createdAtSeconds: 1.5,
    });
    const { envelopes } = buildEnvelopes([r], opts);
    expect(envelopes[0]?.envelope).toEqual({
      v: 1,
      pair: 'orders',
      op: 'put',
      key,
      image: { ...key, qty: { N: '3' } },
      version: `000000000001500.${'7'.padStart(40, '0')}`,
      origin: 'us-east-1',
      capturedAt: 42,
    });
  });

  it('turns a REMOVE into a delete without an image', () => {
    const { envelopes } = buildEnvelopes([streamRecord({ eventName: 'REMOVE', keys: key, oldImage: key })], opts);
    expect(envelopes[0]?.envelope).toMatchObject({ op: 'delete', image: null, key });
  });

  it('orders a later record of the same key after an earlier one', () => {
    const a = streamRecord({
      eventName: 'INSERT',
      keys: key,
      newImage: key,
      sequenceNumber: '99',
      createdAtSeconds: 10,
    });
    const b = streamRecord({
      eventName: 'MODIFY',
      keys: key,
      newImage: key,
      sequenceNumber: '100',
      createdAtSeconds: 10,
    });
    const { envelopes } = buildEnvelopes([a, b], opts);
    expect(envelopes[0]!.envelope.version < envelopes[1]!.envelope.version).toBe(true);
  });

  it('skips writes that Replicator made on behalf of another region (no two-way loops)', () => {
    const r = streamRecord({ eventName: 'MODIFY', keys: key, newImage: { ...key, 'rep:o': { S: 'eu-west-1' } } });
    const batch = buildEnvelopes([r], opts);
    expect(batch.envelopes).toHaveLength(0);
    expect(batch.skipped[0]?.reason).toMatch(/replicated write from eu-west-1/);
  });

  it('drops rep: attributes from the image and applies the deny filter but never to keys', () => {
    const r = streamRecord({
      eventName: 'INSERT',
      keys: key,
      newImage: { ...key, secret: { S: 'x' }, qty: { N: '1' }, 'rep:v': { S: 'old' } },
    });
    const { envelopes } = buildEnvelopes([r], { ...opts, filter: { deny: ['secret', 'pk'] } });
    expect(envelopes[0]?.envelope.image).toEqual({ ...key, qty: { N: '1' } });
  });

  it('keeps only allowed attributes and the key with an allow filter', () => {
    const r = streamRecord({ eventName: 'INSERT', keys: key, newImage: { ...key, a: { S: '1' }, b: { S: '2' } } });
    const { envelopes } = buildEnvelopes([r], { ...opts, filter: { allow: ['a'] } });
    expect(envelopes[0]?.envelope.image).toEqual({ ...key, a: { S: '1' } });
  });

  it('sends an item too large for SQS as a key-only fetch envelope', () => {
    const big = { ...key, blob: { S: 'x'.repeat(390_000) } };
    const { envelopes } = buildEnvelopes([streamRecord({ eventName: 'INSERT', keys: key, newImage: big })], opts);
    expect(envelopes[0]?.envelope).toMatchObject({ op: 'put', image: null, key });
    expect(envelopes[0]!.bytes).toBeLessThan(1_000);
  });

  it('reports a record without a sequence number as invalid, not as an envelope', () => {
    const r = streamRecord({ eventName: 'INSERT', keys: key, newImage: key, sequenceNumber: 'abc' });
    const batch = buildEnvelopes([r], opts);
    expect(batch.envelopes).toHaveLength(0);
    expect(batch.invalid[0]?.reason).toMatch(/sequence number must be/);
  });
});
