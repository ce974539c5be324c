/**
 * Metrics of the functions: EMF through Powertools, with the names, units and dimensions of the contract's
 * catalogue (functions/contract.ts), so a metric cannot be published under a name or unit the alarms, the
 * dashboard and `replicator status` do not know.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS, METRICS_NAMESPACE, type MetricName } from '../contract';

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

/** Adds one value of a catalogued metric, in the catalogue's unit. */
export function addMetric(metrics: Metrics, name: MetricName, value: number): void {
  metrics.addMetric(name, METRICS[name].unit, value);
}
