/**
 * Collects the metrics that handlers print as EMF lines (the local runtime hands each record over), so the
 * demo and the benchmarks can read lag and counts without waiting for CloudWatch aggregation.
 */
import type { MetricName } from '../../functions/contract';

/** One metric value with its dimensions. */
export interface MetricPoint {
  readonly name: string;
  readonly value: number;
  readonly dimensions: Readonly<Record<string, string>>;
}

interface EmfLike {
  _aws?: { CloudWatchMetrics?: { Dimensions?: string[][]; Metrics?: { Name: string }[] }[] };
  [key: string]: unknown;
}

/** Keeps every metric value seen, by name. */
export class MetricsCollector {
  private readonly points: MetricPoint[] = [];

  /** Adds the values of one EMF record. */
  add(emf: unknown): void {
    const rec = emf as EmfLike;
    for (const directive of rec._aws?.CloudWatchMetrics ?? []) {
      const dimNames = [...new Set((directive.Dimensions ?? []).flat())];
      const dimensions = Object.fromEntries(dimNames.map((d) => [d, String(rec[d] ?? '')]));
      for (const m of directive.Metrics ?? []) {
        const raw = rec[m.Name];
        const values = Array.isArray(raw) ? raw : [raw];
        for (const v of values) if (typeof v === 'number') this.points.push({ name: m.Name, value: v, dimensions });
      }
    }
  }

  /** Values of a metric whose dimensions include every given one. */
  values(name: MetricName, where: Record<string, string> = {}): number[] {
    return this.points
      .filter((p) => p.name === name && Object.entries(where).every(([k, v]) => p.dimensions[k] === v))
      .map((p) => p.value);
  }

  /** Sum of a metric's values. */
  sum(name: MetricName, where: Record<string, string> = {}): number {
    return this.values(name, where).reduce((s, v) => s + v, 0);
  }

  /** Forgets everything collected so far. */
  clear(): void {
    this.points.length = 0;
  }
}
