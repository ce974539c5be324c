/**
 * The retry policy of apply and copy, whatever the pair type (DESIGN.md: "Retryable failures back off
 * exponentially with jitter, capped at 15 minutes a step, for as long as the pair's retryFor allows").
 *
 * - Poison (can never apply) is dead-lettered at once.
 * - Transient failures — the service or the region is unavailable: throttling, 5xx, timeouts, connection
 *   resets, access denied while a role propagates — are retried for as long as `retryFor` allows, counted from
 *   the envelope's first failure, and then dead-lettered. A region that is down for an hour costs an hour of
 *   delay, not a redrive.
 * - Other retryable failures (a copy that does not verify, a conditional write lost too often) are about the
 *   data, not the service: they are retried `maxAttempts` times.
 * Either way an envelope gets at least `maxAttempts` attempts. Every retry is a re-send of the failed
 * envelopes with a delay (SQS's DelaySeconds) of full jitter under {@link backoffCeiling}, so no failure
 * waits for the queue's visibility timeout.
 */

/** SQS's longest DelaySeconds, and the cap of one backoff step. */
export const MAX_DELAY_SECONDS = 900;

/** How an applier retries. */
export interface RetryPolicy {
  /** Attempts an envelope gets at least (all of them, for failures that are about the data). */
  readonly maxAttempts: number;
  /** How long transient failures are retried, from an envelope's first failure (ms). */
  readonly retryForMs: number;
  /** A number in [0, 1): the jitter. @default - Math.random */
  readonly random?: () => number;
}

/** The ceiling every step may reach, however young the failure: the first five steps double up to it. */
export const YOUNG_CEILING_SECONDS = 32;

/**
 * The longest delay before attempt `attempt + 1`, in seconds: `min(15 min, 2^attempt s, max(32 s, half the
 * time the envelope has been failing))`. Bounding a step by the failure's age is what makes the queue drain
 * soon after a region returns: a change that has waited for a 10-minute outage then waits at most 5 more
 * minutes, not 15, while retries still thin out as an outage goes on (each step adds about a quarter to the
 * time failed, so a 30-minute outage costs about 20 attempts, and each hour after it about 8).
 */
export function backoffCeiling(attempt: number, failingForMs = Number.POSITIVE_INFINITY): number {
  const byAge = Math.max(YOUNG_CEILING_SECONDS, failingForMs / 2000);
  return Math.min(MAX_DELAY_SECONDS, 2 ** Math.max(0, attempt), byAge);
}

/** The delay before attempt `attempt + 1`: full jitter under {@link backoffCeiling}, in whole seconds. */
export function backoffSeconds(
  attempt: number,
  policy: Pick<RetryPolicy, 'random'> = {},
  failingForMs = Number.POSITIVE_INFINITY,
): number {
  const ceiling = backoffCeiling(attempt, failingForMs);
  return Math.min(MAX_DELAY_SECONDS, Math.floor((policy.random ?? Math.random)() * (ceiling + 1)));
}

/** Whether an envelope that failed again is out of retries. */
export function retriesExhausted(
  o: { readonly attempt: number; readonly transient: boolean; readonly failingForMs: number },
  policy: RetryPolicy,
): boolean {
  if (o.attempt < policy.maxAttempts) return false;
  return !o.transient || o.failingForMs >= policy.retryForMs;
}

/** A duration as the dead-letter reasons say it: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`;
}
