/**
 * The base of every pair type's source-region construct (`TablePair` in pair-types/dynamodb.ts, `BucketPair`
 * in pair-types/s3.ts): the build sequence every pair shares, with the construct ids each type used when it
 * built them itself, so the logical ids stay the same.
 *
 * The base constructor creates the state table (`StateTable`) and the queues (`Queues`) and tags the pair;
 * the type then builds its source and calls {@link ReplicationPair.createCapture} (`Capture`),
 * {@link ReplicationPair.createApplier} (`Apply` or `Copy`), {@link ReplicationPair.createReconciler}
 * (`Reconciler`) and {@link ReplicationPair.createMonitoring} (`Monitoring`) with what is its own: entries,
 * event source, variables, read statements. Each type grants its applier its own statements in its own order,
 * with the shared grants of pair-common.ts.
 */
import { Duration, Stack, Tags } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  type BucketTargetEnv,
  ENV,
  type FunctionEnvironment,
  type PairResourceNames,
  pairResourceNames,
  type TableTargetEnv,
} from '../../functions/contract';
import type { BackfillConfig, ReconcileConfig } from '../config';
import { type CommonPairOptions, durationSeconds } from '../pair-types/common-schema';
import { Backfiller } from './backfiller';
import { type PairAlarmOptions, PairMonitoring } from './monitoring';
import { CAPTURE_TIMEOUT, createStateTable, PAIR_TAG } from './pair-common';
import { PairQueue } from './pair-queue';
import { Reconciler } from './reconciler';
import { ReplicatorFunction } from './replicator-function';

/** Props that every pair type's construct takes besides its pair. */
export interface ReplicationPairProps extends PairAlarmOptions {
  /**
   * The deployment's reconcile settings; with them the pair gets a scheduled reconcile function.
   * @default - no scheduled reconciler (`replicator reconcile` still runs on demand)
   */
  readonly reconcile?: ReconcileConfig;
  /** The deployment's backfill job settings. @default - BACKFILL_DEFAULTS */
  readonly backfill?: BackfillConfig;
  /**
   * Entry file of the capture handler.
   * @default - the pair type's capture handler (`DYNAMODB_HANDLERS.capture`, `S3_HANDLERS.capture`)
   */
  readonly captureEntry?: string;
  /**
   * Entry file of the reconcile handler.
   * @default - the pair type's reconcile handler (`DYNAMODB_HANDLERS.reconcile`, `S3_HANDLERS.reconcile`)
   */
  readonly reconcileEntry?: string;
}

/** What the base of a pair needs to know before the type builds anything. */
export interface PairFoundation {
  /** Name of the pair: its resources are named `replicator-<pair>-…` and tagged `replicator:pair`. */
  readonly pairName: string;
  /** Timeout of the applier (apply or copy); the pair queue's visibility timeout is six times this. */
  readonly applyTimeout: Duration;
  /** The pair's options every type shares, defaults applied. */
  readonly options: Required<CommonPairOptions>;
}

/** What a type gives {@link ReplicationPair.createCapture}. */
export interface CaptureSpec {
  /** Entry file of the type's capture handler. */
  readonly entry: string;
  /** Powertools service name, e.g. `replicator-capture`. */
  readonly serviceName: string;
  /** What capture reads: the source table's stream, or the queue of the source bucket's events. */
  readonly eventSource: lambda.IEventSource;
  /** The type's own variables (source, filters). */
  readonly environment: FunctionEnvironment;
}

/** What a type gives {@link ReplicationPair.createApplier}. */
export interface ApplierSpec {
  /** Physical name of the function (`replicator-<pair>-apply` or `-copy`). */
  readonly functionName: string;
  /** Entry file of the type's apply (or copy) handler. */
  readonly entry: string;
  /** Powertools service name, e.g. `replicator-apply`. */
  readonly serviceName: string;
  /** The targets, as the TARGETS variable lists them. */
  readonly targets: readonly (TableTargetEnv | BucketTargetEnv)[];
  /** The type's own variables (source, filters, tuning). */
  readonly environment: FunctionEnvironment;
}

