import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { buildRepairEnvelopes, enqueueRepairs, repairVersion } from '../../functions/reconcile/repair';
import { makeVersion, parseBody } from '../../functions/shared/envelope';

const key = { pk: { S: 'a' } };
const opts = { pair: 'orders', origin: 'us-east-1', keyNames: ['pk'], readAt: 1_780_000_000_999 };

describe('buildRepairEnvelopes', () => {
  it('versions repairs one second before the read, as backfill does', () => {
    expect(repairVersion(opts.readAt)).toBe(makeVersion(1_780_000_000 - 1, '0'));
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
    expect(parseBody(JSON.stringify(e))).toEqual([e]);
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
      expect.objectContaining({ op: 'delete', key, image: null, version: repairVersion(opts.readAt) }),
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

describe('enqueueRepairs', () => {
  const sqs = mockClient(SQSClient);
  beforeEach(() => sqs.reset());
  const envelopes = buildRepairEnvelopes(
    Array.from({ length: 30 }, (_, i) => ({
      kind: 'missing' as const,
      key: { pk: { S: `k${i}` } },
      sourceItem: { pk: { S: `k${i}` } },
    })),
    opts,
  );

  it('packs the envelopes into messages and sends them like capture', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const r = await enqueueRepairs(new SQSClient({}), 'https://q', envelopes, { pair: 'orders', origin: 'us-east-1' });
    expect(r).toEqual({ messages: 2, requests: 1 });
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: 'https://q' });
    const bodies = sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input.Entries!.map((e) => e.MessageBody!);
    expect(bodies.flatMap((b) => parseBody(b))).toEqual(envelopes);
  });

  it('fails if a message was not accepted', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Failed: [{ Id: '1', Code: 'Throttled', SenderFault: false }] });
    await expect(
      enqueueRepairs(new SQSClient({}), 'https://q', envelopes, { pair: 'orders', origin: 'us-east-1' }),
    ).rejects.toThrow(/5 repair envelope\(s\) not enqueued \(Throttled/);
  });

  it('sends nothing for no envelopes', async () => {
    expect(await enqueueRepairs(new SQSClient({}), 'https://q', [], { pair: 'orders', origin: 'us-east-1' })).toEqual({
      messages: 0,
      requests: 0,
    });
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });
});
