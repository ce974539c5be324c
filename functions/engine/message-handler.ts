/**
 * The SQS batch adapter of every apply-like Lambda, whatever the pair type (DynamoDB apply, S3 copy): per
 * message, parse the envelopes, apply them to the targets the message is meant for, publish per-target
 * metrics, and re-send, dead-letter or fail what did not succeed (queue.ts `planMessage`). Built on
 * Powertools' BatchProcessor, so each message succeeds or fails on its own and partial batch responses
 * report the failures. Writes still unanswered near the function's timeout are abandoned and their envelopes
 * re-sent, so a slow target never makes Lambda end the invocation mid-batch (engine/deadline.ts).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand, type SendMessageCommandInput, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { CircuitBreakers, type CircuitOpenError } from './circuit';
import { DeadlineExceededError, deadlineFor, setInvocationDeadline } from './deadline';
import { errorSummary, isTransient, RetryableApplyError, reasonOf } from './errors';
import { logger } from './logger';
import { addMetric, metricsFor } from './metrics';
import {
  ALL_TARGETS,
  ATTEMPT_ATTR,
  deadLetterRequest,
  failureReason,
  planMessage,
  REPAIR_ATTR,
  resendRequest,
  SINCE_ATTR,
  TARGET_ATTR,
  type TargetFailures,
} from './queue';
import type { RetryPolicy } from './retry';

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
  /** How failed envelopes are retried (engine/retry.ts). */
  readonly retry: RetryPolicy;
  readonly targets: readonly T[];
  readonly sqs: SQSClient;
  /** Parses a message body, throwing for a body that can never be applied. */
  parse(body: string): E[];
  /** Applies envelopes to the given targets; per-envelope failures are results, not throws. */
  apply(envelopes: E[], targets: readonly T[]): Promise<ReadonlyMap<string, TargetOutcome<E>>>;
}

/** Builds the Lambda handler of an apply-like function. */
export function messageHandler<E extends { readonly capturedAt: number }, T extends { readonly id: string }>(
  o: MessageHandlerOptions<E, T>,
): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  const metrics = new Map<string, Metrics>(o.targets.map((t) => [t.id, metricsFor({ Pair: o.pair, Target: t.id })]));
  const pairMetrics = metricsFor({ Pair: o.pair });
  const processor = new BatchProcessor(EventType.SQS);
  const breakers = new CircuitBreakers();
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
    const sinceText = record.messageAttributes[SINCE_ATTR]?.stringValue;
    const now = Date.now();
    // Targets whose circuit is open are not tried: their envelopes fail with the circuit's reason.
    const open = new Map<string, CircuitOpenError>();
    for (const t of targets) {
      const err = breakers.openError(t.id);
      if (err) open.set(t.id, err);
    }
    const tried = targets.filter((t) => !open.has(t.id));
    const applied = tried.length > 0 ? await o.apply(envelopes, tried) : new Map<string, TargetOutcome<E>>();
    const result = new Map<string, TargetOutcome<E>>(applied);
    for (const [id, error] of open) {
      result.set(id, {
        applied: [],
        stale: [],
        failed: envelopes.map((envelope) => ({ envelope, error, poison: false, site: `target ${id}` })),
      });
    }
    emit(result, repair);
    for (const [id, r] of applied) {
      // Writes the invocation's own deadline cut off say nothing of the target's health.
      if (r.failed.some((f) => f.error instanceof DeadlineExceededError)) continue;
      const everyWriteFailed = r.applied.length === 0 && r.stale.length === 0 && r.failed.length > 0;
      if (everyWriteFailed && r.failed.every((f) => !f.poison && isTransient(f.error))) {
        breakers.record(id, { ok: false, reason: failureReason(r.failed[0]!) });
      } else if (!everyWriteFailed) breakers.record(id, { ok: true });
    }
    const plan = planMessage(
      envelopes,
      result,
      { attempt, now, ...(sinceText !== undefined ? { since: Number(sinceText) } : {}) },
      o.retry,
    );
    const since = sinceText !== undefined ? Number(sinceText) : now;
    for (const r of plan.resend) {
      // A message that was meant for one target stays meant for it.
      const targetId = r.targetId ?? only;
      try {
        await send(
          resendRequest(o.queueUrl, {
            envelopes: r.envelopes,
            ...(targetId !== undefined ? { targetId } : {}),
            attempt,
            since,
            delaySeconds: r.delaySeconds,
            repair,
          }),
        );
      } catch (err) {
        // The pair queue is out of reach: SQS delivers the whole message again after its visibility timeout.
        throw new RetryableApplyError(`re-send of ${r.envelopes.length} envelope(s) failed: ${errorSummary(err)}`, err);
      }
      // The backlog a target's retries hold: how many envelopes wait, and the oldest change among them.
      const oldestMs = Math.max(0, ...r.envelopes.map((e) => now - e.capturedAt));
      for (const id of r.targetId !== undefined ? [r.targetId] : [...result.keys()]) {
        const m = metrics.get(id);
        if (!m) continue;
        addMetric(m, 'BacklogEnvelopes', r.envelopes.length);
        addMetric(m, 'BacklogAge', oldestMs);
      }
      logger.warn('re-sent failed envelopes', {
        target: targetId ?? ALL_TARGETS,
        envelopes: r.envelopes.length,
        attempt,
        delaySeconds: r.delaySeconds,
        reason: r.reason,
      });
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
    // Writes still unanswered shortly before Lambda's timeout are abandoned and re-sent (engine/deadline.ts).
    setInvocationDeadline(deadlineFor(Date.now(), context.getRemainingTimeInMillis()));
    try {
      return await processPartialResponse(event, handleMessage, processor, { context, throwOnFullBatchFailure: false });
    } finally {
      setInvocationDeadline(undefined);
      // Only emitters that hold metrics: an empty flush makes Powertools warn on every invocation.
      for (const m of [...metrics.values(), pairMetrics]) if (m.hasStoredMetrics()) m.publishStoredMetrics();
    }
  };
}
