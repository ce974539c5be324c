/**
 * The deployed backfill job of one pair (any type): the `replicator-<pair>-backfill` function on the
 * `replicator-<pair>-backfill-jobs` queue (batch size 1), whose messages `replicator backfill PAIR --deployed`
 * starts and the function continues one invocation at a time (functions/engine/backfill-job.ts), the queue's
 * DLQ for job messages that kept failing, and the grants the job needs (its state table, the pair queue for
 * the copies, its own queue for the next message, the targets' roles, and the type's reads).
 */
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV, pairResourceNames } from '../../functions/contract';
import { BACKFILL_DEFAULTS, type BackfillConfig } from '../config';
import { grantPairReader, type PairReaderProps, pairReaderEnvironment } from './pair-common';
import { acknowledgeDeadLetterQueue } from './pair-queue';
import { ReplicatorFunction } from './replicator-function';

/** Receives of a job message before it goes to the backfill DLQ (a timeout, a crash, a checkpoint held elsewhere). */
export const BACKFILL_MAX_RECEIVES = 5;

/** Props of a {@link Backfiller}. */
export interface BackfillerProps extends PairReaderProps {
  /** Name of the pair; the function is `replicator-<pair>-backfill`. */
  readonly pairName: string;
  /** The deployment's backfill settings. @default - BACKFILL_DEFAULTS */
  readonly backfill?: BackfillConfig;
}

/** A pair's backfill function, its job queue and that queue's DLQ. */
export class Backfiller extends Construct {
  readonly function: ReplicatorFunction;
  /** Job messages, one per invocation of a job. */
  readonly jobQueue: sqs.Queue;
  /** Job messages received {@link BACKFILL_MAX_RECEIVES} times without success. */
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: BackfillerProps) {
    super(scope, id);
    const names = pairResourceNames(props.pairName);
    const timeout = Duration.seconds(props.backfill?.timeoutSeconds ?? BACKFILL_DEFAULTS.timeoutSeconds);
    const common = {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    } satisfies sqs.QueueProps;
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      ...common,
      queueName: names.backfillDeadLetterQueue,
    });
    acknowledgeDeadLetterQueue(this.deadLetterQueue);
    this.jobQueue = new sqs.Queue(this, 'JobQueue', {
      ...common,
      queueName: names.backfillQueue,
      // Six times the function's timeout, as Lambda asks of an SQS source. A timed-out invocation's message
      // comes back this long after it was received, by when its checkpoint lease (its deadline plus a margin:
      // jobLeaseUntil) is over; the function's own deadline ends every invocation well before its timeout, so
      // only a hung one gets there.
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: BACKFILL_MAX_RECEIVES },
    });

    this.function = new ReplicatorFunction(this, 'Function', {
      functionName: names.backfillFunction,
      // One invocation at a time: a job is a chain of messages, never two at once.
      reservedConcurrentExecutions: 1,
      entry: props.entry,
      serviceName: 'replicator-backfill',
      memorySize: 1024,
      timeout,
      environment: {
        ...pairReaderEnvironment(this, props.pairName, props),
        [ENV.BACKFILL_QUEUE_URL]: this.jobQueue.queueUrl,
        ...props.environment,
      },
    });
    this.function.function.addEventSource(new SqsEventSource(this.jobQueue, { batchSize: 1, maxConcurrency: 2 }));
    this.function.acknowledgeSqsMappings();

    const role = this.function.role;
    grantPairReader(role, props, 'EnqueueCopies');
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ContinueJob',
        actions: ['sqs:SendMessage'],
        resources: [this.jobQueue.queueArn],
      }),
    );
  }
}
