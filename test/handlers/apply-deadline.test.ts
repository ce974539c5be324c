/**
 * A target that answers nothing must not make Lambda end the apply invocation mid-batch: writes still unanswered
 * at the invocation's deadline are abandoned, their envelopes re-sent, and the partial batch response returned in
 * time (functions/engine/deadline.ts). The target is a local HTTP server that holds every write; its client's
 * request timeout is a minute, so only the deadline (2 s into a 3 s invocation) can end the writes before the
 * test's own timeout.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { envelope, sqsRecord } from '../helpers/factories';

const sqs = mockClient(SQSClient);
type Handler = (e: SQSEvent, c: Context) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
let handler: Handler;
let server: Server;
const held: ServerResponse[] = [];
const writes: string[] = [];
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/replicator-orders';

/** Answers the state table's tombstone lookups, holds every other request (the target's writes). */
function target(req: IncomingMessage, res: ServerResponse): void {
  const action = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
  req.resume();
  if (action === 'BatchGetItem') {
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
    res.end(JSON.stringify({ Responses: { 'replicator-orders-state': [] } }));
    return;
  }
  writes.push(action);
  held.push(res);
}

/** A context whose invocation has 3 s left, as Lambda's would. */
function context(): Context {
  const end = Date.now() + 3_000;
  return { functionName: 'replicator-orders-apply', getRemainingTimeInMillis: () => end - Date.now() } as Context;
}

beforeAll(async () => {
  server = createServer(target);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  vi.stubEnv('AWS_ENDPOINT_URL', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  vi.stubEnv('REQUEST_TIMEOUT_SECONDS', '60');
  vi.stubEnv('PAIR_NAME', 'orders');
  vi.stubEnv('QUEUE_URL', QUEUE);
  vi.stubEnv('DLQ_URL', `${QUEUE}-dlq`);
  vi.stubEnv('STATE_TABLE', 'replicator-orders-state');
  vi.stubEnv('SOURCE_TABLE', 'orders');
  vi.stubEnv('SOURCE_REGION', 'us-east-1');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('MAX_ATTEMPTS', '3');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  vi.stubEnv('TARGETS', JSON.stringify([{ id: 'eu-west-1/orders', region: 'eu-west-1', table: 'orders' }]));
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm' });
  ({ handler } = (await import('../../functions/dynamodb/apply-handler')) as unknown as { handler: Handler });
});

afterAll(async () => {
  for (const res of held) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('apply handler against a target that answers nothing', () => {
  it('abandons the writes at its deadline and re-sends their envelopes, without tripping the circuit', async () => {
    const key = (k: string) => ({ pk: { S: k }, sk: { S: '1' } });
    const records = ['a', 'b', 'c'].map((k) => sqsRecord(JSON.stringify(envelope({ key: key(k), seq: 1 }))));

    const first = await handler({ Records: records }, context());
    expect(first.batchItemFailures).toEqual([]);
    expect(writes.length).toBeGreaterThanOrEqual(3);
    const resent = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(resent.map((r) => r.QueueUrl)).toEqual([QUEUE, QUEUE, QUEUE]);
    expect(resent.map((r) => JSON.parse(r.MessageBody!).key.pk.S).sort()).toEqual(['a', 'b', 'c']);
    // Soon: the first retry's backoff, meant for the target the writes were cut off on.
    for (const r of resent) {
      expect(r.DelaySeconds).toBeLessThanOrEqual(2);
      expect(r.MessageAttributes?.['rep-target']?.StringValue).toBe('eu-west-1/orders');
    }

    // The next invocation tries the target again (no open circuit), and ends in time again.
    const before = writes.length;
    const second = await handler(
      { Records: [sqsRecord(JSON.stringify(envelope({ key: key('d'), seq: 1 })))] },
      context(),
    );
    expect(second.batchItemFailures).toEqual([]);
    expect(writes.length).toBeGreaterThan(before);
  }, 60_000);
});
