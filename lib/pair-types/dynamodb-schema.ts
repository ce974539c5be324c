/**
 * The DynamoDB pair type's part of the config: its pair, source, target, filter and options schemas, the
 * options' defaults, and the cross-field checks zod cannot express. CDK-free (the CLI loads it through
 * lib/config.ts); its stacks side is `dynamodb.ts`.
 */
import { z } from 'zod';
import type { TableTargetEnv } from '../../functions/contract';
import {
  accountSchema,
  COMMON_PAIR_DEFAULTS,
  commonOptionShape,
  externalIdSchema,
  formatTargetId,
  type IssueContext,
  kmsKeyArnSchema,
  type PairTypeSchema,
  pairNameSchema,
  regionSchema,
  roleArnSchema,
  show,
  withDefaults,
} from './common-schema';

/** `name:TYPE` where TYPE is a DynamoDB key type (S, N or B). */
const keyAttributeSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.\-:#]{1,255}:(S|N|B)$/, 'must be "attributeName:TYPE" with TYPE one of S, N, B');

/** Key schema of a table that the stack creates. */
const keySchemaSchema = z.strictObject({
  partitionKey: keyAttributeSchema,
  sortKey: keyAttributeSchema.optional(),
});

const tableNameSchema = z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be 3-255 characters of A-Z a-z 0-9 _ . -');

const dynamoSourceSchema = z.strictObject({
  /** Source table name (in the config's sourceRegion). */
  table: tableNameSchema,
  /** Create the table (with a NEW_AND_OLD_IMAGES stream) with this key schema; omit to import it by name. */
  create: keySchemaSchema.optional(),
  /** Stream ARN of an imported table; looked up at synth time when omitted. */
  streamArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table\/[^/]+\/stream\/.+$/, 'must be a DynamoDB stream ARN')
    .optional(),
  /** The customer managed KMS key an imported table is encrypted with: its readers are granted its use. */
  kmsKeyArn: kmsKeyArnSchema.optional(),
});

const dynamoTargetSchema = z.strictObject({
  region: regionSchema,
  table: tableNameSchema,
  /** `true` creates the table with the source's key schema; a key schema creates it with that one. */
  create: z.union([z.boolean(), keySchemaSchema]).optional(),
  account: accountSchema.optional(),
  roleArn: roleArnSchema.optional(),
  externalId: externalIdSchema.optional(),
  /** The customer managed KMS key an imported target table is encrypted with: its writers are granted its use. */
  kmsKeyArn: kmsKeyArnSchema.optional(),
});

const attributeListSchema = z.array(z.string().min(1).max(255)).min(1);

const dynamoFilterSchema = z.strictObject({
  /** Replicate only these attributes (key attributes are always replicated). */
  allow: attributeListSchema.optional(),
  /** Replicate every attribute but these (key attributes cannot be denied). */
  deny: attributeListSchema.optional(),
});

const pairOptionsSchema = z.strictObject({
  /** Stream records per capture invocation. */
  captureBatchSize: z.int().min(1).max(10000).optional(),
  ...commonOptionShape,
});

/** The schema of a DynamoDB pair (`type: "dynamodb"`), one member of the config's union of pair types. */
export const dynamoPairSchema = z.strictObject({
  name: pairNameSchema,
  type: z.literal('dynamodb'),
  source: dynamoSourceSchema,
  targets: z.array(dynamoTargetSchema).min(1, 'must list at least one target'),
  filter: dynamoFilterSchema.optional(),
  options: pairOptionsSchema.optional(),
  /** Let a reconcile with repair delete target items the source does not have (otherwise they are only reported). */
  deleteExtra: z.boolean().optional(),
});

/** A validated DynamoDB pair. */
export type DynamoPairConfig = z.output<typeof dynamoPairSchema>;
/** A validated DynamoDB target. */
export type DynamoTargetConfig = z.output<typeof dynamoTargetSchema>;
/** A key schema: `name:TYPE` attributes. */
export type KeySchemaConfig = z.output<typeof keySchemaSchema>;
/** Tuning options of a DynamoDB pair. */
export type PairOptions = z.output<typeof pairOptionsSchema>;

/** Defaults of {@link PairOptions}; each is documented where the option is declared. */
export const PAIR_DEFAULTS: Required<PairOptions> = {
  captureBatchSize: 100,
  ...COMMON_PAIR_DEFAULTS,
};

