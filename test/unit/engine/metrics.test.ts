import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { metricsFor } from '../../../functions/engine/metrics';

describe('metricsFor', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('emits exactly the given dimensions: no `service`, which would hide the data from the alarms', () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    });
    const m = metricsFor({ Pair: 'orders', Target: 'eu-west-1/orders' });
    m.addMetric('ReplicatedItems', MetricUnit.Count, 3);
    m.publishStoredMetrics();
    const emf = lines.map((l) => l.trim()).find((l) => l.includes('CloudWatchMetrics'));
    expect(emf).toBeDefined();
    const record = JSON.parse(emf!);
    expect(record._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'Replicator',
      Dimensions: [['Pair', 'Target']],
    });
    expect(record).not.toHaveProperty('service');
    expect(record).toMatchObject({ Pair: 'orders', Target: 'eu-west-1/orders', ReplicatedItems: 3 });
  });
});
