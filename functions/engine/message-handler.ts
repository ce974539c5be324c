/**
 * The SQS batch adapter of every apply-like Lambda, whatever the pair type (DynamoDB apply, S3 copy): per
 * message, parse the envelopes, apply them to the targets the message is meant for, publish per-target
 * metrics, and re-send, dead-letter or fail what did not succeed (queue.ts `planMessage`). Built on
 * Powertools' BatchProcessor, so each message succeeds or fails on its own and partial batch responses
 * report the failures.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand, type SendMessageCommandInput, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { RetryableApplyError, reasonOf } from './errors';
import { logger } from './logger';
import { addMetric, metricsFor } from './metrics';
import {
  ALL_TARGETS,
  ATTEMPT_ATTR,
  deadLetterRequest,
  planMessage,
  REPAIR_ATTR,
  resendRequest,
  TARGET_ATTR,
  type TargetFailures,
} from './queue';

/** One envelope applied to a target, with what the metrics need. */
export interface AppliedResult {
  readonly bytes: number;
  /** Source write → applied, ms. */
  readonly latencyMs: number;
  /** Capture → applied, ms. */
  readonly deliveryMs: number;
  /** Only the size could be compared (S3 copies); counted as UnverifiedCopies. */
  readonly unverified?: boolean;
}

/** What applying a message's envelopes did on one target. */
export interface TargetOutcome<E> extends TargetFailures<E> {
  readonly applied: readonly AppliedResult[];
  readonly stale: readonly unknown[];
}

/** Options of {@link messageHandler}. */
export interface MessageHandlerOptions<E, T extends { readonly id: string }> {
  readonly pair: string;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly maxAttempts: number;
  readonly targets: readonly T[];
  readonly sqs: SQSClient;
  /** Parses a message body, throwing for a body that can never be applied. */
  parse(body: string): E[];
  /** Applies envelopes to the given targets; per-envelope failures are results, not throws. */
  apply(envelopes: E[], targets: readonly T[]): Promise<ReadonlyMap<string, TargetOutcome<E>>>;
}

/** Builds the Lambda handler of an apply-like function. */
export function messageHandler<E, T extends { readonly id: string }>(
  o: MessageHandlerOptions<E, T>,
): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  const metrics = new Map<string, Metrics>(o.targets.map((t) => [t.id, metricsFor({ Pair: o.pair, Target: t.id })]));
  const pairMetrics = metricsFor({ Pair: o.pair });
  const processor = new BatchProcessor(EventType.SQS);
  logger.appendKeys({ pair: o.pair });

  const emit = (result: ReadonlyMap<string, TargetOutcome<E>>, repair: boolean) => {
    for (const [targetId, r] of result) {
      const m = metrics.get(targetId)!;
      if (r.applied.length > 0) {
        addMetric(m, 'ReplicatedItems', r.applied.length);
        addMetric(
          m,
          'ReplicatedBytes',
          r.applied.reduce((s, a) => s + a.bytes, 0),
        );
        for (const a of r.applied) {
          // A repair is not a new write: its source write may be days old (see REPAIR_ATTR).
          if (!repair) addMetric(m, 'ReplicationLatency', a.latencyMs);
          addMetric(m, 'DeliveryLatency', a.deliveryMs);
        }
        const unverified = r.applied.filter((a) => a.unverified).length;
        if (unverified > 0) addMetric(m, 'UnverifiedCopies', unverified);
      }
      if (r.stale.length > 0) addMetric(m, 'StaleSkipped', r.stale.length);
      if (r.failed.length > 0) addMetric(m, 'ApplyErrors', r.failed.length);
    }
  };
  const send = async (input: SendMessageCommandInput) => {
    await o.sqs.send(new SendMessageCommand(input));
  };
  const deadLetter = async (d: {
    body: string;
    targetId: string;
    reason: string;
    errorName: string;
    attempt: number;
    count: number;
    repair?: boolean;
  }) => {
    await send(deadLetterRequest(o.dlqUrl, { ...d, pair: o.pair }));
    addMetric(metrics.get(d.targetId) ?? pairMetrics, 'DeadLettered', d.count);
    logger.error('dead-lettered', { target: d.targetId, envelopes: d.count, reason: d.reason, attempt: d.attempt });
  };

  const handleMessage = async (record: SQSRecord): Promise<void> => {
    const attempt =
      Number(record.messageAttributes[ATTEMPT_ATTR]?.stringValue ?? '0') +
      Number(record.attributes.ApproximateReceiveCount);
    let envelopes: E[];
    try {
      envelopes = o.parse(record.body);
    } catch (err) {
      // Cannot be applied as it is, ever: to the DLQ with the parse error, the body kept as it came.
      const errorName = (err as { name?: string }).name ?? 'MalformedEnvelopeError';
      await deadLetter({
        body: record.body,
        targetId: ALL_TARGETS,
        reason: reasonOf(err),
        errorName,
        attempt,
        count: 1,
      });
      return;
    }
    const only = record.messageAttributes[TARGET_ATTR]?.stringValue;
    const targets = only ? o.targets.filter((t) => t.id === only) : o.targets;
    if (targets.length === 0) {
      const reason = `unknown target "${only}" for pair ${o.pair}`;
      await deadLetter({
        body: record.body,
        targetId: only ?? ALL_TARGETS,
        reason,
        errorName: 'UnknownTarget',
        attempt,
        count: envelopes.length,
      });
      return;
    }
    const repair = record.messageAttributes[REPAIR_ATTR]?.stringValue === 'true';
    const result = await o.apply(envelopes, targets);
    emit(result, repair);
    const plan = planMessage(envelopes, result, attempt, o.maxAttempts);
    if (plan.retryWhole) {
      const first = [...result.values()].flatMap((r) => r.failed)[0];
      throw new RetryableApplyError(
        `every envelope failed (attempt ${attempt}): ${reasonOf(first?.error)}`,
        first?.error,
      );
    }
    for (const r of plan.resend) {
      await send(resendRequest(o.queueUrl, { envelopes: r.envelopes, targetId: r.targetId, attempt, repair }));
      logger.warn('re-sent failed envelopes', { target: r.targetId, envelopes: r.envelopes.length, attempt });
    }
    for (const d of plan.deadLetter) {
      const body = JSON.stringify(d.envelopes);
      await deadLetter({
        body,
        targetId: d.targetId,
        reason: d.reason,
        errorName: d.errorName,
        attempt,
        count: d.envelopes.length,
        repair,
      });
    }
  };

  return async (event, context) => {
    try {
      return await processPartialResponse(event, handleMessage, processor, { context, throwOnFullBatchFailure: false });
    } finally {
      // Only emitters that hold metrics: an empty flush makes Powertools warn on every invocation.
      for (const m of [...metrics.values(), pairMetrics]) if (m.hasStoredMetrics()) m.publishStoredMetrics();
    }
  };
}
