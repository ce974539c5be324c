/** The waiting loop of `waitForReplication` (src/wait/engine.ts), with fake targets and a fake clock. */
import { describe, expect, it } from 'vitest';
import { ReplicationTimeoutError, type TargetChecker, waitUntilHeld } from '../../../src/wait/engine';

function clock() {
  let t = 0;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
  };
}

describe('waitUntilHeld', () => {
  it('asks only the targets that still lag, once per attempt, backing off until none lags', async () => {
    const asked: string[] = [];
    const heldAfter = (target: string, n: number): TargetChecker => {
      let calls = 0;
      return {
        target,
        check: async () => {
          asked.push(target);
          calls++;
          return calls >= n ? 0 : 3;
        },
      };
    };
    const c = clock();
    const r = await waitUntilHeld([heldAfter('eu', 1), heldAfter('ap', 4)], 3, c);
    expect(r).toEqual({ attempts: 4, elapsedMs: 100 + 150 + 225, keys: 3 });
    expect(asked).toEqual(['eu', 'ap', 'ap', 'ap', 'ap']);
    expect(c.sleeps).toEqual([100, 150, 225]);
  });

  it('fails at its timeout naming each lagging target, its pending keys and its last error', async () => {
    const c = clock();
    const err = await waitUntilHeld(
      [
        { target: 'eu-west-1/orders', check: async () => 0 },
        { target: 'ap-northeast-1/orders', check: async () => 2 },
        {
          target: 'sa-east-1/orders',
          check: async () => {
            throw Object.assign(new Error('connect ECONNREFUSED\nmore'), { name: 'Error' });
          },
        },
      ],
      2,
      { ...c, timeoutMs: 3_000 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReplicationTimeoutError);
    expect((err as ReplicationTimeoutError).lagging).toEqual([
      { target: 'ap-northeast-1/orders', pending: 2 },
      { target: 'sa-east-1/orders', pending: 2, error: 'Error: connect ECONNREFUSED' },
    ]);
    expect((err as Error).message).toMatch(
      /^not replicated after \d\.\d s: ap-northeast-1\/orders \(2 key\(s\) pending\), sa-east-1\/orders \(2 key\(s\) pending; last error: Error: connect ECONNREFUSED\)$/,
    );
    expect(Math.max(...c.sleeps)).toBeLessThanOrEqual(2_000);
  });
});
