/**
 * Resource names and construct ids shared by the stacks, the CLI and the local runtime.
 *
 * Names are explicit (not generated) so that `replicator status|redrive|backfill` can find a pair's queues,
 * tables and functions from the pair name alone.
 */
import { type Attribute, AttributeType } from 'aws-cdk-lib/aws-dynamodb';

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
}

/** The physical names of a pair's resources, e.g. `replicator-orders-dlq`. */
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
  };
}

/** Name of the source-region stack, e.g. `Replicator-us-east-1`. */
export function sourceStackName(region: string): string {
  return `Replicator-${region}`;
}

/** Name of a target-region stack, e.g. `Replicator-Target-eu-west-1`. */
export function targetStackName(region: string): string {
  return `Replicator-Target-${region}`;
}

/** A stable PascalCase construct id from a kebab/snake/dotted name (`orders-replica` → `OrdersReplica`). */
export function pascalCase(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part !== '')
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

const ATTRIBUTE_TYPES: Record<string, AttributeType> = {
  S: AttributeType.STRING,
  N: AttributeType.NUMBER,
  B: AttributeType.BINARY,
};

/** A DynamoDB key attribute from the config's `name:TYPE` form (`pk:S` → `{ name: 'pk', type: STRING }`). */
export function keyAttribute(spec: string): Attribute {
  // The name itself may contain ':', so split at the last one.
  const at = spec.lastIndexOf(':');
  const type = ATTRIBUTE_TYPES[spec.slice(at + 1)];
  if (at <= 0 || type === undefined) {
    throw new Error(`Key attribute must be "name:TYPE" with TYPE one of S, N, B (given "${spec}")`);
  }
  return { name: spec.slice(0, at), type };
}