/** What a type gives {@link ReplicationPair.createReconciler}. */
export interface ReconcilerSpec {
  /** The deployment's reconcile settings. */
  readonly reconcile: ReconcileConfig;
  /** Entry file of the type's reconcile handler. */
  readonly entry: string;
  /** The pair's `deleteExtra`. */
  readonly deleteExtra: boolean | undefined;
  /** The targets, as the TARGETS variable lists them. */
  readonly targets: readonly (TableTargetEnv | BucketTargetEnv)[];
  /** The type's own variables (source, filters, tuning). */
  readonly environment: FunctionEnvironment;
  /** The type's reads of its source and targets. */
  readonly readStatements: readonly iam.PolicyStatement[];
}

/** What a type gives {@link ReplicationPair.createBackfiller}: as for its reconciler, without the schedule. */
export type BackfillerSpec = Omit<ReconcilerSpec, 'reconcile' | 'deleteExtra'> & {
  /** The deployment's backfill settings. */
  readonly backfill?: BackfillConfig;
};

/** What a type gives {@link ReplicationPair.createMonitoring}. */
export interface MonitoringSpec extends PairAlarmOptions {
  /** The capture function: its IteratorAge is watched when it reads a stream. */
  readonly capture: ReplicatorFunction;
  /** The applier (apply or copy): its Errors are watched. */
  readonly applier: ReplicatorFunction;
  /** Ids of the targets, each with its own alarms. */
  readonly targets: readonly string[];
  /**
   * Queue of source events that capture consumes (S3 pairs).
   * @default - none: capture reads a stream, and its IteratorAge is watched
   */
  readonly eventsQueue?: sqs.IQueue;
  /**
   * Name of the apply step in alarm names.
   * @default - "apply"
   */
  readonly applyStepName?: string;
}

/** Everything one pair needs in its source region, whatever its type; the stacks and the dashboard see pairs as this. */
export abstract class ReplicationPair extends Construct {
  /** Name of the pair. */
  readonly pairName: string;
  /** The per-pair state table (tombstones and checkpoints; never in a target). */
  readonly stateTable: dynamodb.Table;
  /** The pair queue, its DLQ and the capture failure queue. */
  readonly queues: PairQueue;
  /** The capture function (source changes → envelopes → pair queue). */
  abstract readonly capture: ReplicatorFunction;
  /** The pair's alarms. */
  abstract readonly monitoring: PairMonitoring;
  /** The scheduled reconciler; only when the config has `reconcile`. */
  abstract readonly reconciler: Reconciler | undefined;
  /** The deployed backfill job (`replicator backfill PAIR --deployed`). */
  abstract readonly backfiller: Backfiller;
  /** Physical names of the pair's resources. */
  protected readonly names: PairResourceNames;
  /** The pair's options every type shares, defaults applied. */
  protected readonly options: Required<CommonPairOptions>;
  /** Timeout of the applier. */
  protected readonly applyTimeout: Duration;

  protected constructor(scope: Construct, id: string, foundation: PairFoundation) {
    super(scope, id);
    this.pairName = foundation.pairName;
    this.names = pairResourceNames(foundation.pairName);
    this.options = foundation.options;
    this.applyTimeout = foundation.applyTimeout;
    this.stateTable = createStateTable(this, foundation.pairName);
    this.queues = new PairQueue(this, 'Queues', {
      pairName: foundation.pairName,
      applyTimeout: foundation.applyTimeout,
      maxAttempts: foundation.options.maxAttempts,
    });
    // An aspect: it reaches every resource of the pair, also those the type adds after this.
    Tags.of(this).add(PAIR_TAG, foundation.pairName);
  }

