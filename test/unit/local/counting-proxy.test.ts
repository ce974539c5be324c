/** The counting proxy passes what happens upstream on as it is, a connection reset included. */
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type CountingProxy, startCountingProxy } from '../../../src/local/counting-proxy';

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

describe('counting proxy', () => {
  it('resets the client connection when the upstream connection is reset, instead of answering 502', async () => {
    proxy = await startCountingProxy(await resettingServer());
    const outcome = await get(proxy.endpoint);
    expect(outcome).toEqual({ error: expect.objectContaining({ code: expect.stringMatching(/ECONNRESET|EPIPE/) }) });
    expect(proxy.total()).toBe(1);
  });
});
