/**
 * `replicator local --endpoint URL` fails at once, in one line that says why and what to do, when the
 * moto_server there would consume the stream records itself (a plain moto_server), and goes on with one
 * started with Replicator's hook (`replicator moto`).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { checkEndpoint } from '../../../src/cli/local-cloud';
import { type MotoServer, startMoto } from '../../../src/local/moto';

const servers: MotoServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
}, 60_000);

describe('checkEndpoint', () => {
  it('refuses a plain moto_server, saying how to start one that works', async () => {
    const plain = await startMoto({ keepMotoEventSourceMappings: true });
    servers.push(plain);
    await expect(checkEndpoint(plain.endpoint)).rejects.toThrow(
      /runs event source mappings itself and would consume the stream records.*npx replicator moto --port PORT/,
    );
  }, 60_000);

  it("accepts a moto_server started with Replicator's hook", async () => {
    const hooked = await startMoto();
    servers.push(hooked);
    await expect(checkEndpoint(hooked.endpoint)).resolves.toBeUndefined();
  }, 60_000);

  it('says so when nothing listens at the endpoint', async () => {
    await expect(checkEndpoint('http://localhost:1')).rejects.toThrow(
      /cannot reach a moto_server at http:\/\/localhost:1/,
    );
  });
});
