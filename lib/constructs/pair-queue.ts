/**
 * The queues of one pair: the pair queue between capture and apply, its dead-letter queue, and the capture
 * failure queue (the stream mapping's on-failure destination, or the S3 events queue's DLQ). All live in the
 * source region, so a target-region outage only makes the pair queue grow.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { pairResourceNames } from '../../functions/contract';
import { COMMON_PAIR_DEFAULTS } from '../pair-types/common-schema';

/** Props of a {@link PairQueue}. */
export interface PairQueueProps {
  /** Name of the pair; the queues are named `replicator-<pair>`, `replicator-<pair>-dlq` and `replicator-<pair>-capture-failures`. */
  readonly pairName: string;
  /**
   * Timeout of the apply function that consumes the pair queue; the queue's visibility timeout is six times this.
   * @default - 60 seconds, so a visibility timeout of 360 seconds
   */
  readonly applyTimeout?: Duration;
  /**
   * Attempts after which the apply function dead-letters an envelope itself (with its reason); SQS's native
   * redrive moves a message to the DLQ after maxAttempts + 2 receives, as a safety net.
   * @default - COMMON_PAIR_DEFAULTS.maxAttempts (5), so maxReceiveCount 7
   */
  readonly maxAttempts?: number;
  /**
   * How long each queue keeps a message.
   * @default - 14 days, the SQS maximum
   */
  readonly retentionPeriod?: Duration;
}

/** The pair queue, its DLQ and the capture failure queue, all SSE-SQS encrypted and TLS-only. */
export class PairQueue extends Construct {
  /** Queue of envelopes from capture to apply. */
  readonly queue: sqs.Queue;
  /** Dead-letter queue of {@link queue}: envelopes that kept failing, with their last error. */
  readonly deadLetterQueue: sqs.Queue;
  /**
   * Source changes that could not be captured: the on-failure destination of the stream mapping (DynamoDB
   * pairs), or the dead-letter queue of the S3 events queue (S3 pairs).
   */
  readonly captureFailureQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: PairQueueProps) {
    super(scope, id);
    const names = pairResourceNames(props.pairName);
    const retentionPeriod = props.retentionPeriod ?? Duration.days(14);
    const common = {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod,
    } satisfies sqs.QueueProps;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', { ...common, queueName: names.deadLetterQueue });
    acknowledgeDeadLetterQueue(this.deadLetterQueue);
    const applyTimeout = props.applyTimeout ?? Duration.seconds(60);
    this.queue = new sqs.Queue(this, 'Queue', {
      ...common,
      queueName: names.queue,
      // Six times the function timeout, as Lambda recommends for SQS event sources: a batch that times out
      // and its retries do not come back while a slow invocation still holds them.
      visibilityTimeout: Duration.seconds(applyTimeout.toSeconds() * 6),
      deadLetterQueue: {
        queue: this.deadLetterQueue,
        maxReceiveCount: (props.maxAttempts ?? COMMON_PAIR_DEFAULTS.maxAttempts) + 2,
      },
    });
    this.captureFailureQueue = new sqs.Queue(this, 'CaptureFailureQueue', {
      ...common,
      queueName: names.captureFailureQueue,
    });
    Validations.of(this.captureFailureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself a dead-letter destination: the on-failure destination of the DynamoDB stream mapping, or the DLQ of the S3 events queue. Its depth is alarmed.',
    });
    acknowledgeDeadLetterQueue(this.captureFailureQueue);
  }
}

/** cdk-nag's Serverless pack asks every queue for a redrive policy; a dead-letter queue has none by design. */
export function acknowledgeDeadLetterQueue(queue: sqs.IQueue): void {
  Validations.of(queue).acknowledge({
    id: 'Serverless-SQSRedrivePolicy',
    reason:
      'This queue is itself a dead-letter destination; a DLQ of its own would only move the same messages again. Its depth is alarmed.',
  });
}
