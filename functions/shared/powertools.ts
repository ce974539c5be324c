/**
 * Powertools logger and metrics, built once per container. Logs never carry item payloads: only pair,
 * counts, keys' hashes and error reasons.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** Metric namespace of every Replicator metric (DESIGN.md, Metrics). */
export const METRICS_NAMESPACE = 'Replicator';

/** The function's logger. */
export const logger = new Logger();

/**
 * A metrics emitter whose every metric carries exactly these dimensions (Pair, and Target where it applies).
 * Powertools adds a `service` dimension by default; it is removed, since CloudWatch matches dimension sets
 * exactly: the alarms, the dashboard and `replicator status` ask for (Pair) or (Pair, Target), and would see
 * no data points at all under (service, Pair, Target).
 */
export function metricsFor(dimensions: Record<string, string>): Metrics {
  const m = new Metrics({ namespace: METRICS_NAMESPACE });
  m.clearDefaultDimensions();
  m.setDefaultDimensions(dimensions);
  return m;
}
