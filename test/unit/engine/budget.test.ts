import { describe, expect, it } from 'vitest';
import { ReadBudget } from '../../../functions/engine/budget';
import { FakeClock } from '../../helpers/reconcile-memory';

describe('ReadBudget', () => {
  it('lets a burst through without waiting', async () => {
    const clock = new FakeClock();
    const budget = new ReadBudget({ readRate: 100, now: clock.now, sleep: clock.sleep });
    await budget.acquire();
    budget.charge(100);
    expect(clock.slept).toEqual([]);
  });

  it('slows reads down to readRate units per second', async () => {
    const clock = new FakeClock();
    const start = clock.t;
    const budget = new ReadBudget({ readRate: 10, now: clock.now, sleep: clock.sleep });
    for (let i = 0; i < 50; i++) {
      await budget.acquire();
      budget.charge(5);
    }
    // 250 units at 10/s with a 10-unit burst: the last read starts after (250 - 5 - 10) / 10 s.
    expect(clock.t - start).toBeGreaterThanOrEqual(23_500);
    expect(clock.t - start).toBeLessThanOrEqual(24_000);
    expect(budget.spent).toBe(250);
    expect(budget.waitedMs).toBe(clock.t - start);
  });

  it('refills while idle, up to the burst', async () => {
    const clock = new FakeClock();
    const budget = new ReadBudget({ readRate: 10, burst: 20, now: clock.now, sleep: clock.sleep });
    budget.charge(20);
    clock.advance(60_000);
    await budget.acquire();
    budget.charge(20);
    await budget.acquire();
    expect(clock.slept).toEqual([]);
    budget.charge(10);
    await budget.acquire();
    expect(clock.slept).toEqual([1000]);
  });

  it('fails on a readRate that is not positive', () => {
    expect(() => new ReadBudget({ readRate: 0 })).toThrow(/readRate must be a positive number .*\(given 0\)/);
  });
});
