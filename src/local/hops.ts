/**
 * Where a change waits on its way through the local cloud, hop by hop, as the event source mappings see it
 * (what Lambda's pollers do on AWS):
 * - a stream mapping: `stream` (record written → read by the poller: its ApproximateCreationDateTime, which
 *   moto gives in ms, to the GetRecords that returned it), `window` (read → function invoked: the batching
 *   window and a busy shard), `invoke` (the function's run, e.g. capture packing and sending to SQS);
 * - an SQS mapping: `queue` (SentTimestamp → received by the poller), `window` (received → invoked: the
 *   batching window), `invoke` (the function's run, e.g. apply writing the targets).
 * Samples are per record (so a batch of 100 weighs 100), `invoke` once per record of the batch it ran.
 */

/** The hops a mapping's records pass. */
export type Hop = 'stream' | 'queue' | 'window' | 'invoke';

/** Percentiles of one hop of one function, ms. */
export interface HopSummary {
  readonly fn: string;
  readonly hop: Hop;
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
}

/** Samples kept per function and hop: the latest ones, so a long `replicator local` run stays bounded. */
export const MAX_HOP_SAMPLES = 100_000;

/** Collects hop samples per function. */
export class HopRecorder {
  /** Per function and hop: a ring of the latest samples, and how many were ever added. */
  private readonly samples = new Map<string, { values: number[]; added: number }>();

  constructor(private readonly capacity = MAX_HOP_SAMPLES) {}

  /** Adds `ms` for each of `count` records of function `fn`. */
  add(fn: string, hop: Hop, ms: number, count = 1): void {
    const key = `${fn}\u0000${hop}`;
    let ring = this.samples.get(key);
    if (ring === undefined) {
      ring = { values: [], added: 0 };
      this.samples.set(key, ring);
    }
    const value = Math.max(0, ms);
    for (let i = 0; i < count; i++) {
      if (ring.values.length < this.capacity) ring.values.push(value);
      else ring.values[ring.added % this.capacity] = value;
      ring.added++;
    }
  }

  /** Forgets every sample (e.g. between a benchmark's phases). */
  reset(): void {
    this.samples.clear();
  }

  /** Every function's hops, with percentiles over the latest samples since the last reset. */
  summary(): HopSummary[] {
    return [...this.samples].map(([key, ring]) => {
      const [fn, hop] = key.split('\u0000') as [string, Hop];
      const sorted = [...ring.values].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
      return {
        fn,
        hop,
        count: sorted.length,
        p50: at(0.5),
        p99: at(0.99),
        mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
      };
    });
  }
}
