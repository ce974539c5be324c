import { describe, expect, it } from 'vitest';
import {
  canResume,
  isComplete,
  newCheckpoint,
  planSegments,
  SOURCE_SCAN,
  targetScan,
} from '../../../functions/engine/checkpoint';

describe('planSegments', () => {
  it('plans every segment from the start without a checkpoint', () => {
    expect(planSegments(3)).toEqual([{ segment: 0 }, { segment: 1 }, { segment: 2 }]);
  });

  it('skips done segments and resumes the others after their last key', () => {
    const lastKey = { pk: { S: 'k' } };
    expect(planSegments(3, [{ done: true }, { done: false, lastKey }, { done: false }])).toEqual([
      { segment: 1, startKey: lastKey },
      { segment: 2 },
    ]);
  });

  it('plans nothing when every segment is done', () => {
    expect(planSegments(2, [{ done: true }, { done: true }])).toEqual([]);
  });

  it('fails on a segment count DynamoDB does not accept', () => {
    expect(() => planSegments(0)).toThrow(
      /totalSegments must be an integer between 1 and 1000000 inclusive \(given 0\)/,
    );
    expect(() => planSegments(1.5)).toThrow(/given 1.5/);
  });

  it('fails if the checkpoint has another segment count', () => {
    expect(() => planSegments(4, [{ done: true }])).toThrow(/checkpoint has 1 segment\(s\) but the run uses 4/);
  });
});

describe('newCheckpoint', () => {
  it('starts every scan at its first page with zero counts, as plain JSON', () => {
    const cp = newCheckpoint('orders', ['eu', 'ap'], 2, 1000);
    expect(Object.keys(cp.scans)).toEqual([SOURCE_SCAN, targetScan('eu'), targetScan('ap')]);
    expect(cp.counts.eu).toEqual({
      checked: 0,
      matched: 0,
      missing: 0,
      extra: 0,
      different: 0,
      inFlight: 0,
      repaired: 0,
    });
    expect(JSON.parse(JSON.stringify(cp))).toEqual(cp);
    expect(isComplete(cp)).toBe(false);
  });

  it('is resumable only by the same pair, targets and segment count, while unfinished', () => {
    const cp = newCheckpoint('orders', ['eu', 'ap'], 2, 1000);
    expect(canResume(cp, 'orders', ['ap', 'eu'], 2)).toBe(true);
    expect(canResume(cp, 'orders', ['eu'], 2)).toBe(false);
    expect(canResume(cp, 'orders', ['eu', 'ap'], 4)).toBe(false);
    expect(canResume(cp, 'other', ['eu', 'ap'], 2)).toBe(false);
    expect(canResume({ ...cp, finishedAt: 2000 }, 'orders', ['eu', 'ap'], 2)).toBe(false);
  });
});