  /**
   * The capture function `Capture` (`replicator-<pair>-capture`): reads the type's event source and sends
   * envelopes, at most `envelopesPerMessage` a message, to the pair queue.
   */
  protected createCapture(spec: CaptureSpec): ReplicatorFunction {
    const capture = new ReplicatorFunction(this, 'Capture', {
      functionName: this.names.captureFunction,
      entry: spec.entry,
      serviceName: spec.serviceName,
      memorySize: 512,
      timeout: CAPTURE_TIMEOUT,
      environment: {
        [ENV.PAIR_NAME]: this.pairName,
        [ENV.QUEUE_URL]: this.queues.queue.queueUrl,
        [ENV.ORIGIN_REGION]: Stack.of(this).region,
        [ENV.ENVELOPES_PER_MESSAGE]: String(this.options.envelopesPerMessage),
        ...this.clientEnvironment(),
        ...spec.environment,
      },
    });
    capture.function.addEventSource(spec.eventSource);
    capture.acknowledgeSqsMappings();
    capture.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queues.queue.queueArn] }),
    );
    return capture;
  }

  /**
   * The applier `id` (`Apply` or `Copy`): consumes the pair queue (partial batch responses, the pair's batch
   * size and maximum concurrency) and writes the targets. The type adds its grants.
   */
  protected createApplier(id: string, spec: ApplierSpec): ReplicatorFunction {
    const applier = new ReplicatorFunction(this, id, {
      functionName: spec.functionName,
      entry: spec.entry,
      serviceName: spec.serviceName,
      memorySize: 1024,
      timeout: this.applyTimeout,
      environment: {
        [ENV.PAIR_NAME]: this.pairName,
        [ENV.QUEUE_URL]: this.queues.queue.queueUrl,
        [ENV.DLQ_URL]: this.queues.deadLetterQueue.queueUrl,
        [ENV.STATE_TABLE]: this.stateTable.tableName,
        [ENV.SOURCE_REGION]: Stack.of(this).region,
        [ENV.MAX_ATTEMPTS]: String(this.options.maxAttempts),
        [ENV.RETRY_FOR_SECONDS]: String(durationSeconds(this.options.retryFor)),
        [ENV.TARGETS]: JSON.stringify(spec.targets),
        ...this.clientEnvironment(),
        ...spec.environment,
      },
    });
    applier.function.addEventSource(
      new SqsEventSource(this.queues.queue, {
        batchSize: this.options.applyBatchSize,
        maxBatchingWindow: Duration.seconds(this.options.batchWindowSeconds),
        reportBatchItemFailures: true,
        maxConcurrency: this.options.applyConcurrency,
      }),
    );
    applier.acknowledgeSqsMappings();
    return applier;
  }

  /** What every function of the pair reads to build its SDK clients. */
  private clientEnvironment(): FunctionEnvironment {
    return { [ENV.REQUEST_TIMEOUT_SECONDS]: String(durationSeconds(this.options.requestTimeout)) };
  }

  /** The scheduled reconciler `Reconciler`, on the pair's state table and queue. */
  protected createReconciler(spec: ReconcilerSpec): Reconciler {
    return new Reconciler(this, 'Reconciler', {
      pairName: this.pairName,
      reconcile: spec.reconcile,
      deleteExtra: spec.deleteExtra,
      targets: spec.targets,
      stateTable: this.stateTable,
      queue: this.queues.queue,
      entry: spec.entry,
      environment: { ...this.clientEnvironment(), ...spec.environment },
      readStatements: spec.readStatements,
    });
  }

  /** The deployed backfill job `Backfiller`, on the pair's state table and queue. */
  protected createBackfiller(spec: BackfillerSpec): Backfiller {
    return new Backfiller(this, 'Backfiller', {
      pairName: this.pairName,
      ...(spec.backfill ? { backfill: spec.backfill } : {}),
      targets: spec.targets,
      stateTable: this.stateTable,
      queue: this.queues.queue,
      entry: spec.entry,
      environment: { ...this.clientEnvironment(), ...spec.environment },
      readStatements: spec.readStatements,
    });
  }

  /** The pair's alarms `Monitoring`: its queues, capture lag, applier errors and each target. */
  protected createMonitoring(spec: MonitoringSpec): PairMonitoring {
    return new PairMonitoring(this, 'Monitoring', {
      pairName: this.pairName,
      deadLetterQueue: this.queues.deadLetterQueue,
      queue: this.queues.queue,
      maxBacklogAge: Duration.seconds(durationSeconds(this.options.maxBacklogAge)),
      captureFailureQueue: this.queues.captureFailureQueue,
      captureFunction: spec.capture.function,
      applyFunction: spec.applier.function,
      targets: spec.targets,
      latencyP99Threshold: spec.latencyP99Threshold,
      alarmTopic: spec.alarmTopic,
      eventsQueue: spec.eventsQueue,
      applyStepName: spec.applyStepName,
      backfillDeadLetterQueue: this.backfiller.deadLetterQueue,
      ...(this.reconciler
        ? {
            reconciler: {
              function: this.reconciler.function.function,
              failureQueue: this.reconciler.failureQueue,
              schedule: this.reconciler.schedule,
            },
          }
        : {}),
    });
  }
}
