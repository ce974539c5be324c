/**
 * Per-target circuit breakers of an applier (held per container): a target whose every write failed
 * transiently in `threshold` messages in a row is left alone for a while, its envelopes re-sent with backoff
 * straight away instead of being tried, so a region that is down costs SQS requests only, not a request to
 * the region per envelope per retry. The first message after the pause probes the target; one success closes
 * the circuit.
 */
import { RetryableApplyError } from './errors';

/** The longest a circuit stays open before a message probes the target again. */
export const MAX_OPEN_SECONDS = 60;

/** How the breakers trip and how long they stay open. */
export interface CircuitOptions {
  /** Messages in a row whose every write to the target failed transiently, before the circuit opens. @default 3 */
  readonly threshold?: number;
  /** Clock (epoch ms). @default - Date.now */
  readonly now?: () => number;
}

/** A target's writes were not tried: its circuit is open. Transient: the envelopes are re-sent with backoff. */
export class CircuitOpenError extends RetryableApplyError {
  constructor(message: string) {
    super(message);
    this.name = 'CircuitOpenError';
  }
}

interface CircuitState {
  failures: number;
  openUntil: number;
  lastReason: string;
}

/** The breakers of one applier's targets. */
export class CircuitBreakers {
  private readonly states = new Map<string, CircuitState>();
  private readonly threshold: number;
  private readonly now: () => number;

  constructor(opts: CircuitOptions = {}) {
    this.threshold = opts.threshold ?? 3;
    this.now = opts.now ?? Date.now;
  }

  /** The error to fail a target's envelopes with while its circuit is open; undefined when it is closed. */
  openError(targetId: string): CircuitOpenError | undefined {
    const s = this.states.get(targetId);
    if (!s || s.openUntil <= this.now()) return undefined;
    return new CircuitOpenError(
      `not tried: ${s.failures} message(s) in a row failed on this target (last: ${s.lastReason}); next probe in ${Math.ceil((s.openUntil - this.now()) / 1000)} s`,
    );
  }

  /** Records what a message did on a target: some write succeeded, or every write failed transiently. */
  record(targetId: string, outcome: { readonly ok: boolean; readonly reason?: string }): void {
    if (outcome.ok) {
      this.states.delete(targetId);
      return;
    }
    const s = this.states.get(targetId) ?? { failures: 0, openUntil: 0, lastReason: '' };
    s.failures += 1;
    s.lastReason = outcome.reason ?? s.lastReason;
    if (s.failures >= this.threshold) {
      // Open for 2^(failures past the threshold) seconds, at most a minute: the envelopes themselves back off
      // for longer, and a region that is back should be tried again soon.
      s.openUntil = this.now() + Math.min(MAX_OPEN_SECONDS, 2 ** (s.failures - this.threshold + 1)) * 1000;
    }
    this.states.set(targetId, s);
  }
}
