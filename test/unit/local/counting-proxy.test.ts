/** The counting proxy passes what happens upstream on as it is, a connection reset included. */
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type CountingProxy, type ObservedExchange, startCountingProxy } from '../../../src/local/counting-proxy';

let upstream: Server | undefined;
let proxy: CountingProxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
});

/** A TCP server that resets every connection as soon as a request arrives. */
async function resettingServer(): Promise<string> {
  upstream = createServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
  await new Promise<void>((resolve) => upstream!.listen(0, '127.0.0.1', () => resolve()));
  const address = upstream.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

function get(url: string): Promise<{ status: number } | { error: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.0' } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on('error', (error) => resolve({ error }));
    req.end('{}');
  });
}

/** A server that answers every request with 200 `ok`. */
async function okServer(): Promise<string> {
  const { createServer: createHttpServer } = await import('node:http');
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  upstream = server as unknown as Server;
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

function signed(url: string, region: string, service: string, target?: string) {
  return new Promise<{ status: number; body: string; type: string | undefined } | { error: NodeJS.ErrnoException }>(
    (resolve) => {
      const headers: Record<string, string> = {
        authorization: `AWS4-HMAC-SHA256 Credential=test/20261201/${region}/${service}/aws4_request, Signature=x`,
        ...(target ? { 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.0' } : {}),
      };
      const req = request(url, { method: 'POST', headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            type: res.headers['content-type'],
          }),
        );
      });
      req.on('error', (error) => resolve({ error }));
      req.end('{}');
    },
  );
}

describe('fault injection', () => {
  it("injects faults by region and service, in each protocol's error shape, and counts them", async () => {
    proxy = await startCountingProxy(await okServer());
    proxy.setFaults((r) => {
      if (r.region === 'eu-west-1' && r.service === 'dynamodb') {
        return { kind: 'status', status: 400, code: 'ThrottlingException', message: 'Rate exceeded' };
      }
      if (r.region === 'eu-west-1' && r.service === 's3') return { kind: 'status', status: 503, code: 'SlowDown' };
      if (r.region === 'ap-northeast-1') return { kind: 'reset' };
      return undefined;
    });
    const ddb = await signed(proxy.endpoint, 'eu-west-1', 'dynamodb', 'DynamoDB_20120810.PutItem');
    expect(ddb).toMatchObject({ status: 400, type: 'application/x-amz-json-1.0' });
    expect(JSON.parse((ddb as { body: string }).body)).toEqual({
      __type: 'ThrottlingException',
      message: 'Rate exceeded',
    });
    const s3 = await signed(proxy.endpoint, 'eu-west-1', 's3');
    expect(s3).toMatchObject({ status: 503, type: 'application/xml' });
    expect((s3 as { body: string }).body).toContain('<Code>SlowDown</Code>');
    expect(await signed(proxy.endpoint, 'ap-northeast-1', 'sqs')).toEqual({
      error: expect.objectContaining({ code: expect.stringMatching(/ECONNRESET|EPIPE/) }),
    });
    // Other regions pass; and nothing is injected once the rule is removed.
    expect(await signed(proxy.endpoint, 'us-east-1', 'dynamodb', 'DynamoDB_20120810.PutItem')).toMatchObject({
      status: 200,
    });
    proxy.setFaults(undefined);
    expect(await signed(proxy.endpoint, 'eu-west-1', 's3')).toMatchObject({ status: 200, body: 'ok' });
    expect(proxy.faultCounts()).toEqual({ 'status 400': 1, 'status 503': 1, reset: 1 });
  });
});

describe('counting proxy', () => {
  it('resets the client connection when the upstream connection is reset, instead of answering 502', async () => {
    proxy = await startCountingProxy(await resettingServer());
    const outcome = await get(proxy.endpoint);
    expect(outcome).toEqual({ error: expect.objectContaining({ code: expect.stringMatching(/ECONNRESET|EPIPE/) }) });
    expect(proxy.total()).toBe(1);
  });
});

describe('request observer', () => {
  it('shows each answered request with its JSON body, and the response of an STS request', async () => {
    proxy = await startCountingProxy(await okServer());
    const seen: ObservedExchange[] = [];
    proxy.setObserver((x) => seen.push(x));
    await signed(proxy.endpoint, 'eu-west-1', 'dynamodb', 'DynamoDB_20120810.PutItem');
    await signed(proxy.endpoint, 'us-east-1', 'sts');
    await expect.poll(() => seen.length).toBe(2);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/', body: '{}', status: 200 });
    expect(seen[0]?.headers['x-amz-target']).toBe('DynamoDB_20120810.PutItem');
    expect(seen[0]?.responseBody).toBeUndefined();
    expect(seen[1]).toMatchObject({ status: 200, responseBody: 'ok' });
    proxy.setObserver(undefined);
    await signed(proxy.endpoint, 'eu-west-1', 'dynamodb', 'DynamoDB_20120810.PutItem');
    expect(seen.length).toBe(2);
  });
});
