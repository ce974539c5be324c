/**
 * The contract between the stacks (lib/), the functions (functions/) and the CLI and local runtime (src/):
 * environment variable names, the TARGETS entries, physical resource names and the metric catalogue. One
 * module, free of SDK and CDK imports, so every layer can read it without loading the others.
 */

// ---------------------------------------------------------------------------------------------------------
// Environment variables (set by lib, read by the handlers' dependency factories)

/** Every environment variable a Replicator function reads, by name. */
export const ENV = {
  /** The pair's name. */
  PAIR_NAME: 'PAIR_NAME',
  /** URL of the pair queue (capture sends, apply/copy re-send, reconcile repairs). */
  QUEUE_URL: 'QUEUE_URL',
  /** URL of the pair's dead-letter queue (apply/copy dead-letter with a reason). */
  DLQ_URL: 'DLQ_URL',
  /** Name of the pair's state table (tombstones, checkpoints, reports). */
  STATE_TABLE: 'STATE_TABLE',
  /** Region of the source table or bucket. */
  SOURCE_REGION: 'SOURCE_REGION',
  /** Region where capture runs: the envelopes' origin. */
  ORIGIN_REGION: 'ORIGIN_REGION',
  /** Name of a DynamoDB pair's source table. */
  SOURCE_TABLE: 'SOURCE_TABLE',
  /** Name of an S3 pair's source bucket. */
  SOURCE_BUCKET: 'SOURCE_BUCKET',
  /** JSON array of the pair's targets: {@link TableTargetEnv} or {@link BucketTargetEnv} entries. */
  TARGETS: 'TARGETS',
  /** A DynamoDB pair's attribute filter, as JSON (`{ "allow": [...] }` or `{ "deny": [...] }`). */
  FILTER: 'FILTER',
  /** An S3 pair's key prefix filter. */
  PREFIX: 'PREFIX',
  /** An S3 pair's key suffix filter. */
  SUFFIX: 'SUFFIX',
  /** Attempts an envelope gets at least before apply/copy dead-letters it. */
  MAX_ATTEMPTS: 'MAX_ATTEMPTS',
  /** Seconds apply/copy retry transient failures (an unavailable region or service) from the first failure. */
  RETRY_FOR_SECONDS: 'RETRY_FOR_SECONDS',
  /** Seconds a function's AWS request may go without a byte of an answer before it fails as a timeout. */
  REQUEST_TIMEOUT_SECONDS: 'REQUEST_TIMEOUT_SECONDS',
  /** Envelopes capture packs into one SQS message at most. */
  ENVELOPES_PER_MESSAGE: 'ENVELOPES_PER_MESSAGE',
  /** Copy: objects larger than this many bytes are copied in parts. */
  MULTIPART_THRESHOLD: 'MULTIPART_THRESHOLD',
  /** Copy: bytes of each part of a multipart copy. */
  PART_SIZE: 'PART_SIZE',
  /** Copy: parts (and objects) copied at once. */
  COPY_CONCURRENCY: 'COPY_CONCURRENCY',
  /** Copy: `false` reads every target key before copying it (see CopySettings.createFirst). */
  COPY_CREATE_FIRST: 'COPY_CREATE_FIRST',
  /** Copy and S3 reconcile: the full-object checksum requested on copies and compared by reconcile. */
  CHECKSUM_ALGORITHM: 'CHECKSUM_ALGORITHM',
  /** Backfill: URL of the pair's backfill queue, where a job's next message goes. */
  BACKFILL_QUEUE_URL: 'BACKFILL_QUEUE_URL',
  /** Reconcile: `true` re-enqueues what differs. */
  REPAIR: 'REPAIR',
  /** Reconcile: `true` lets a repair delete target items or objects the source does not have. */
  DELETE_EXTRA: 'DELETE_EXTRA',
  /** Reconcile: read units (S3: requests) per second over the whole run. */
  READ_RATE: 'READ_RATE',
  /** Reconcile of DynamoDB pairs: parallel scan segments per table. */
  SEGMENTS: 'SEGMENTS',
  /** Reconcile: ms to wait before re-reading suspects, so changes already queued can land. */
  RECHECK_DELAY_MS: 'RECHECK_DELAY_MS',
} as const;

/** The name of a Replicator environment variable. */
export type EnvName = (typeof ENV)[keyof typeof ENV];

