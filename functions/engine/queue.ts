/**
 * The engine's queue side, whatever the pair type: packing envelopes into SQS messages and sending them in
 * batches (capture, repairs, backfill), the message attributes the envelope contract has no room for, the
 * re-send and dead-letter requests, and {@link planMessage}, which decides a message's fate after apply/copy.
 */
import type {
  MessageAttributeValue,
  SendMessageBatchRequestEntry,
  SendMessageCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { byteLength } from './envelope';
import { errorSummary, isTransient, nameOf, reasonOf } from './errors';
import { backoffSeconds, humanDuration, type RetryPolicy, retriesExhausted } from './retry';

/** SQS's limit for one message, and for the sum of the messages of one SendMessageBatch call. */
export const SQS_MAX_BYTES = 262_144;
/** Room kept for message attributes and the array's commas when packing envelopes into one message. */
export const PACK_HEADROOM = 4_096;

/** How envelopes are packed into messages. */
export interface PackOptions {
  /** Envelopes packed into one SQS message at most. */
  readonly envelopesPerMessage: number;
  /** Bytes of one message body at most. @default - SQS's 256 KiB less headroom for attributes */
  readonly maxMessageBytes?: number;
}

/** What packing needs of an envelope of any pair type: the record it came from, the envelope, its JSON size. */
export interface Packable {
  readonly recordId: string;
  readonly envelope: unknown;
  readonly bytes: number;
}

/** One SQS message: a body holding one or more envelopes, and the records those came from. */
export interface PackedMessage {
  readonly body: string;
  readonly bytes: number;
  readonly recordIds: readonly string[];
  readonly envelopeCount: number;
}

/** What capture made of a batch of source records (stream records, event messages). */
export interface CaptureBatch<P extends Packable = Packable> {
  readonly envelopes: P[];
  /** Records deliberately not replicated (e.g. writes Replicator itself made), with why. */
  readonly skipped: { recordId: string; reason: string }[];
  /** Records that could not be turned into an envelope (reported as batch item failures). */
  readonly invalid: { recordId: string; reason: string }[];
}

/**
 * Packs envelopes into as few messages as the limits allow, keeping stream order. A message holds at most
 * `envelopesPerMessage` envelopes and `maxMessageBytes` bytes; a lone envelope travels as an object, several
 * as a JSON array.
 */
export function packMessages(envelopes: readonly Packable[], opts: PackOptions): PackedMessage[] {
  const maxBytes = (opts.maxMessageBytes ?? SQS_MAX_BYTES) - PACK_HEADROOM;
  const messages: PackedMessage[] = [];
  let current: Packable[] = [];
  let currentBytes = 2;
  const flush = () => {
    if (current.length === 0) return;
    const body =
      current.length === 1 ? JSON.stringify(current[0]!.envelope) : JSON.stringify(current.map((c) => c.envelope));
    messages.push({
      body,
      bytes: byteLength(body),
      recordIds: current.map((c) => c.recordId),
      envelopeCount: current.length,
    });
    current = [];
    currentBytes = 2;
  };
  for (const e of envelopes) {
    if (current.length >= opts.envelopesPerMessage || currentBytes + e.bytes + 1 > maxBytes) flush();
    current.push(e);
    currentBytes += e.bytes + 1;
  }
  flush();
  return messages;
}

/** Groups messages into SendMessageBatch calls: 10 entries and 256 KiB in all at most per call. */
export function planBatches(messages: readonly PackedMessage[]): PackedMessage[][] {
  const batches: PackedMessage[][] = [];
  let current: PackedMessage[] = [];
  let bytes = 0;
  for (const m of messages) {
    if (current.length === 10 || (current.length > 0 && bytes + m.bytes > SQS_MAX_BYTES - PACK_HEADROOM)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += m.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** What sending a batch of messages achieved. */
export interface SendResult {
  readonly sentMessages: number;
  readonly sentEnvelopes: number;
  readonly requests: number;
  /** Records whose envelopes could not be enqueued, each with the reason. */
  readonly failed: { recordId: string; reason: string }[];
}

/** Sends packed messages with SendMessageBatch; reports the records of every message that was not accepted. */
export async function sendMessages(
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly PackedMessage[],
  /** Message attributes of every message (e.g. `rep-target` for a repair meant for one target). */
  attributes?: Record<string, MessageAttributeValue>,
): Promise<SendResult> {
  const result: SendResult = { sentMessages: 0, sentEnvelopes: 0, requests: 0, failed: [] };
  const batches = planBatches(messages);
  await Promise.all(
    batches.map(async (batch) => {
      const entries: SendMessageBatchRequestEntry[] = batch.map((m, i) => ({
        Id: String(i),
        MessageBody: m.body,
        ...(attributes ? { MessageAttributes: attributes } : {}),
      }));
      (result as { requests: number }).requests++;
      try {
        const res = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
        const failedIds = new Map((res.Failed ?? []).map((f) => [f.Id, `${f.Code}: ${f.Message ?? ''}`]));
        batch.forEach((m, i) => {
          const reason = failedIds.get(String(i));
          if (reason !== undefined) {
            for (const recordId of m.recordIds) result.failed.push({ recordId, reason });
          } else {
            (result as { sentMessages: number }).sentMessages++;
            (result as { sentEnvelopes: number }).sentEnvelopes += m.envelopeCount;
          }
        });
      } catch (err) {
        const reason = reasonOf(err);
        for (const m of batch) for (const recordId of m.recordIds) result.failed.push({ recordId, reason });
      }
    }),
  );
  return result;
}

/** Restricts a message to one target (a re-send after a partial failure, or a redriven dead letter). */
export const TARGET_ATTR = 'rep-target';
/** Attempts made before this message was (re-)sent. */
export const ATTEMPT_ATTR = 'rep-attempt';
/** Re-sends: when the envelopes first failed (epoch ms); the retry policy's retryFor counts from it. */
export const SINCE_ATTR = 'rep-since';
/** Dead letters: the last error's message. */
export const ERROR_ATTR = 'rep-error';
/** Dead letters: the last error's name. */
export const ERROR_NAME_ATTR = 'rep-error-name';
/** Dead letters: the pair. */
export const PAIR_ATTR = 'rep-pair';
/**
 * Repairs (reconcile): `true` on messages that re-send the source's state of a difference reconcile found.
 * Their changes are not new writes: no ReplicationLatency is recorded for them (a repaired object may have
 * been written days ago), only DeliveryLatency.
 */
export const REPAIR_ATTR = 'rep-repair';
/** Target id meaning every target of the pair. */
export const ALL_TARGETS = 'all';

/** What a dead letter says. */
export interface DeadLetter {
  readonly body: string;
  readonly pair: string;
  readonly targetId: string;
  readonly reason: string;
  readonly errorName: string;
  readonly attempt: number;
  /** A repair's envelopes (kept through a redrive). */
  readonly repair?: boolean;
}

/** The SendMessage request that dead-letters a body with its reason. */
export function deadLetterRequest(dlqUrl: string, d: DeadLetter): SendMessageCommandInput {
  return {
    QueueUrl: dlqUrl,
    MessageBody: d.body,
    MessageAttributes: {
      [PAIR_ATTR]: { DataType: 'String', StringValue: d.pair },
      [TARGET_ATTR]: { DataType: 'String', StringValue: d.targetId },
      [ERROR_ATTR]: { DataType: 'String', StringValue: d.reason },
      [ERROR_NAME_ATTR]: { DataType: 'String', StringValue: d.errorName },
      [ATTEMPT_ATTR]: { DataType: 'Number', StringValue: String(d.attempt) },
      ...(d.repair ? { [REPAIR_ATTR]: { DataType: 'String', StringValue: 'true' } } : {}),
    },
  };
}

/** The SendMessage request that re-sends failed envelopes, restricted to one target when given, after a delay. */
export function resendRequest(
  queueUrl: string,
  r: {
    envelopes: readonly unknown[];
    /** The one target the re-send is meant for; absent: every target of the pair. */
    targetId?: string;
    attempt: number;
    /** When the envelopes first failed (epoch ms): retryFor counts from it. */
    since: number;
    delaySeconds: number;
    repair?: boolean;
  },
): SendMessageCommandInput {
  return {
    QueueUrl: queueUrl,
    MessageBody: r.envelopes.length === 1 ? JSON.stringify(r.envelopes[0]) : JSON.stringify(r.envelopes),
    DelaySeconds: r.delaySeconds,
    MessageAttributes: {
      ...(r.targetId !== undefined ? { [TARGET_ATTR]: { DataType: 'String', StringValue: r.targetId } } : {}),
      [ATTEMPT_ATTR]: { DataType: 'Number', StringValue: String(r.attempt) },
      [SINCE_ATTR]: { DataType: 'Number', StringValue: String(r.since) },
      ...(r.repair ? { [REPAIR_ATTR]: { DataType: 'String', StringValue: 'true' } } : {}),
    },
  };
}

/** What to do with one SQS message after applying its envelopes (of any pair type). */
export interface MessagePlan<E> {
  /** Send to the DLQ: per target, the envelopes and the reason. */
  readonly deadLetter: { targetId: string; envelopes: E[]; reason: string; errorName: string }[];
  /**
   * Re-send to the pair queue, after `delaySeconds`, with only the envelopes that failed: restricted to one
   * target, or (`targetId` absent) to the targets the message was meant for, when every envelope failed on
   * every one of them.
   */
  readonly resend: { targetId?: string; envelopes: E[]; delaySeconds: number; reason: string }[];
}

/** The failures of one target, as {@link planMessage} reads them. */
export interface TargetFailures<E> {
  readonly failed: readonly {
    readonly envelope: E;
    readonly error: unknown;
    readonly poison: boolean;
    readonly site?: string;
  }[];
}

/** Where a message is in its retries. */
export interface AttemptState {
  /** Attempts made, this one included. */
  readonly attempt: number;
  /** When its envelopes first failed (epoch ms); absent before the first failure. */
  readonly since?: number;
  /** Now (epoch ms). */
  readonly now: number;
}

/** The reason of a failure: what failed (site) and what it said. */
export function failureReason(f: { readonly error: unknown; readonly site?: string }): string {
  return f.site ? `${f.site}: ${errorSummary(f.error)}` : errorSummary(f.error);
}

/**
 * Decides a message's fate from its apply (or copy) result under the retry policy (engine/retry.ts): poison
 * goes to the DLQ at once; retryable failures are re-sent with backoff until their retries are exhausted, then
 * dead-lettered with the attempts, how long they failed, and the last error. A partly failed message is
 * re-sent with only its failed envelopes, per failed target, so successes are not repeated.
 */
export function planMessage<E>(
  envelopes: readonly E[],
  result: ReadonlyMap<string, TargetFailures<E>>,
  state: AttemptState,
  policy: RetryPolicy,
): MessagePlan<E> {
  const plan = { deadLetter: [] as MessagePlan<E>['deadLetter'], resend: [] as MessagePlan<E>['resend'] };
  const failingForMs = state.now - (state.since ?? state.now);
  const delaySeconds = backoffSeconds(state.attempt, policy, failingForMs);
  let retryableCount = 0;
  for (const [targetId, r] of result) {
    const poison = r.failed.filter((f) => f.poison);
    const retryable = r.failed.filter((f) => !f.poison);
    if (poison.length > 0) {
      plan.deadLetter.push({
        targetId,
        envelopes: poison.map((f) => f.envelope),
        reason: failureReason(poison[0]!),
        errorName: nameOf(poison[0]!.error) ?? 'Error',
      });
    }
    if (retryable.length === 0) continue;
    retryableCount += retryable.length;
    const last = retryable[0]!;
    const transient = retryable.every((f) => isTransient(f.error));
    if (retriesExhausted({ attempt: state.attempt, transient, failingForMs }, policy)) {
      plan.deadLetter.push({
        targetId,
        envelopes: retryable.map((f) => f.envelope),
        reason: `attempts exhausted (${state.attempt} of ${policy.maxAttempts}, failing for ${humanDuration(failingForMs)}${transient ? `, retryFor ${humanDuration(policy.retryForMs)}` : ''}); last error: ${failureReason(last)}`,
        errorName: nameOf(last.error) ?? 'Error',
      });
    } else {
      plan.resend.push({
        targetId,
        envelopes: retryable.map((f) => f.envelope),
        delaySeconds,
        reason: failureReason(last),
      });
    }
  }
  // Every envelope failed on every target: one re-send serves them all (as the message was addressed).
  const everyPairFailed = retryableCount === envelopes.length * result.size;
  if (plan.resend.length === result.size && result.size > 1 && plan.deadLetter.length === 0 && everyPairFailed) {
    return { deadLetter: [], resend: [{ envelopes: [...envelopes], delaySeconds, reason: plan.resend[0]!.reason }] };
  }
  return plan;
}

/** Some repair envelopes could not be enqueued (retryable: the page is checked again next time). */
export class RepairEnqueueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RepairEnqueueError';
  }
}

/**
 * Sends repair envelopes of any pair type to the pair's queue as capture does (packed, SendMessageBatch),
 * marked as repairs (`rep-repair`: no ReplicationLatency is recorded for them) and, when given, restricted to
 * one target (`rep-target`). Throws {@link RepairEnqueueError} if any was not accepted.
 */
export async function enqueueRepairs(
  sqs: SQSClient,
  queueUrl: string,
  envelopes: readonly unknown[],
  opts: {
    readonly pair: string;
    readonly envelopesPerMessage?: number;
    /** Restrict the messages to this one target (`rep-target`). @default - every target of the pair */
    readonly targetId?: string;
  },
): Promise<{ messages: number; requests: number }> {
  if (envelopes.length === 0) return { messages: 0, requests: 0 };
  // Record ids only count the envelopes a failed send lost.
  const packable: Packable[] = envelopes.map((envelope, i) => ({
    recordId: String(i),
    envelope,
    bytes: byteLength(envelope),
  }));
  const messages = packMessages(packable, { envelopesPerMessage: opts.envelopesPerMessage ?? 25 });
  const attributes: Record<string, MessageAttributeValue> = {
    [REPAIR_ATTR]: { DataType: 'String', StringValue: 'true' },
    ...(opts.targetId !== undefined ? { [TARGET_ATTR]: { DataType: 'String', StringValue: opts.targetId } } : {}),
  };
  const sent = await sendMessages(sqs, queueUrl, messages, attributes);
  if (sent.failed.length > 0) {
    throw new RepairEnqueueError(
      `reconcile of ${opts.pair}: ${sent.failed.length} repair envelope(s) not enqueued (${sent.failed[0]?.reason})`,
    );
  }
  return { messages: sent.sentMessages, requests: sent.requests };
}
