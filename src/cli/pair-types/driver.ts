/**
 * What the CLI needs of a pair type: its reconcile run (also its backfill: the run in mode `backfill`), and its part of the local demo (a
 * workload and an independent verifier). Each type's module (`dynamodb.ts`, `s3.ts`) implements one
 * {@link CliPairDriver}; `registry.ts` holds them by type, so every CLI decision on a pair's type goes
 * through it. Kept apart from lib/pair-types/ (the stacks side), which loads aws-cdk-lib.
 */
import type { CheckpointStore, RunMode } from '../../../functions/engine/checkpoint';

export { onlyTargets } from '../../../functions/engine/settings';

import type { ReconcileResult } from '../../../functions/engine/reconcile-run';
import type { PairConfig } from '../../../lib/config';
import type { LocalCloud } from '../local-cloud';

/** What verifying one target found (table items or bucket objects). */
export interface TargetDiff {
  readonly checked: number;
  readonly matched: number;
  readonly missing: readonly unknown[];
  readonly extra: readonly unknown[];
  readonly different: readonly unknown[];
}

/** Whether a target equals its source. */
export function isConverged(d: TargetDiff): boolean {
  return d.missing.length === 0 && d.extra.length === 0 && d.different.length === 0;
}

/** How the CLI runs a reconcile of one pair in this process. */
export interface ReconcileContext {
  /** Region of the source, the pair queue and the state table. */
  readonly sourceRegion: string;
  /** AWS endpoint override (e.g. the local cloud). @default - the SDK's endpoints */
  readonly endpoint?: string;
  /** The pair queue's URL, where repairs go; without it nothing is repaired. */
  readonly queueUrl?: string;
  readonly repair: boolean;
  readonly deleteExtra: boolean;
  /** Parallel scan segments per table (DynamoDB pairs). */
  readonly segments: number;
  /** Read units (S3: requests) per second over the whole run (a reconcile's pace). */
  readonly readRate: number;
  readonly store: CheckpointStore;
  /** What the run is for. @default 'reconcile' */
  readonly mode?: RunMode;
  /** The targets the run covers (ids). @default - every target of the pair */
  readonly targetIds?: readonly string[];
  /** Source items (objects) per second at most (a backfill's pace). @default - not paced by items */
  readonly itemRate?: number;
}

/** How the demo drives one pair: write its workload, verify its targets. */
export interface DemoDriver {
  readonly name: string;
  readonly kind: 'items' | 'objects';
  readonly targetIds: string[];
  readonly writes: number;
  write(onDone: () => void): Promise<void>;
  verify(): Promise<Map<string, TargetDiff>>;
}

/** The demo's workload size. */
export interface DemoSize {
  /** Writes per table pair. */
  readonly ops: number;
  /** Offered writes per second per pair. */
  readonly rate: number;
  /** Small objects per bucket pair (plus a zero-byte and a multipart-sized one). */
  readonly s3Objects: number;
}

/** The CLI's side of one pair type. */
export interface CliPairDriver<P extends PairConfig> {
  /** What the type's source holds, as messages count it. */
  readonly kind: 'items' | 'objects';
  /** One invocation of the pair's reconcile run, in this process, until `deadlineMs`. */
  reconcileRunner(pair: P, o: ReconcileContext): Promise<(deadlineMs: number) => Promise<ReconcileResult>>;
  /** Compares the source with each target, item by item or object by object. */
  verify(cloud: Pick<LocalCloud, 'endpoint' | 'config'>, pair: P): Promise<Map<string, TargetDiff>>;
  /** The pair's part of the local demo. */
  demo(cloud: Pick<LocalCloud, 'endpoint' | 'config'>, pair: P, size: DemoSize): DemoDriver;
}