/** A function's environment, as lib writes it: only Replicator's own variable names. */
export type FunctionEnvironment = Partial<Record<EnvName, string>>;

// ---------------------------------------------------------------------------------------------------------
// TARGETS entries

/** Where a target lives and how to reach it. */
export interface ClientTarget {
  readonly region: string;
  /** Role to assume for this target (targets in another account). */
  readonly roleArn?: string;
  /** External id passed when assuming roleArn. */
  readonly externalId?: string;
}

/** One DynamoDB target as the TARGETS variable of apply and reconcile describes it. */
export interface TableTargetEnv extends ClientTarget {
  /** The target's id (`region/table`, or `account/region/table`): its metrics' Target dimension. */
  readonly id: string;
  readonly table: string;
}

/** One S3 target as the TARGETS variable of copy and reconcile describes it. */
export interface BucketTargetEnv extends ClientTarget {
  /** The target's id (`region/bucket`, or `account/region/bucket`): its metrics' Target dimension. */
  readonly id: string;
  readonly bucket: string;
  /** Storage class of the copies (copy only). */
  readonly storageClass?: string;
}

// ---------------------------------------------------------------------------------------------------------
// Resource names

/** Physical names of one pair's source-region resources. */
export interface PairResourceNames {
  /** Pair queue (envelopes from capture to apply). */
  readonly queue: string;
  /** Dead-letter queue of the pair queue. */
  readonly deadLetterQueue: string;
  /** What capture gave up on: the stream mapping's on-failure destination, or the S3 events queue's DLQ. */
  readonly captureFailureQueue: string;
  /** Per-pair state table (tombstones, checkpoints). */
  readonly stateTable: string;
  /** Capture function. */
  readonly captureFunction: string;
  /** Apply function (DynamoDB pairs). */
  readonly applyFunction: string;
  /** Queue of the source bucket's event notifications, consumed by capture (S3 pairs). */
  readonly eventsQueue: string;
  /** Copy function (S3 pairs). */
  readonly copyFunction: string;
  /** Scheduled reconcile function (when the config has `reconcile`). */
  readonly reconcileFunction: string;
  /** Scheduled reconcile invocations that failed after Lambda's retries (their on-failure destination). */
  readonly reconcileFailureQueue: string;
  /** The deployed backfill job's function. */
  readonly backfillFunction: string;
  /** The backfill job's messages (one per invocation of the job). */
  readonly backfillQueue: string;
  /** Job messages that failed the backfill queue's receive limit. */
  readonly backfillDeadLetterQueue: string;
}

/**
 * The physical names of a pair's resources, e.g. `replicator-orders-dlq`. Names are explicit (not generated)
 * so that the CLI can find a pair's queues, tables and functions from the pair name alone.
 */
export function pairResourceNames(pairName: string): PairResourceNames {
  const base = `replicator-${pairName}`;
  return {
    queue: base,
    deadLetterQueue: `${base}-dlq`,
    captureFailureQueue: `${base}-capture-failures`,
    stateTable: `${base}-state`,
    captureFunction: `${base}-capture`,
    applyFunction: `${base}-apply`,
    eventsQueue: `${base}-events`,
    copyFunction: `${base}-copy`,
    reconcileFunction: `${base}-reconcile`,
    reconcileFailureQueue: `${base}-reconcile-failures`,
    backfillFunction: `${base}-backfill`,
    backfillQueue: `${base}-backfill-jobs`,
    backfillDeadLetterQueue: `${base}-backfill-jobs-dlq`,
  };
}

/** IAM's limit on a role name. */
const ROLE_NAME_MAX = 64;

/**
 * The name of a function's execution role: `<function name>-<region>`, e.g. `replicator-orders-apply-us-east-1`.
 * Named, not generated, so that a target account's role can trust exactly the functions that assume it (role
 * names are global to the account, hence the region). A name over IAM's 64 characters keeps its start and the
 * region, and puts a hash of the whole name between them, so it stays unique and stable.
 */
export function functionRoleName(functionName: string, region: string): string {
  const full = `${functionName}-${region}`;
  if (full.length <= ROLE_NAME_MAX) return full;
  const hash = fnv1a(full);
  return `${functionName.slice(0, ROLE_NAME_MAX - region.length - hash.length - 2)}-${hash}-${region}`;
}

/** FNV-1a of a string, as 8 hex digits: a short stable tag, not a security measure. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** Name of the source-region stack, e.g. `Replicator-us-east-1`. */
export function sourceStackName(region: string): string {
  return `Replicator-${region}`;
}

