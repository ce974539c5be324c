/**
 * What a pair type gives the stacks: its handlers, its source-region construct and its created target
 * resources. Each type module (`dynamodb.ts`, `s3.ts`) exports one {@link PairTypeModule}; `registry.ts`
 * holds them by type. The CDK-free half (schema, naming, checks) is `PairTypeSchema` in common-schema.ts.
 */
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { PairResourceNames } from '../../functions/contract';
import type { BackfillConfig, ReconcileConfig } from '../config';
import type { AccessLogsBucket } from '../constructs/access-logs-bucket';
import type { PairAlarmOptions } from '../constructs/monitoring';
import type { ReplicationPair } from '../constructs/replication-pair';
import type { PairConfig, TargetOf } from './schemas';

/** What the source stack gives every pair it builds. */
export interface PairBuildContext extends PairAlarmOptions {
  /**
   * The deployment's reconcile settings.
   * @default - no scheduled reconcilers
   */
  readonly reconcile?: ReconcileConfig;
  /** The deployment's backfill job settings. @default - BACKFILL_DEFAULTS */
  readonly backfill?: BackfillConfig;
  /**
   * Stream ARNs of imported source tables found by the deploy preflight, by pair name (DynamoDB pairs).
   * @default - none: each pair's `source.streamArn`
   */
  readonly sourceStreamArns?: Readonly<Record<string, string>>;
  /** The stack's one access-log bucket for the buckets it creates; the first call creates it (`AccessLogs`). */
  readonly accessLogs: () => AccessLogsBucket;
}

/** What a target stack gives every created target it builds. */
export interface TargetBuildContext {
  /** The stack's one access-log bucket for the buckets it creates; the first call creates it (`AccessLogs`). */
  readonly accessLogs: () => AccessLogsBucket;
}

/** The stacks half of one pair type. */
export interface PairTypeModule<P extends PairConfig> {
  /** Entry files of the type's Lambda handlers, by function: the one place that names them. */
  readonly handlers: Readonly<Record<string, string>>;
  /** Builds the pair's source-region construct under `scope` with the construct id the stack chose. */
  readonly buildPair: (scope: Construct, id: string, pair: P, context: PairBuildContext) => ReplicationPair;
  /** Builds one created target (`create` set) of the pair under `scope`, in its region's target stack. */
  readonly buildTarget: (
    scope: Construct,
    id: string,
    pair: P,
    target: TargetOf<P>,
    context: TargetBuildContext,
  ) => Construct;
  /** What the role of a target with a `roleArn` must allow, when Replicator builds it in the target's account. */
  readonly targetRole: {
    /** The function that writes the pair's targets (its role assumes the target's role), by its contract name. */
    readonly applier: keyof Pick<PairResourceNames, 'applyFunction' | 'copyFunction'>;
    /** The statements for `target`: the applier's writes and reads, reconcile's reads; nothing else. */
    readonly statements: (scope: Construct, pair: P, target: TargetOf<P>) => iam.PolicyStatement[];
  };
}
