/**
 * The retry policy's backoff: doubling at first, then bounded by how long the envelope has failed, and never
 * more than SQS's 15 minutes.
 */
import { describe, expect, it } from 'vitest';
import {
  backoffCeiling,
  backoffSeconds,
  humanDuration,
  MAX_DELAY_SECONDS,
  retriesExhausted,
  YOUNG_CEILING_SECONDS,
} from '../../../functions/engine/retry';

const MIN = 60_000;

describe('backoffCeiling', () => {
  it('doubles with each attempt while the failure is young', () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffCeiling(a, 0))).toEqual([2, 4, 8, 16, 32]);
    expect(backoffCeiling(9, 0)).toBe(YOUNG_CEILING_SECONDS);
  });

  it('grows with the outage past the first steps: at most half the time failed', () => {
    // Ten minutes into an outage a step waits at most 5 minutes, so the queue drains soon after it ends.
    expect(backoffCeiling(12, 10 * MIN)).toBe(300);
    expect(backoffCeiling(7, 10 * MIN)).toBe(128);
  });

  it("never exceeds SQS's longest delay", () => {
    expect(backoffCeiling(99, 24 * 60 * MIN)).toBe(MAX_DELAY_SECONDS);
    expect(backoffCeiling(99)).toBe(MAX_DELAY_SECONDS);
  });
});

describe('backoffSeconds', () => {
  it('draws full jitter under the ceiling, in whole seconds', () => {
    expect(backoffSeconds(12, { random: () => 0 }, 10 * MIN)).toBe(0);
    expect(backoffSeconds(12, { random: () => 0.999_999 }, 10 * MIN)).toBe(300);
    expect(backoffSeconds(3, { random: () => 0.5 }, 0)).toBe(4);
  });

  it('costs few attempts over a long outage: about 20 in the first half hour, about 8 an hour after', () => {
    // The expected path: each step waits half its ceiling.
    let failedMs = 0;
    let attempt = 1;
    const attemptsAt = (untilMs: number) => {
      while (failedMs < untilMs) {
        failedMs += (backoffCeiling(attempt, failedMs) / 2) * 1000;
        attempt += 1;
      }
      return attempt;
    };
    const halfHour = attemptsAt(30 * MIN);
    expect(halfHour).toBeGreaterThan(12);
    expect(halfHour).toBeLessThan(25);
    expect(attemptsAt(90 * MIN) - halfHour).toBeLessThanOrEqual(9);
  });
});

describe('retriesExhausted', () => {
  const policy = { maxAttempts: 5, retryForMs: 60 * MIN };
  it('gives every envelope maxAttempts, transient failures retryFor as well', () => {
    expect(retriesExhausted({ attempt: 4, transient: false, failingForMs: 0 }, policy)).toBe(false);
    expect(retriesExhausted({ attempt: 5, transient: false, failingForMs: 0 }, policy)).toBe(true);
    expect(retriesExhausted({ attempt: 50, transient: true, failingForMs: 59 * MIN }, policy)).toBe(false);
    expect(retriesExhausted({ attempt: 50, transient: true, failingForMs: 60 * MIN }, policy)).toBe(true);
  });
});

describe('humanDuration', () => {
  it('says a duration as the dead-letter reasons do', () => {
    expect([45_000, 12 * MIN, 185 * MIN, 52 * 60 * MIN].map(humanDuration)).toEqual([
      '45 s',
      '12 min',
      '3 h 5 min',
      '2 d 4 h',
    ]);
  });
});
