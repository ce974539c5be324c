/**
 * End to end on the local cloud: `cdk deploy` of the real app to moto, the local runtime running the
 * deployed bundles, writes to the source table, and item-by-item checks of both targets.
 */
import { DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoPairConfig } from '../../lib/config';
import { localDynamo, queueDepth } from '../../src/cli/aws';
import { backfillPair } from '../../src/cli/backfill';
import { type LocalCloud, startLocalCloud } from '../../src/cli/local-cloud';
import { redrive } from '../../src/cli/operations';
import { verifyTablePair as verifyPair } from '../../src/cli/pair-types/dynamodb';
import { converged } from '../../src/cli/pair-types/dynamodb-verify';
import { eventually } from '../helpers/eventually';
import { expectCallsAllowed, recordCalls } from '../iam/local-cloud-calls';

let cloud: LocalCloud;
let calls: ReturnType<typeof recordCalls>;
let pair: DynamoPairConfig;
const TABLE = 'e2e-orders';

beforeAll(async () => {
  cloud = await startLocalCloud({
    configPath: `${__dirname}/../fixtures/configs/e2e-dynamodb.json`,
    log: process.env.E2E_VERBOSE ? (l) => console.log(l) : undefined,
  });
  pair = cloud.config.pairs[0] as DynamoPairConfig;
  calls = recordCalls(cloud);
}, 600_000);

afterAll(async () => {
  await cloud?.stop();
});

const src = () => localDynamo(cloud.endpoint, 'us-east-1');
const eu = () => localDynamo(cloud.endpoint, 'eu-west-1');
const ap = () => localDynamo(cloud.endpoint, 'ap-northeast-1');

async function waitConverged() {
  return eventually(
    'both targets to converge',
    () => verifyPair(cloud, pair),
    (m) => [...m.values()].every(converged),
  );
}

