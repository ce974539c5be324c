import { describe, expect, it } from 'vitest';
import { dollars, globalTablesLines, perTarget, s3ReplicationLines, sig } from '../../../bench/cost';
import { PRICES } from '../../../bench/prices';

const GiB = 1024 ** 3;
const sum = (lines: readonly { usd: number }[]) => lines.reduce((s, l) => s + l.usd, 0);

describe('the cost benchmark arithmetic', () => {
  it('prices Global Tables per million changes as one rWRU each plus the item on the wire', () => {
    const lines = globalTablesLines();
    const rwru = lines[0]!;
    expect(rwru.usd).toBeCloseTo(PRICES.dynamodbReplicatedWriteEuWest1.usd, 10);
    expect(rwru.arithmetic).toBe(
      `1.00 M rWRU × $${PRICES.dynamodbReplicatedWriteEuWest1.usd}/M = ${dollars(rwru.usd)}`,
    );
    expect(lines[1]!.usd).toBeCloseTo(lines[1]!.quantity * PRICES.interRegionTransfer.usd, 12);
  });

  it('adds RTC per GB replicated, and nothing else, to S3 Replication', () => {
    for (const size of [1024 ** 2, 64 * 1024 ** 2, GiB]) {
      const plain = s3ReplicationLines(size, false);
      const rtc = s3ReplicationLines(size, true);
      const gb = (size * 1000) / GiB;
      expect(sum(rtc) - sum(plain)).toBeCloseTo(gb * PRICES.s3ReplicationTimeControl.usd, 10);
      // one replication PUT per object: 1,000 of them
      expect(plain[0]!.usd).toBeCloseTo(PRICES.s3ReplicationPut.usd, 12);
    }
  });

  it('shares only the shared lines between targets', () => {
    const [writes, transfer] = globalTablesLines();
    const lines = [{ ...writes!, shared: true }, transfer!];
    expect(perTarget(lines, 1)).toBeCloseTo(writes!.usd + transfer!.usd, 12);
    expect(perTarget(lines, 3)).toBeCloseTo(writes!.usd / 3 + transfer!.usd, 12);
  });

  it('prints three significant digits', () => {
    expect(sig(0.997)).toBe('0.997');
    expect(sig(3782.4)).toBe('3,782');
  });
});
