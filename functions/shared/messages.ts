/**
 * SQS messages besides capture's: re-sends of partly failed messages and dead letters. Their message
 * attributes carry what the envelope contract has no room for: the one target a re-send is meant for, the
 * attempts so far, and, on dead letters, the reason.
 */
import type { SendMessageCommandInput } from '@aws-sdk/client-sqs';

/** Restricts a message to one target (a re-send after a partial failure, or a redriven dead letter). */
export const TARGET_ATTR = 'rep-target';
/** Attempts made before this message was (re-)sent. */
export const ATTEMPT_ATTR = 'rep-attempt';
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

/** A SendMessage input. */
export type DeadLetterInput = SendMessageCommandInput;

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

/** Backoff of a re-send: 2^attempt seconds, at most SQS's 15 minutes. */
export function resendDelaySeconds(attempt: number): number {
  return Math.min(900, 2 ** Math.max(0, attempt));
}

/** The SendMessage request that re-sends failed envelopes for one target, with backoff. */
export function resendRequest(
  queueUrl: string,
  r: { envelopes: readonly unknown[]; targetId: string; attempt: number; repair?: boolean },
): SendMessageCommandInput {
  return {
    QueueUrl: queueUrl,
    MessageBody: r.envelopes.length === 1 ? JSON.stringify(r.envelopes[0]) : JSON.stringify(r.envelopes),
    DelaySeconds: resendDelaySeconds(r.attempt),
    MessageAttributes: {
      [TARGET_ATTR]: { DataType: 'String', StringValue: r.targetId },
      [ATTEMPT_ATTR]: { DataType: 'Number', StringValue: String(r.attempt) },
      ...(r.repair ? { [REPAIR_ATTR]: { DataType: 'String', StringValue: 'true' } } : {}),
    },
  };
}
