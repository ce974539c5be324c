/**
 * The pair-type registry, stacks side: every pair type's module by type ({@link PAIR_TYPES}), and the helpers
 * through which the stacks build a pair or a created target without deciding on its type themselves. The
 * type union and the CDK-free half (schemas, naming, checks) are in `schemas.ts`.
 *
 * Adding a pair type: its `<type>-schema.ts` (with a `PairTypeSchema`) joins the union of `pairSchema` and
 * `PAIR_SCHEMAS`; its `<type>.ts` (with a `PairTypeModule`) joins {@link PAIR_TYPES}. Until both have an
 * entry, and every exhaustive `switch` on `pair.type` has a case, the project does not compile.
 */
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { pairResourceNames } from '../../functions/contract';
import { DYNAMODB_PAIR_TYPE } from './dynamodb';
import type { PairBuildContext, PairTypeModule, TargetBuildContext } from './pair-type';
import { S3_PAIR_TYPE } from './s3';
import type { CreatedTarget, PairConfig, PairOf, PairType, TargetConfig, TargetOf } from './schemas';

export type { CreatedTarget, PairConfig, PairOf, PairType, TargetConfig, TargetOf } from './schemas';

/** Each pair type's stacks module; the mapped type makes a type without one a compile error. */
export const PAIR_TYPES = {
  dynamodb: DYNAMODB_PAIR_TYPE,
  s3: S3_PAIR_TYPE,
} as const satisfies { readonly [K in PairType]: PairTypeModule<PairOf<K>> };

/** The source-region construct of a pair of any type (`TablePair`, `BucketPair`). */
export type BuiltPair = ReturnType<(typeof PAIR_TYPES)[PairType]['buildPair']>;

/** The created target resource of any type (`TargetTable`, `TargetBucket`). */
export type BuiltTarget = ReturnType<(typeof PAIR_TYPES)[PairType]['buildTarget']>;

/**
 * The module of a pair's type. {@link PAIR_TYPES} pairs each type with the module of its own config, a
 * correlation TypeScript cannot follow through an index: this is the one cast that restates it.
 */
function moduleOf<P extends PairConfig>(pair: P): PairTypeModule<P> {
  return PAIR_TYPES[pair.type as PairType] as unknown as PairTypeModule<P>;
}

/** Builds a pair's source-region construct with its type's module. */
export function buildPair(scope: Construct, id: string, pair: PairConfig, context: PairBuildContext): BuiltPair {
  return moduleOf(pair).buildPair(scope, id, pair, context) as BuiltPair;
}

/** Builds a created target's resource with its pair type's module. */
export function buildTarget(
  scope: Construct,
  id: string,
  created: CreatedTarget,
  context: TargetBuildContext,
): BuiltTarget {
  const { pair, target } = created as { readonly pair: PairConfig; readonly target: TargetOf<PairConfig> };
  return moduleOf(pair).buildTarget(scope, id, pair, target, context) as BuiltTarget;
}

/** The statements a target's role must allow for one target (its pair type's `targetRole.statements`). */
export function targetRoleStatements(scope: Construct, pair: PairConfig, target: TargetConfig): iam.PolicyStatement[] {
  return moduleOf(pair).targetRole.statements(scope, pair, target as TargetOf<PairConfig>);
}

/** The name of the function that writes a pair's targets (apply or copy). */
export function applierFunctionName(pair: PairConfig): string {
  return pairResourceNames(pair.name)[moduleOf(pair).targetRole.applier];
}