describe('DynamoDB replication on the local cloud', () => {
  it('replicates inserts, updates and deletes to both targets', async () => {
    const c = src();
    for (let i = 0; i < 30; i++) {
      await c.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { pk: { S: `user-${i}` }, sk: { S: 'profile' }, n: { N: String(i) } },
        }),
      );
    }
    for (let i = 0; i < 10; i++) {
      await c.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: { pk: { S: `user-${i}` }, sk: { S: 'profile' } },
          UpdateExpression: 'SET n = n + :one, tags = :tags',
          ExpressionAttributeValues: { ':one': { N: '1' }, ':tags': { SS: ['a', 'b'] } },
        }),
      );
    }
    for (let i = 20; i < 30; i++) {
      await c.send(new DeleteItemCommand({ TableName: TABLE, Key: { pk: { S: `user-${i}` }, sk: { S: 'profile' } } }));
    }
    const diffs = await waitConverged();
    for (const d of diffs.values()) expect(d.checked).toBe(20);
    const replica = await ap().send(
      new GetItemCommand({ TableName: 'e2e-orders-replica', Key: { pk: { S: 'user-3' }, sk: { S: 'profile' } } }),
    );
    expect(replica.Item?.n).toEqual({ N: '4' });
    expect(replica.Item?.['rep:o']).toEqual({ S: 'us-east-1' });
    expect(replica.Item?.['rep:v']?.S).toMatch(/^\d{15}\.\d{40}$/);
  });

  it('replicates a unicode partition key with a sort key', async () => {
    const key = { pk: { S: 'ünïcödé ✓ 键 🔑' }, sk: { S: '2026-11-25#a b+c%20' } };
    await src().send(
      new PutItemCommand({ TableName: TABLE, Item: { ...key, v: { S: 'ok' }, bin: { B: Buffer.from([0, 1, 255]) } } }),
    );
    const got = await eventually(
      'the unicode item in eu-west-1',
      () => eu().send(new GetItemCommand({ TableName: TABLE, Key: key })),
      (r) => r.Item !== undefined,
    );
    expect(got.Item?.v).toEqual({ S: 'ok' });
    expect(Buffer.from(got.Item!.bin!.B!)).toEqual(Buffer.from([0, 1, 255]));
    await waitConverged();
  });

  it('replicates an item near the 400 KB limit through a fetch envelope', async () => {
    const key = { pk: { S: 'big' }, sk: { S: '1' } };
    await src().send(new PutItemCommand({ TableName: TABLE, Item: { ...key, payload: { S: 'x'.repeat(390_000) } } }));
    const got = await eventually(
      'the big item in ap-northeast-1',
      () => ap().send(new GetItemCommand({ TableName: 'e2e-orders-replica', Key: key })),
      (r) => r.Item !== undefined,
    );
    expect(got.Item?.payload?.S).toHaveLength(390_000);
    await waitConverged();
  });

  it('dead-letters a poison record with its reason while later records still replicate', async () => {
    // Fits the source (moto's limit is 405,000 bytes of names and values) but not a target once
    // Replicator's rep:v and rep:o attributes are added: a write no retry can fix.
    const poisonKey = { pk: { S: 'poison' }, sk: { S: '1' } };
    await src().send(
      new PutItemCommand({ TableName: TABLE, Item: { ...poisonKey, payload: { S: 'p'.repeat(404_942) } } }),
    );
    const after = { pk: { S: 'after-poison' }, sk: { S: '1' } };
    await src().send(new PutItemCommand({ TableName: TABLE, Item: { ...after, v: { N: '1' } } }));
    await eventually(
      'the record written after the poison one',
      () => eu().send(new GetItemCommand({ TableName: TABLE, Key: after })),
      (r) => r.Item !== undefined,
    );
    const sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: cloud.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const dlq = await eventually(
      'two dead letters (one per target)',
      () => queueDepth(sqs, 'replicator-e2e-orders-dlq'),
      (q) => q.depth >= 2,
    );
    const msgs = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlq.url,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 0,
      }),
    );
    const reasons = (msgs.Messages ?? []).map((m) => m.MessageAttributes?.['rep-error']?.StringValue);
    // Each names what failed (the target and its service) and what the target said (code and HTTP status).
    expect(reasons).toContain(
      'target eu-west-1/e2e-orders (dynamodb): ValidationException (HTTP 400): Item size has exceeded the maximum allowed size',
    );
    for (const r of reasons) expect(r).toMatch(/^target \S+ \(dynamodb\): ValidationException \(HTTP 400\): Item size/);
    const targets = (msgs.Messages ?? []).map((m) => m.MessageAttributes?.['rep-target']?.StringValue).sort();
    expect(targets).toEqual(['ap-northeast-1/e2e-orders-replica', 'eu-west-1/e2e-orders']);
    const body = JSON.parse(msgs.Messages![0]!.Body!);
    expect(Array.isArray(body) ? body[0].key : body.key).toEqual(poisonKey);
    const missing = await verifyPair(cloud, pair);
    for (const d of missing.values()) expect(d.missing).toEqual([poisonKey]);
  });

  it('redrives dead letters to the target they failed on (and a poison one fails again, with its reason)', async () => {
    const dry = await redrive('e2e-orders', { region: 'us-east-1', endpoint: cloud.endpoint }, { dryRun: true });
    expect(dry).toMatchObject({ moved: 0, seen: 2 });
    expect(dry.groups).toEqual(
      expect.arrayContaining([
        {
          target: 'eu-west-1/e2e-orders',
          reason: 'ValidationException',
          count: 1,
          oldest: expect.any(String),
          newest: expect.any(String),
          example: expect.stringMatching(/^target eu-west-1\/e2e-orders \(dynamodb\): ValidationException/),
        },
        expect.objectContaining({
          target: 'ap-northeast-1/e2e-orders-replica',
          reason: 'ValidationException',
          count: 1,
        }),
      ]),
    );
    // The dry run left both where they were: the real one moves them.
    const r = await redrive('e2e-orders', { region: 'us-east-1', endpoint: cloud.endpoint });
    expect({ moved: r.moved, seen: r.seen, groups: r.groups.length }).toEqual({ moved: 2, seen: 2, groups: 2 });
    const sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: cloud.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await eventually(
      'both dead letters back in the DLQ',
      () => queueDepth(sqs, 'replicator-e2e-orders-dlq'),
      (q) => q.depth === 2,
    );
  });

  it('backfill restores items removed from a target behind its back, through the apply path', async () => {
    const poisonKey = { pk: { S: 'poison' }, sk: { S: '1' } };
    await src().send(new DeleteItemCommand({ TableName: TABLE, Key: poisonKey }));
    await waitConverged();
    for (let i = 0; i < 5; i++) {
      await eu().send(
        new DeleteItemCommand({ TableName: TABLE, Key: { pk: { S: `user-${i}` }, sk: { S: 'profile' } } }),
      );
    }
    const drifted = await verifyPair(cloud, pair);
    expect(drifted.get('eu-west-1/e2e-orders')?.missing).toHaveLength(5);
    const r = await backfillPair({ pair, sourceRegion: 'us-east-1', endpoint: cloud.endpoint, shards: 2 });
    // Only what the target lacks is enqueued, and only to it.
    const filled = r.report.targets.find((t) => t.target === 'eu-west-1/e2e-orders')!;
    expect(filled).toMatchObject({ missing: 5, repaired: 5, checked: drifted.get('eu-west-1/e2e-orders')!.checked });
    await waitConverged();
  });

  it('a target added by a second deploy gets live changes from then on, and backfill --target fills it', async () => {
    const writes = (async () => {
      for (let i = 0; i < 60; i++) {
        await src().send(
          new PutItemCommand({ TableName: TABLE, Item: { pk: { S: `during-${i}` }, sk: { S: '1' }, n: { N: '1' } } }),
        );
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const positions = cloud.runtime.streamPositions();
    expect(positions.size).toBeGreaterThan(0);
    // The user's `cdk deploy` of the config with a third target (a second table in eu-west-1: its stack updated).
    await cloud.redeploy(`${__dirname}/../fixtures/configs/e2e-dynamodb-added.json`);
    await writes;
    const added = cloud.config.pairs[0] as DynamoPairConfig;
    expect(added.targets.map((t) => t.table)).toEqual(['e2e-orders', 'e2e-orders-replica', 'e2e-orders-archive']);
    // The capture mapping survived the update (same UUID) and went on where it stood: no shard starts over.
    const after = cloud.runtime.streamPositions();
    for (const [mapping, shards] of positions) {
      for (const [shard, sequence] of Object.entries(shards)) {
        expect(BigInt(after.get(mapping)?.[shard] ?? '0')).toBeGreaterThanOrEqual(BigInt(sequence));
      }
    }
    const archive = 'eu-west-1/e2e-orders-archive';
    const before = (await verifyPair(cloud, added)).get(archive)!;
    // Only writes made after the deploy reached the new table; what came before is backfill's.
    expect(before.missing.length).toBeGreaterThan(10);
    const r = await backfillPair({
      pair: added,
      sourceRegion: 'us-east-1',
      endpoint: cloud.endpoint,
      targets: [archive],
      shards: 2,
    });
    expect(r.report.targets.map((t) => t.target)).toEqual([archive]);
    pair = added;
    await waitConverged();
  });

  it('counts AWS requests per replicated item through the proxy', () => {
    const counts = cloud.requestCounts();
    expect(counts['dynamodb:PutItem']).toBeGreaterThan(0);
    expect(counts['sqs:SendMessageBatch']).toBeGreaterThan(0);
  });

  it('makes only calls the deployed IAM policies allow (test/iam)', async () => {
    await expectCallsAllowed(cloud, calls);
  });
});