/** A DynamoDB pair's options, each unset one at its {@link PAIR_DEFAULTS} value. */
export function dynamoPairOptions(pair: DynamoPairConfig): Required<PairOptions> {
  return withDefaults(pair.options, PAIR_DEFAULTS);
}

/** The key attribute names of a key schema (`pk:S` → `pk`). */
export function keyAttributeNames(keys: KeySchemaConfig): string[] {
  const names = [keys.partitionKey];
  if (keys.sortKey) names.push(keys.sortKey);
  return names.map((k) => k.slice(0, k.lastIndexOf(':')));
}

/** The key schema a created target gets: its own, else the source's. */
export function targetKeySchema(pair: DynamoPairConfig, target: DynamoTargetConfig): KeySchemaConfig | undefined {
  if (typeof target.create === 'object') return target.create;
  return pair.source.create;
}

/** The id of a DynamoDB target: `region/table`, or `account/region/table`. */
export function dynamoTargetId(target: DynamoTargetConfig): string {
  return formatTargetId(target, target.table);
}

/** The pair's targets as its functions' TARGETS variable describes them (the stacks write it, the CLI reads it). */
export function tableTargetsEnv(pair: DynamoPairConfig): TableTargetEnv[] {
  return pair.targets.map((t) => ({
    id: dynamoTargetId(t),
    region: t.region,
    table: t.table,
    ...(t.roleArn ? { roleArn: t.roleArn } : {}),
    ...(t.externalId ? { externalId: t.externalId } : {}),
  }));
}

/**
 * Cross-field issues of one DynamoDB pair: a target that repeats the source or another target, `create: true`
 * without a key schema, a filter with both lists or a denied key, a stream ARN of another table or region.
 */
export function dynamoPairIssues(ctx: IssueContext, pair: DynamoPairConfig, at: string): string[] {
  const issues: string[] = [];
  const seenTargets = new Map<string, number>();
  pair.targets.forEach((t, j) => {
    const tAt = `${at}.targets[${j}]`;
    const sameAccount = t.account === undefined || t.account === ctx.account;
    if (t.region === ctx.sourceRegion && t.table === pair.source.table && sameAccount) {
      issues.push(
        `${tAt}: target repeats the source (given region "${t.region}" and table "${t.table}"); use another region, table or account`,
      );
    }
    const id = dynamoTargetId(t);
    const dup = seenTargets.get(id);
    if (dup !== undefined) {
      issues.push(`${tAt}: duplicate target (given "${id}", already listed as ${at}.targets[${dup}])`);
    } else {
      seenTargets.set(id, j);
    }
    if (t.create === true && !pair.source.create) {
      issues.push(
        `${tAt}.create: true needs a key schema, but the source is imported (given create: true); give create: { "partitionKey": "name:S", "sortKey": ... }`,
      );
    }
  });
  if (pair.filter?.allow && pair.filter.deny) {
    issues.push(`${at}.filter: give either allow or deny, not both (given ${show(pair.filter)})`);
  }
  if (pair.filter?.deny && pair.source.create) {
    const keys = keyAttributeNames(pair.source.create);
    for (const name of pair.filter.deny) {
      if (keys.includes(name)) {
        issues.push(`${at}.filter.deny: key attributes are always replicated (given "${name}")`);
      }
    }
  }
  if (pair.source.streamArn) {
    const region = pair.source.streamArn.split(':')[3];
    const table = pair.source.streamArn.split(':')[5]?.split('/')[1];
    if (table !== pair.source.table) {
      issues.push(
        `${at}.source.streamArn: stream belongs to table "${table}" but the source table is "${pair.source.table}" (given "${pair.source.streamArn}")`,
      );
    }
    if (region !== ctx.sourceRegion) {
      issues.push(
        `${at}.source.streamArn: stream is in region "${region}" but sourceRegion is "${ctx.sourceRegion}" (given "${pair.source.streamArn}")`,
      );
    }
  }
  return issues;
}

/** The DynamoDB pair type's entry in the schema registry (`schemas.ts`). */
export const DYNAMODB_SCHEMA: PairTypeSchema<DynamoPairConfig> = {
  targetNoun: 'table',
  targetName: (target) => target.table,
  pairIssues: dynamoPairIssues,
  // A table created twice in one region fails in its target stack, which sees the region's tables together.
  pairsIssues: () => [],
};
