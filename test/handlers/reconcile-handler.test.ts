import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  type AttributeValue,
  BatchGetItemCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ReconcileSummary } from '../../functions/engine/reconcile-run';

type Item = Record<string, AttributeValue>;
type Handler = (e: unknown, c: Context) => Promise<ReconcileSummary>;

const ddb = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);
const addMetric = vi.spyOn(Metrics.prototype, 'addMetric');
let handler: Handler;
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/replicator-orders';
const STATE = 'replicator-orders-state';
const TARGET = 'eu-west-1/orders-replica';
const contextWith = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;
/** Leaves a deadline well ahead. */
const plentyOfTime = contextWith(600_000);
/** Leaves exactly the margin: the deadline is now, so no page starts. */
const noTime = contextWith(20_000);

/** In-memory tables keyed by `pk` (the source, the target and the state table). */
let tables: Map<string, Map<string, Item>>;
const table = (name: string) => {
  const t = tables.get(name) ?? new Map<string, Item>();
  tables.set(name, t);
  return t;
};
const pkOf = (key: Item) => key.pk?.S ?? '';
const item = (pk: string, qty: string, extra: Item = {}): Item => ({ pk: { S: pk }, qty: { N: qty }, ...extra });

beforeAll(async () => {
  vi.stubEnv('PAIR_NAME', 'orders');
  vi.stubEnv('SOURCE_TABLE', 'orders');
  vi.stubEnv('SOURCE_REGION', 'us-east-1');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('STATE_TABLE', STATE);
  vi.stubEnv('QUEUE_URL', QUEUE);
  vi.stubEnv('TARGETS', JSON.stringify([{ id: TARGET, region: 'eu-west-1', table: 'orders-replica' }]));
  vi.stubEnv('REPAIR', 'true');
  vi.stubEnv('DELETE_EXTRA', 'false');
  vi.stubEnv('READ_RATE', '100000');
  vi.stubEnv('SEGMENTS', '1');
  vi.stubEnv('RECHECK_DELAY_MS', '0');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  ({ handler } = (await import('../../functions/dynamodb/reconcile-handler')) as unknown as { handler: Handler });
});

beforeEach(() => {
  ddb.reset();
  sqs.reset();
  addMetric.mockClear();
  tables = new Map();
  for (const i of [item('a', '1'), item('b', '2'), item('c', '3')]) table('orders').set(pkOf(i), i);
  // a matches (replication metadata aside), b is missing, c differs, d is extra.
  for (const i of [item('a', '1', { 'rep:v': { S: '1' } }), item('c', '30'), item('d', '4')]) {
    table('orders-replica').set(pkOf(i), i);
  }
  ddb.on(DescribeTableCommand).resolves({ Table: { KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] } });
  ddb.on(ScanCommand).callsFake((input) => ({ Items: [...table(input.TableName).values()] }));
  ddb.on(BatchGetItemCommand).callsFake((input) => {
    const Responses: Record<string, Item[]> = {};
    for (const [name, { Keys }] of Object.entries(input.RequestItems as Record<string, { Keys: Item[] }>)) {
      Responses[name] = Keys.flatMap((k): Item[] => {
        const found = table(name).get(pkOf(k));
        return found ? [found] : [];
      });
    }
    return { Responses };
  });
  ddb.on(GetItemCommand).callsFake((input) => {
    const found = table(input.TableName).get(pkOf(input.Key));
    return found ? { Item: found } : {};
  });
  ddb.on(PutItemCommand).callsFake((input) => {
    table(input.TableName).set(pkOf(input.Item), input.Item);
    return {};
  });
  ddb.on(DeleteItemCommand).callsFake((input) => {
    table(input.TableName).delete(pkOf(input.Key));
    return {};
  });
  sqs.on(SendMessageBatchCommand).callsFake((input) => ({
    Successful: input.Entries.map((e: { Id: string }) => ({ Id: e.Id, MessageId: `m${e.Id}` })),
    Failed: [],
  }));
});

