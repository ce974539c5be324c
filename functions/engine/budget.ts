/**
 * The read budget: a token bucket of read units per second (DynamoDB read capacity units, or S3 requests),
 * shared by every read of a reconcile run, so reconciliation never starves the application.
 *
 * Reads are charged after they happen (their size is known only then): the bucket may go into debt, and
 * the next read waits until the debt is paid back. The long-run rate is therefore `readRate`, with bursts
 * of at most `burst` units.
 */
import { realSleep } from './concurrency';

/** Options of {@link ReadBudget}. */
export interface ReadBudgetOptions {
  /** Read capacity units per second, > 0. */
  readonly readRate: number;
  /** Units that may be spent at once after an idle spell. @default - one second's worth (`readRate`) */
  readonly burst?: number;
  /** Clock (epoch ms). @default - Date.now */
  readonly now?: () => number;
  /** Waits this many ms. @default - setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** A `readRate` that is not a positive finite number. */
export class InvalidReadRateError extends Error {
  constructor(given: number) {
    super(`readRate must be a positive number of read units per second (given ${given})`);
    this.name = 'InvalidReadRateError';
  }
}

/** A token bucket of read capacity units. */
export class ReadBudget {
  private tokens: number;
  private last: number;
  private readonly rate: number;
  private readonly burst: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Units charged so far. */
  spent = 0;
  /** Time spent waiting for the budget so far (ms). */
  waitedMs = 0;

  constructor(opts: ReadBudgetOptions) {
    if (!(opts.readRate > 0) || !Number.isFinite(opts.readRate)) throw new InvalidReadRateError(opts.readRate);
    this.rate = opts.readRate;
    this.burst = opts.burst ?? opts.readRate;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? realSleep;
    this.tokens = this.burst;
    this.last = this.now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
  }

  /** Waits until the bucket is out of debt (call before a read). */
  async acquire(): Promise<void> {
    for (;;) {
      this.refill();
      if (this.tokens >= 0) return;
      const ms = Math.ceil((-this.tokens / this.rate) * 1000);
      this.waitedMs += ms;
      await this.sleep(ms);
    }
  }

  /** Charges the units a read consumed (may leave the bucket in debt). */
  charge(units: number): void {
    this.refill();
    this.tokens -= units;
    this.spent += units;
  }
}
