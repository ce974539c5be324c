/** The run settings every pair type shares (engine/settings.ts): a backfill's page size and its halving. */
import { describe, expect, it } from 'vitest';
import { earlierDeliveries } from '../../../functions/engine/backfill-handler';
import { backfillPageSize, MIN_BACKFILL_PAGE, runModeOf } from '../../../functions/engine/settings';

describe('backfillPageSize', () => {
  it('is one second of one shard’s share of the pace, within 25 and the type’s page size', () => {
    expect(backfillPageSize(2000, 8, 500)).toBe(250);
    expect(backfillPageSize(100_000, 4, 500)).toBe(500);
    expect(backfillPageSize(10, 8, 500)).toBe(MIN_BACKFILL_PAGE);
  });

  it('halves the page once per earlier delivery, never below 25', () => {
    expect(backfillPageSize(4000, 8, 500, 1)).toBe(250);
    expect(backfillPageSize(4000, 8, 500, 2)).toBe(125);
    expect(backfillPageSize(4000, 8, 500, 5)).toBe(MIN_BACKFILL_PAGE);
    expect(backfillPageSize(4000, 8, 500, 1_000)).toBe(MIN_BACKFILL_PAGE);
    expect(backfillPageSize(4000, 8, 500, -3)).toBe(500);
  });

  it('is set for a backfill only, with the halvings the job passes', () => {
    expect(runModeOf({ mode: 'backfill', itemRate: 4000, pageHalvings: 1 }, { shards: 8, maxPageSize: 500 })).toEqual({
      mode: 'backfill',
      itemRate: 4000,
      pageSize: 250,
    });
    expect(runModeOf({ mode: 'reconcile' }, { shards: 8, maxPageSize: 500 })).toEqual({ mode: 'reconcile' });
  });
});

describe('earlierDeliveries', () => {
  it('is the receive count less one, and 0 when SQS does not say', () => {
    const rec = (n?: string) => ({ attributes: { ApproximateReceiveCount: n } }) as never;
    expect(earlierDeliveries(rec('1'))).toBe(0);
    expect(earlierDeliveries(rec('3'))).toBe(2);
    expect(earlierDeliveries(rec(undefined))).toBe(0);
    expect(earlierDeliveries(rec('x'))).toBe(0);
  });
});
