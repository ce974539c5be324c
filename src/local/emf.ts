/**
 * CloudWatch Embedded Metric Format: what Lambda's log pipeline does with EMF lines a handler prints,
 * done locally by parsing the line and calling PutMetricData against the local cloud.
 */
import {
  type CloudWatchClient,
  type MetricDatum,
  PutMetricDataCommand,
  type StandardUnit,
} from '@aws-sdk/client-cloudwatch';

/** One metric directive of an EMF record. */
export interface EmfMetricDirective {
  readonly Namespace: string;
  readonly Dimensions: string[][];
  readonly Metrics: { readonly Name: string; readonly Unit?: string; readonly StorageResolution?: number }[];
}

/** A parsed EMF log record: the `_aws` metadata plus the dimension and metric values at the root. */
export interface EmfRecord {
  readonly _aws: { readonly Timestamp: number; readonly CloudWatchMetrics: EmfMetricDirective[] };
  readonly [key: string]: unknown;
}

/** PutMetricData input for one namespace. */
export interface EmfMetricBatch {
  readonly namespace: string;
  readonly data: MetricDatum[];
}

/** PutMetricData takes at most this many data points a call, and this many values a datum. */
const MAX_DATA_PER_CALL = 1000;
const MAX_VALUES_PER_DATUM = 150;

/** Parses a log line as an EMF record, or returns undefined if it is not one. */
export function parseEmfLine(line: string): EmfRecord | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{') || !trimmed.includes('CloudWatchMetrics')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
  const aws = (parsed as { _aws?: { CloudWatchMetrics?: unknown } } | null)?._aws;
  return Array.isArray(aws?.CloudWatchMetrics) ? (parsed as EmfRecord) : undefined;
}

/**
 * The metric data an EMF record stands for: one datum per metric and dimension set, values arrays kept
 * as `Values` (in chunks of 150), the record's timestamp, unit and storage resolution.
 */
export function emfToMetricData(record: EmfRecord): EmfMetricBatch[] {
  const timestamp = new Date(typeof record._aws.Timestamp === 'number' ? record._aws.Timestamp : Date.now());
  const batches: EmfMetricBatch[] = [];
  for (const directive of record._aws.CloudWatchMetrics) {
    const data: MetricDatum[] = [];
    const dimensionSets = directive.Dimensions?.length ? directive.Dimensions : [[]];
    for (const set of dimensionSets) {
      // A dimension without a value at the root makes CloudWatch drop the set: do the same.
      if (set.some((name) => record[name] === undefined)) continue;
      const dimensions = set.map((name) => ({ Name: name, Value: String(record[name]) }));
      for (const metric of directive.Metrics ?? []) {
        const raw = record[metric.Name];
        const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number');
        for (let i = 0; i < values.length; i += MAX_VALUES_PER_DATUM) {
          const chunk = values.slice(i, i + MAX_VALUES_PER_DATUM);
          data.push({
            MetricName: metric.Name,
            Dimensions: dimensions,
            Timestamp: timestamp,
            ...(metric.Unit !== undefined ? { Unit: metric.Unit as StandardUnit } : {}),
            ...(metric.StorageResolution !== undefined ? { StorageResolution: metric.StorageResolution } : {}),
            ...(chunk.length === 1 ? { Value: chunk[0] } : { Values: chunk }),
          });
        }
      }
    }
    if (data.length > 0) batches.push({ namespace: directive.Namespace, data });
  }
  return batches;
}

/** Sends an EMF record's metrics to CloudWatch with PutMetricData. */
export async function putEmfMetrics(client: CloudWatchClient, record: EmfRecord): Promise<number> {
  let sent = 0;
  for (const batch of emfToMetricData(record)) {
    for (let i = 0; i < batch.data.length; i += MAX_DATA_PER_CALL) {
      const data = batch.data.slice(i, i + MAX_DATA_PER_CALL);
      await client.send(new PutMetricDataCommand({ Namespace: batch.namespace, MetricData: data }));
      sent += data.length;
    }
  }
  return sent;
}