const metric = (name: string) =>
  addMetric.mock.calls.filter((c) => c[0] === name).reduce((sum, c) => sum + Number(c[2]), 0);
const storedReport = () => {
  const json = table(STATE).get('reconcile#report#latest')?.report?.S;
  return json === undefined ? undefined : JSON.parse(json);
};

describe('reconcile handler', () => {
  it('finishes a run: repairs, publishes per target, stores the report and clears the checkpoint', async () => {
    const summary = await handler({}, plentyOfTime);

    expect(summary).toMatchObject({ pair: 'orders', complete: true, checked: 4, mismatched: 3, repaired: 2 });
    expect(summary.targets).toEqual([
      {
        target: TARGET,
        checked: 4,
        missing: 1,
        extra: 1,
        different: 1,
        lostDeletes: 0,
        repaired: 2,
        consistencyRatio: 0.25,
      },
    ]);
    // b and c re-enqueued through the pair queue; the extra d is only reported (deleteExtra is off).
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: QUEUE });
    const bodies = sqs.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries ?? []);
    const sent = bodies.map((e) => e.MessageBody ?? '').join('\n');
    expect(sent).toContain('"b"');
    expect(sent).toContain('"c"');
    expect(sent).not.toContain('"d"');

    expect(metric('ReconcileChecked')).toBe(4);
    expect(metric('ReconcileMismatched')).toBe(3);
    expect(metric('ReconcileMissing')).toBe(1);
    expect(metric('ReconcileExtra')).toBe(1);
    expect(metric('ReconcileRepaired')).toBe(2);
    // The extra d is left: the "mismatched after repair" alarm watches this.
    expect(metric('ReconcileUnrepaired')).toBe(1);
    expect(metric('ConsistencyRatio')).toBe(0.25);
    expect(addMetric).toHaveBeenCalledWith('ReconcileDuration', 'Milliseconds', expect.any(Number));

    expect(storedReport()).toMatchObject({ pair: 'orders', complete: true, checked: 4, mismatched: 3 });
    expect(ddb).toHaveReceivedCommandWith(DeleteItemCommand, {
      TableName: STATE,
      Key: { pk: { S: 'reconcile#checkpoint' } },
    });
    expect(table(STATE).has('reconcile#checkpoint')).toBe(false);
  });

  it('keeps the checkpoint when the deadline stops the run, and continues from it next time', async () => {
    const first = await handler({}, noTime);

    expect(first).toMatchObject({ complete: false, pages: 0, invocations: 1 });
    expect(table(STATE).get('reconcile#checkpoint')?.state?.S).toBeDefined();
    expect(ddb).not.toHaveReceivedCommand(DeleteItemCommand);
    expect(storedReport()).toBeUndefined();
    expect(addMetric).not.toHaveBeenCalled();

    const second = await handler({}, plentyOfTime);
    expect(second).toMatchObject({ complete: true, invocations: 2, checked: 4 });
    expect(table(STATE).has('reconcile#checkpoint')).toBe(false);
    expect(storedReport()).toMatchObject({ complete: true, invocations: 2 });
  });

  it('reports a consistent pair with a ratio of 1 and enqueues nothing', async () => {
    table('orders-replica').clear();
    for (const i of table('orders').values()) table('orders-replica').set(pkOf(i), i);

    const summary = await handler({}, plentyOfTime);

    expect(summary).toMatchObject({ complete: true, checked: 3, mismatched: 0, consistencyRatio: 1 });
    expect(sqs).not.toHaveReceivedCommand(SendMessageBatchCommand);
    expect(metric('ConsistencyRatio')).toBe(1);
    expect(metric('ReconcileMismatched')).toBe(0);
  });

  it('describes the source table for its key schema once per container', async () => {
    await handler({}, plentyOfTime);
    // The first test of this file already described it.
    expect(ddb).not.toHaveReceivedCommand(DescribeTableCommand);
  });
});
