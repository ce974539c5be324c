/**
 * The replication pairs schema and its validation.
 *
 * One place validates a config, whether it arrives as typed stack props or as `replication.config.json`:
 * every error names the field (as a path such as `pairs[0].targets[1].region`), the value given and what
 * is allowed, so a bad config fails at synth time and the user can fix it from the message alone.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** Commercial AWS regions Replicator can deploy to. */
export const AWS_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-1',
  'ap-south-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-7',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ca-central-1',
  'ca-west-1',
  'eu-central-1',
  'eu-central-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-south-1',
  'eu-south-2',
  'eu-north-1',
  'il-central-1',
  'me-south-1',
  'me-central-1',
  'mx-central-1',
  'sa-east-1',
] as const;

/** An AWS region name from {@link AWS_REGIONS}. */
export type Region = (typeof AWS_REGIONS)[number];

const regionSchema = z.string().refine((r): r is Region => (AWS_REGIONS as readonly string[]).includes(r), {
  message: `unknown region; allowed: ${AWS_REGIONS.join(', ')}`,
});

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
const accountSchema = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id');
const roleArnSchema = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'must be an IAM role ARN');

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
});

const dynamoTargetSchema = z.strictObject({
  region: regionSchema,
  table: tableNameSchema,
  /** `true` creates the table with the source's key schema; a key schema creates it with that one. */
  create: z.union([z.boolean(), keySchemaSchema]).optional(),
  account: accountSchema.optional(),
  roleArn: roleArnSchema.optional(),
  externalId: z.string().min(2).max(1224).optional(),
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
  /** SQS messages per apply invocation. */
  applyBatchSize: z.int().min(1).max(10).optional(),
  /** Attempts of an envelope before it is dead-lettered with its last error. */
  maxAttempts: z.int().min(1).max(50).optional(),
  /** Envelopes packed into one SQS message at most. */
  envelopesPerMessage: z.int().min(1).max(500).optional(),
  /** Concurrent apply invocations at most (Lambda SQS maximum concurrency). */
  applyConcurrency: z.int().min(2).max(1000).optional(),
});

const pairNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,39}$/, 'must start with a-z and hold 1-40 characters of a-z 0-9 -');

const dynamoPairSchema = z.strictObject({
  name: pairNameSchema,
  type: z.literal('dynamodb'),
  source: dynamoSourceSchema,
  targets: z.array(dynamoTargetSchema).min(1, 'must list at least one target'),
  filter: dynamoFilterSchema.optional(),
  options: pairOptionsSchema.optional(),
});

const pairSchema = z.discriminatedUnion('type', [dynamoPairSchema], {
  error: (issue) => (issue.code === 'invalid_union' ? 'unsupported pair type; allowed: "dynamodb"' : undefined),
});

const reconcileSchema = z.strictObject({
  schedule: z
    .string()
    .regex(/^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$/, 'must be rate(N unit) or cron(...)'),
  repair: z.boolean(),
});

const configSchema = z.strictObject({
  sourceRegion: regionSchema,
  /** Account the stacks deploy to; the CDK default account when omitted. */
  account: accountSchema.optional(),
  pairs: z.array(pairSchema).min(1, 'must list at least one pair'),
  reconcile: reconcileSchema.optional(),
});

/** A replication config as written by the user (JSON file or stack props). */
export type ReplicationConfigInput = z.input<typeof configSchema>;
/** A validated replication config. */
export type ReplicationConfig = z.output<typeof configSchema>;
/** A validated DynamoDB pair. */
export type DynamoPairConfig = z.output<typeof dynamoPairSchema>;
/** A validated DynamoDB target. */
export type DynamoTargetConfig = z.output<typeof dynamoTargetSchema>;
/** A key schema: `name:TYPE` attributes. */
export type KeySchemaConfig = z.output<typeof keySchemaSchema>;
/** Tuning options of a pair. */
export type PairOptions = z.output<typeof pairOptionsSchema>;