/** Name of a target-region stack, e.g. `Replicator-Target-eu-west-1`. */
export function targetStackName(region: string): string {
  return `Replicator-Target-${region}`;
}

/**
 * Name of the stack a target account deploys in one region, e.g. `Replicator-TargetAccount-210987654321-eu-west-1`:
 * the roles Replicator assumes there and the targets it creates there.
 */
export function targetAccountStackName(account: string, region: string): string {
  return `Replicator-TargetAccount-${account}-${region}`;
}

// ---------------------------------------------------------------------------------------------------------
// Metrics

/** Namespace of every Replicator metric. */
export const METRICS_NAMESPACE = 'Replicator';

/** A CloudWatch unit of a Replicator metric. */
export type MetricUnitName = 'Count' | 'Bytes' | 'Milliseconds' | 'None';

/** What a metric is about: one target of a pair (dimensions Pair, Target) or the whole pair (Pair). */
export type MetricScope = 'target' | 'pair';

/** One metric of the catalogue. */
export interface MetricSpec {
  readonly unit: MetricUnitName;
  /** Dimensions it is published with; `target` metrics may fall back to `pair` when no target applies. */
  readonly scope: MetricScope;
  /** What it counts or measures. */
  readonly description: string;
}

/** Every metric Replicator publishes (DESIGN.md, Metrics), with its unit and dimensions. */
export const METRICS = {
  ReplicatedItems: { unit: 'Count', scope: 'target', description: 'envelopes applied to a target' },
  ReplicatedBytes: { unit: 'Bytes', scope: 'target', description: 'bytes of the applied items or objects' },
  ReplicationLatency: { unit: 'Milliseconds', scope: 'target', description: 'source write to applied' },
  DeliveryLatency: { unit: 'Milliseconds', scope: 'target', description: 'capture to applied' },
  ApplyErrors: { unit: 'Count', scope: 'target', description: 'envelopes that failed on a target' },
  StaleSkipped: { unit: 'Count', scope: 'target', description: 'envelopes a newer version made unnecessary' },
  DeadLettered: { unit: 'Count', scope: 'target', description: 'envelopes sent to the DLQ' },
  UnverifiedCopies: { unit: 'Count', scope: 'target', description: 'copies that only the size could verify' },
  BacklogEnvelopes: {
    unit: 'Count',
    scope: 'target',
    description: 'envelopes re-sent to wait for a retry on the target (each time they are re-sent)',
  },
  BacklogAge: {
    unit: 'Milliseconds',
    scope: 'target',
    description: 'capture to now of the oldest change waiting for a retry on the target',
  },
  ReconcileChecked: { unit: 'Count', scope: 'target', description: 'items or objects a reconcile compared' },
  ReconcileMismatched: { unit: 'Count', scope: 'target', description: 'missing + extra + different + lost deletes' },
  ReconcileMissing: { unit: 'Count', scope: 'target', description: 'in the source, not in the target' },
  ReconcileExtra: { unit: 'Count', scope: 'target', description: 'in the target, not in the source' },
  ReconcileLostDeletes: {
    unit: 'Count',
    scope: 'target',
    description: 'in the target though a newer tombstone says the source deleted it',
  },
  ReconcileRepaired: { unit: 'Count', scope: 'target', description: 'findings re-enqueued for repair' },
  ReconcileUnrepaired: { unit: 'Count', scope: 'target', description: 'findings left unrepaired' },
  ConsistencyRatio: { unit: 'None', scope: 'target', description: 'matched / checked' },
  ReconcileDuration: { unit: 'Milliseconds', scope: 'target', description: 'start to finish of a run' },
  ReconcileRuns: { unit: 'Count', scope: 'pair', description: 'scheduled reconcile runs that finished' },
} as const satisfies Record<string, MetricSpec>;

/** The name of a Replicator metric. */
export type MetricName = keyof typeof METRICS;

/** The metrics a finished reconcile run publishes per target, in this order. */
export const RECONCILE_METRICS = [
  'ReconcileChecked',
  'ReconcileMismatched',
  'ReconcileMissing',
  'ReconcileExtra',
  'ReconcileLostDeletes',
  'ReconcileRepaired',
  'ReconcileUnrepaired',
  'ConsistencyRatio',
  'ReconcileDuration',
] as const satisfies readonly MetricName[];
