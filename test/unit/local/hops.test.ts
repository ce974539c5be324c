/** The local runtime's hop breakdown (src/local/hops.ts). */
import { describe, expect, it } from 'vitest';
import { HopRecorder } from '../../../src/local/hops';

describe('HopRecorder', () => {
  it('gives percentiles per function and hop, weighing a batch by its records, and forgets on reset', () => {
    const h = new HopRecorder();
    for (let i = 1; i <= 100; i++) h.add('capture', 'stream', i);
    h.add('apply', 'invoke', 40, 3);
    h.add('apply', 'queue', -5);
    const byKey = new Map(h.summary().map((s) => [`${s.fn}/${s.hop}`, s]));
    expect(byKey.get('capture/stream')).toMatchObject({ count: 100, p50: 50, p99: 99, mean: 50.5 });
    expect(byKey.get('apply/invoke')).toMatchObject({ count: 3, p50: 40, p99: 40 });
    // A clock step between hosts never makes a negative wait.
    expect(byKey.get('apply/queue')).toMatchObject({ p50: 0 });
    h.reset();
    expect(h.summary()).toEqual([]);
  });

  it('keeps only the latest samples per function and hop', () => {
    const h = new HopRecorder(3);
    for (const ms of [500, 500, 1, 2, 3]) h.add('apply', 'queue', ms);
    expect(h.summary()[0]).toMatchObject({ count: 3, p50: 2, p99: 3 });
  });
});
