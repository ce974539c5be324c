/**
 * The waiting loop of `waitForReplication`, whatever the pair type: each target has a checker that reads the
 * target directly (never the queues) and says how many of the wanted keys it does not hold yet; the loop asks
 * every target that still lags, once per attempt, with backoff between attempts, until none lags or the time
 * is up. A pair type brings only its checkers (dynamodb.ts, s3.ts).
 */

/** One target's side of a wait: how many wanted keys it still lacks (each call is one attempt's reads). */
export interface TargetChecker {
  /** The target's id (`region/table`, `region/bucket`, with its account when it names one). */
  readonly target: string;
  /** Reads the target; returns the keys still pending (0: it holds every wanted version, or a newer one). */
  check(): Promise<number>;
}

/** A target that did not hold every wanted version when the time was up. */
export interface LaggingTarget {
  readonly target: string;
  /** Keys still pending at the last attempt that answered (all of them when none did). */
  readonly pending: number;
  /** The last attempt's error, when the target could not be read (unreachable, denied). */
  readonly error?: string;
}

/** What a wait did. */
export interface WaitResult {
  readonly attempts: number;
  readonly elapsedMs: number;
  /** Keys each target was asked for. */
  readonly keys: number;
}

/** The wait's time is up and some target still lags. */
export class ReplicationTimeoutError extends Error {
  constructor(
    readonly lagging: readonly LaggingTarget[],
    readonly elapsedMs: number,
  ) {
    super(
      `not replicated after ${(elapsedMs / 1000).toFixed(1)} s: ${lagging
        .map((l) => `${l.target} (${l.pending} key(s) pending${l.error ? `; last error: ${l.error}` : ''})`)
        .join(', ')}`,
    );
    this.name = 'ReplicationTimeoutError';
  }
}

/** A wait that cannot be run as asked (a key the pair never copies, no keys): nothing was read. */
export class WaitUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WaitUsageError';
  }
}

/** How long a wait goes on and how it paces its attempts. */
export interface WaitTiming {
  /** Give up after this long. @default 60000 */
  readonly timeoutMs?: number;
  /** First pause between attempts, growing by half each time. @default 100 */
  readonly initialDelayMs?: number;
  /** Longest pause between attempts. @default 2000 */
  readonly maxDelayMs?: number;
  /** Called after every attempt with the targets that still lag. */
  readonly onAttempt?: (lagging: readonly LaggingTarget[]) => void;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const firstLine = (err: unknown) => {
  const e = err as { name?: string; message?: string };
  const line = `${e.name ?? 'Error'}: ${(e.message ?? String(err)).split('\n')[0]}`;
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
};

/** Asks every lagging target once per attempt until none lags; throws {@link ReplicationTimeoutError} at the end. */
export async function waitUntilHeld(
  checkers: readonly TargetChecker[],
  keys: number,
  t: WaitTiming = {},
): Promise<WaitResult> {
  const now = t.now ?? Date.now;
  const sleep = t.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = now();
  const deadline = started + (t.timeoutMs ?? 60_000);
  const state = new Map(checkers.map((c) => [c.target, { pending: keys } as { pending: number; error?: string }]));
  let open = [...checkers];
  let delay = t.initialDelayMs ?? 100;
  for (let attempts = 1; ; attempts++) {
    await Promise.all(
      open.map(async (c) => {
        const s = state.get(c.target)!;
        try {
          s.pending = await c.check();
          s.error = undefined;
        } catch (err) {
          s.error = firstLine(err);
        }
      }),
    );
    open = open.filter((c) => {
      const s = state.get(c.target)!;
      return s.pending > 0 || s.error !== undefined;
    });
    const lagging = open.map((c) => ({ target: c.target, ...state.get(c.target)! }));
    t.onAttempt?.(lagging);
    if (open.length === 0) return { attempts, elapsedMs: now() - started, keys };
    if (now() + delay > deadline) throw new ReplicationTimeoutError(lagging, now() - started);
    await sleep(delay);
    delay = Math.min(t.maxDelayMs ?? 2_000, Math.ceil(delay * 1.5));
  }
}
