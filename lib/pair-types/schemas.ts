/**
 * The CDK-free half of the pair-type registry: the union of pair types and, by type, each type's schema entry
 * (`DYNAMODB_SCHEMA`, `S3_SCHEMA`). lib/config.ts decides on a pair's type only through the helpers here;
 * `registry.ts` is the stacks half. A new type joins {@link pairSchema}'s union, and then fails to compile
 * until {@link PAIR_SCHEMAS} and `PAIR_TYPES` (registry.ts) have its entry.
 */
import { z } from 'zod';
import { formatTargetId, type IssueContext, type PairTypeSchema } from './common-schema';
import { DYNAMODB_SCHEMA, dynamoPairSchema } from './dynamodb-schema';
import { S3_SCHEMA, s3PairSchema } from './s3-schema';

/** The schema of a pair of any type: the union of the pair types' schemas, told apart by `type`. */
export const pairSchema = z.discriminatedUnion('type', [dynamoPairSchema, s3PairSchema], {
  error: (issue): string | undefined =>
    issue.code === 'invalid_union' ? `unsupported pair type; allowed: ${allowedTypes()}` : undefined,
});

/** A validated pair of any type. */
export type PairConfig = z.output<typeof pairSchema>;
/** A pair type: `dynamodb` or `s3`. */
export type PairType = PairConfig['type'];
/** The pair config of one type. */
export type PairOf<K extends PairType> = Extract<PairConfig, { readonly type: K }>;
/** The target config of a pair config. */
export type TargetOf<P extends PairConfig> = P['targets'][number];
/** A validated target of any pair type. */
export type TargetConfig = TargetOf<PairConfig>;

/** Each pair type's schema entry; the mapped type makes a type without one a compile error. */
export const PAIR_SCHEMAS: { readonly [K in PairType]: PairTypeSchema<PairOf<K>> } = {
  dynamodb: DYNAMODB_SCHEMA,
  s3: S3_SCHEMA,
};

/** Every pair type, in registry order. */
export const PAIR_TYPE_NAMES = Object.keys(PAIR_SCHEMAS) as readonly PairType[];

/** The pair types as a message lists them: `"dynamodb", "s3"`. Called while parsing, once the registry exists. */
function allowedTypes(): string {
  return PAIR_TYPE_NAMES.map((t) => `"${t}"`).join(', ');
}

/**
 * The schema entry of a pair's type. {@link PAIR_SCHEMAS} pairs each type with the entry of its own config, a
 * correlation TypeScript cannot follow through an index: this is the one cast that restates it.
 */
function schemaOf<P extends PairConfig>(pair: P): PairTypeSchema<P> {
  return PAIR_SCHEMAS[pair.type as PairType] as unknown as PairTypeSchema<P>;
}

/** A target's name in its region: its table or bucket name. */
export function targetName<P extends PairConfig>(pair: P, target: TargetOf<P>): string {
  return schemaOf(pair).targetName(target);
}

/**
 * Stable id of a target inside its pair: `region/table` or `region/bucket` (e.g. `eu-west-1/orders`), with the
 * account in front when the target names one (`210987654321/eu-west-1/orders`). Its metrics' Target dimension.
 */
export function targetId<P extends PairConfig>(pair: P, target: TargetOf<P>): string {
  return formatTargetId(target, targetName(pair, target));
}

/** The ids of a pair's targets, in config order. */
export function targetIds(pair: PairConfig): string[] {
  return (pair.targets as readonly TargetConfig[]).map((t) => targetId(pair, t));
}

/** What a target of the pair's type is called in messages: `table` or `bucket`. */
export function targetNoun(pair: PairConfig): string {
  return schemaOf(pair).targetNoun;
}

/** Cross-field issues of one pair, by its type's checks. */
export function pairTypeIssues(ctx: IssueContext, pair: PairConfig, at: string): string[] {
  return schemaOf(pair).pairIssues(ctx, pair, at);
}

/** Issues between the pairs of each type (e.g. a bucket created twice), type by type in registry order. */
export function pairsTypeIssues(pairs: readonly PairConfig[]): string[] {
  return PAIR_TYPE_NAMES.flatMap((type) => {
    const ofType = pairs.flatMap((pair, i) => (pair.type === type ? [{ pair, at: `pairs[${i}]` }] : []));
    return (PAIR_SCHEMAS[type] as PairTypeSchema<PairConfig>).pairsIssues(ofType);
  });
}

/** A target with `create` (one the stacks create), with its pair; `type` is the pair's. */
export type CreatedTarget = {
  [K in PairType]: { readonly type: K; readonly pair: PairOf<K>; readonly target: TargetOf<PairOf<K>> };
}[PairType];

/** The targets with `create` of one pair in one region, in config order. */
export function createdTargetsOf(pair: PairConfig, region: string): CreatedTarget[] {
  return (pair.targets as readonly TargetConfig[])
    .filter((t) => t.create && t.region === region)
    .map((target) => ({ type: pair.type, pair, target }) as CreatedTarget);
}

/**
 * The `default` of an exhaustive `switch` on a pair's type: `pair` is `never` once every type has its case, so
 * a new type fails to compile there; at run time (an unvalidated config) it throws.
 */
export function unhandledPairType(pair: never): never {
  throw new Error(`Unsupported pair type "${(pair as { type?: unknown }).type}"`);
}
