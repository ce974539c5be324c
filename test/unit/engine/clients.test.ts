/**
 * The functions' SDK clients give up on a request that hangs: against a server that accepts the connection
 * and never answers, a call fails as a timeout (transient, summarised as "timeout") within the pair's
 * request timeout, instead of holding the invocation until Lambda ends it.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { dynamoClient, requestHandlerOptions } from '../../../functions/engine/clients';
import { errorSummary, isTransient } from '../../../functions/engine/errors';

describe('requestHandlerOptions', () => {
  it('turns the pair request timeout into an idle limit and a connect limit of at most 5 s', () => {
    expect(requestHandlerOptions({ REQUEST_TIMEOUT_SECONDS: '60' })).toEqual({
      connectionTimeout: 5000,
      socketTimeout: 60_000,
    });
    expect(requestHandlerOptions({ REQUEST_TIMEOUT_SECONDS: '2' })).toEqual({
      connectionTimeout: 2000,
      socketTimeout: 2000,
    });
    expect(requestHandlerOptions({})).toEqual({ connectionTimeout: 5000, socketTimeout: 10_000 });
  });

  it('names the variable and the value when it is not a positive number', () => {
    expect(() => requestHandlerOptions({ REQUEST_TIMEOUT_SECONDS: 'soon' })).toThrow(
      'environment variable REQUEST_TIMEOUT_SECONDS must be a positive number of seconds (given "soon")',
    );
  });
});

describe('a request that gets no answer', () => {
  let server: Server;
  const sockets: Socket[] = [];
  let port = 0;

  beforeAll(async () => {
    // Accepts, reads, never answers: a connection that hangs.
    server = createServer((socket) => {
      sockets.push(socket);
      socket.on('data', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('fails as a transient timeout instead of hanging', async () => {
    vi.stubEnv('REQUEST_TIMEOUT_SECONDS', '1');
    vi.stubEnv('AWS_ENDPOINT_URL', `http://127.0.0.1:${port}`);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing');
    // A region no other test uses: the client is built (and cached) with this environment.
    const client = dynamoClient({ region: 'me-central-1' });
    const err = await client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: '1' } } })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(isTransient(err)).toBe(true);
    expect(errorSummary(err)).toMatch(/^timeout: /);
    // The SDK tried three times, each on a connection of its own.
    expect(sockets.length).toBe(3);
  }, 60_000);
});
