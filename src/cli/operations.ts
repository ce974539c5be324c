/**
 * `replicator status` and `replicator redrive`: the operator's view of a deployed config, against real AWS
 * or the local cloud (both use the normal credential chain; `--endpoint` points the clients elsewhere).
 */
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DeleteMessageBatchCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { ERROR_ATTR, ERROR_NAME_ATTR, TARGET_ATTR } from '../../functions/shared/messages';
import { type ReplicationConfig, targetId } from '../../lib/config';
import { queueDepth } from './demo';

/** Where the CLI's clients go. */
export interface ClientOptions {
  readonly region: string;
  readonly endpoint?: string;
}

/**
 * SDK client settings for the CLI. A local endpoint (localhost) gets moto's test credentials when the
 * environment has none, so `--endpoint http://localhost:PORT` works without an AWS profile.
 */
export function clientConfig(o: ClientOptions): {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
} {
  const local = o.endpoint !== undefined && /^https?:\/\/(localhost|127\.0\.0\.1)(:|\/|$)/.test(o.endpoint);
  const hasCredentials = Boolean(process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE);
  return {
    region: o.region,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    ...(local && !hasCredentials ? { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } } : {}),
  };
}

/** One pair's status. */
export interface PairStatus {
  readonly pair: string;
  readonly queueDepth: number;
  readonly dlqDepth: number;
  readonly captureFailures: number;
  readonly targets: { target: string; replicatedLastHour: number; lagP99Ms: number | null }[];
  readonly lastReconcile: string;
}

async function lastHourMetrics(
  cw: CloudWatchClient,
  pair: string,
  target: string,
): Promise<{ items: number; p99: number | null }> {
  const end = new Date();
  const start = new Date(end.getTime() - 3600_000);
  const dims = [
    { Name: 'Pair', Value: pair },
    { Name: 'Target', Value: target },
  ];
  const res = await cw.send(
    new GetMetricDataCommand({
      StartTime: start,
      EndTime: end,
      MetricDataQueries: [
        {
          Id: 'items',
          MetricStat: {
            Metric: { Namespace: 'Replicator', MetricName: 'ReplicatedItems', Dimensions: dims },
            Period: 3600,
            Stat: 'Sum',
          },
        },
        {
          Id: 'lag',
          MetricStat: {
            Metric: { Namespace: 'Replicator', MetricName: 'ReplicationLatency', Dimensions: dims },
            Period: 3600,
            Stat: 'p99',
          },
        },
      ],
    }),
  );
  const get = (id: string) => res.MetricDataResults?.find((r) => r.Id === id)?.Values ?? [];
  const items = get('items').reduce((s, v) => s + v, 0);
  const lag = get('lag');
  return { items, p99: lag.length > 0 ? Math.max(...lag) : null };
}

/** Reads every pair's queue depths and last-hour metrics. */
export async function pairStatus(cfg: ReplicationConfig, o: ClientOptions): Promise<PairStatus[]> {
  const sqs = new SQSClient(clientConfig(o));
  const cw = new CloudWatchClient(clientConfig(o));
  return Promise.all(
    cfg.pairs.map(async (p) => {
      const [q, dlq, cap] = await Promise.all([
        queueDepth(sqs, `replicator-${p.name}`),
        queueDepth(sqs, `replicator-${p.name}-dlq`),
        queueDepth(sqs, `replicator-${p.name}-capture-failures`),
      ]);
      const targets = await Promise.all(
        p.targets.map(async (t) => {
          const m = await lastHourMetrics(cw, p.name, targetId(t));
          return { target: targetId(t), replicatedLastHour: m.items, lagP99Ms: m.p99 };
        }),
      );
      // The scheduled reconciler that fills this in is not built yet.
      return {
        pair: p.name,
        queueDepth: q.depth,
        dlqDepth: dlq.depth,
        captureFailures: cap.depth,
        targets,
        lastReconcile: 'never',
      };
    }),
  );
}

/** What a redrive moved. */
export interface RedriveResult {
  readonly moved: number;
  readonly reasons: Record<string, number>;
}

/**
 * Moves every message of a pair's DLQ back to its queue, keeping the target a message was meant for and
 * resetting its attempts; the reasons are counted so the operator sees what failed.
 */
export async function redrive(
  pair: string,
  o: ClientOptions,
  log: (l: string) => void = () => undefined,
): Promise<RedriveResult> {
  const sqs = new SQSClient(clientConfig(o));
  const dlq = await queueDepth(sqs, `replicator-${pair}-dlq`);
  const queue = await queueDepth(sqs, `replicator-${pair}`);
  const result: RedriveResult = { moved: 0, reasons: {} };
  // Only what was there at the start: a message that fails again comes back to the DLQ while we run, and
  // moving it again would loop.
  const limit = dlq.depth;
  for (let emptyPolls = 0; emptyPolls < 2 && result.moved < limit; ) {
    const res = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlq.url,
        MaxNumberOfMessages: Math.min(10, limit - result.moved),
        WaitTimeSeconds: 1,
        VisibilityTimeout: 60,
        MessageAttributeNames: ['All'],
      }),
    );
    const msgs = res.Messages ?? [];
    if (msgs.length === 0) {
      emptyPolls++;
      continue;
    }
    emptyPolls = 0;
    const entries = msgs.map((m, i) => {
      const attrs: Record<string, MessageAttributeValue> = {};
      const target = m.MessageAttributes?.[TARGET_ATTR]?.StringValue;
      if (target && target !== 'all') attrs[TARGET_ATTR] = { DataType: 'String', StringValue: target };
      const reason =
        m.MessageAttributes?.[ERROR_NAME_ATTR]?.StringValue ??
        m.MessageAttributes?.[ERROR_ATTR]?.StringValue ??
        'unknown';
      result.reasons[reason] = (result.reasons[reason] ?? 0) + 1;
      return { Id: String(i), MessageBody: m.Body!, MessageAttributes: attrs };
    });
    const sent = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: entries }));
    const ok = new Set((sent.Successful ?? []).map((s) => s.Id));
    const toDelete = msgs
      .map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! }))
      .filter((e) => ok.has(e.Id));
    if (toDelete.length > 0) await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: dlq.url, Entries: toDelete }));
    (result as { moved: number }).moved += toDelete.length;
    log(`moved ${result.moved} message(s)`);
  }
  return result;
}