/** Defaults of {@link PairOptions}; each is documented where the option is declared. */
export const PAIR_DEFAULTS: Required<PairOptions> = {
  captureBatchSize: 100,
  applyBatchSize: 10,
  maxAttempts: 5,
  envelopesPerMessage: 25,
  applyConcurrency: 10,
};

/** A config that failed validation; `issues` holds one line per problem. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: string[],
  ) {
    super(`Invalid replication config (${source}):\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type PathKey = PropertyKey;

function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const p of path) {
    out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(root)' : out;
}

function valueAt(input: unknown, path: readonly PathKey[]): unknown {
  let v: unknown = input;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const s = JSON.stringify(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
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

/** Stable id of a target inside its pair, e.g. `eu-west-1/orders` (with the account when it has one). */
export function targetId(target: DynamoTargetConfig): string {
  return target.account ? `${target.account}/${target.region}/${target.table}` : `${target.region}/${target.table}`;
}

function crossFieldIssues(cfg: ReplicationConfig): string[] {
  const issues: string[] = [];
  const seenPairs = new Map<string, number>();
  cfg.pairs.forEach((pair, i) => {
    const at = `pairs[${i}]`;
    const first = seenPairs.get(pair.name);
    if (first !== undefined) {
      issues.push(`${at}.name: duplicate pair name (given "${pair.name}", already used by pairs[${first}])`);
    } else {
      seenPairs.set(pair.name, i);
    }
    const seenTargets = new Map<string, number>();
    pair.targets.forEach((t, j) => {
      const tAt = `${at}.targets[${j}]`;
      const sameAccount = t.account === undefined || t.account === cfg.account;
      if (t.region === cfg.sourceRegion && t.table === pair.source.table && sameAccount) {
        issues.push(
          `${tAt}: target repeats the source (given region "${t.region}" and table "${t.table}"); use another region, table or account`,
        );
      }
      const id = targetId(t);
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
      if (t.account !== undefined && cfg.account !== undefined && t.account !== cfg.account && !t.roleArn) {
        issues.push(
          `${tAt}.roleArn: a target in another account (given account "${t.account}") needs a roleArn to assume`,
        );
      }
      if (t.externalId !== undefined && !t.roleArn) {
        issues.push(`${tAt}.externalId: an external id only applies with a roleArn (given "${t.externalId}")`);
      }
      if (t.create && t.account !== undefined && t.account !== cfg.account) {
        issues.push(
          `${tAt}.create: Replicator creates targets only in its own account (given account "${t.account}"); create the table there and import it`,
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
      if (region !== cfg.sourceRegion) {
        issues.push(
          `${at}.source.streamArn: stream is in region "${region}" but sourceRegion is "${cfg.sourceRegion}" (given "${pair.source.streamArn}")`,
        );
      }
    }
  });
  return issues;
}

/**
 * Validates a config and returns it typed, or throws a {@link ConfigError} that lists every problem.
 * @param input the parsed JSON or stack props
 * @param source where it came from, for the message (a file path or "stack props")
 */
export function parseConfig(input: unknown, source = 'stack props'): ReplicationConfig {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        const base = issue.path;
        return `${formatPath(base)}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
      }
      return `${formatPath(issue.path)}: ${issue.message} (given ${show(valueAt(input, issue.path))})`;
    });
    throw new ConfigError(source, issues);
  }
  const issues = crossFieldIssues(result.data);
  if (issues.length > 0) throw new ConfigError(source, issues);
  return result.data;
}

/** Reads and validates a JSON config file. */
export function loadConfigFile(path: string): ReplicationConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot read the file: ${(err as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, [`not valid JSON: ${(err as Error).message}`]);
  }
  return parseConfig(json, path);
}

/** Every region a config involves: the source region first, then each target region once. */
export function regionsOf(cfg: ReplicationConfig): Region[] {
  const out: Region[] = [cfg.sourceRegion];
  for (const pair of cfg.pairs) {
    for (const t of pair.targets) if (!out.includes(t.region)) out.push(t.region);
  }
  return out;
}
