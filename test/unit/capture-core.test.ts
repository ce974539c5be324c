import { describe, expect, it } from 'vitest';
import {
  buildEnvelopes,
  type CaptureOptions,
  packMessages,
  planBatches,
  SQS_MAX_BYTES,
} from '../../functions/capture/core';
import { parseBody } from '../../functions/shared/envelope';
import { streamRecord } from '../helpers/factories';

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

describe('packMessages', () => {
  const records = Array.from({ length: 60 }, (_, i) =>
    streamRecord({ eventName: 'INSERT', keys: { pk: { S: `k${i}` } }, newImage: { pk: { S: `k${i}` } } }),
  );

  it('packs up to envelopesPerMessage envelopes per message, in stream order', () => {
    const { envelopes } = buildEnvelopes(records, opts);
    const messages = packMessages(envelopes, opts);
    expect(messages.map((m) => m.envelopeCount)).toEqual([25, 25, 10]);
    const all = messages.flatMap((m) => parseBody(m.body));
    expect(all.map((e) => e.key.pk)).toEqual(records.map((r) => r.dynamodb?.Keys?.pk));
  });

  it('sends a lone envelope as an object, several as an array', () => {
    const { envelopes } = buildEnvelopes(records.slice(0, 2), opts);
    expect(packMessages(envelopes.slice(0, 1), opts)[0]!.body.startsWith('{')).toBe(true);
    expect(packMessages(envelopes, opts)[0]!.body.startsWith('[')).toBe(true);
  });

  it('never builds a message over the SQS size limit', () => {
    const big = Array.from({ length: 10 }, (_, i) =>
      streamRecord({
        eventName: 'INSERT',
        keys: { pk: { S: `b${i}` } },
        newImage: { pk: { S: `b${i}` }, d: { S: 'y'.repeat(100_000) } },
      }),
    );
    const messages = packMessages(buildEnvelopes(big, opts).envelopes, opts);
    for (const m of messages) expect(m.bytes).toBeLessThanOrEqual(SQS_MAX_BYTES);
    expect(messages.reduce((s, m) => s + m.envelopeCount, 0)).toBe(10);
  });
});

describe('planBatches', () => {
  it('puts at most 10 messages and 256 KiB in one SendMessageBatch call', () => {
    const msgs = Array.from({ length: 25 }, () => ({ body: 'x', bytes: 60_000, recordIds: ['1'], envelopeCount: 1 }));
    const batches = planBatches(msgs);
    for (const b of batches) {
      expect(b.length).toBeLessThanOrEqual(10);
      expect(b.reduce((s, m) => s + m.bytes, 0)).toBeLessThanOrEqual(SQS_MAX_BYTES);
    }
    expect(batches.flat()).toHaveLength(25);
  });
});
