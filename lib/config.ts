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

/** Options that every pair type shares: how envelopes travel from capture to apply (or copy). */
const commonOptionShape = {
  /** SQS messages per apply (or copy) invocation. */
  applyBatchSize: z.int().min(1).max(10).optional(),
  /** Attempts of an envelope before it is dead-lettered with its last error. */
  maxAttempts: z.int().min(1).max(50).optional(),
  /** Envelopes packed into one SQS message at most. */
  envelopesPerMessage: z.int().min(1).max(500).optional(),
  /** Concurrent apply (or copy) invocations at most (Lambda SQS maximum concurrency). */
  applyConcurrency: z.int().min(2).max(1000).optional(),
};

const pairOptionsSchema = z.strictObject({
  /** Stream records per capture invocation. */
  captureBatchSize: z.int().min(1).max(10000).optional(),
  ...commonOptionShape,
});

/** One mebibyte, the unit of S3's part size limits. */
const MiB = 1024 * 1024;
/** One gibibyte. */
const GiB = 1024 * MiB;

const s3PairOptionsSchema = z.strictObject({
  /** Objects of at least this many bytes are copied in parts (UploadPartCopy); smaller ones with CopyObject. */
  multipartThresholdBytes: z
    .int()
    .min(5 * MiB)
    .max(5 * GiB)
    .optional(),
  /** Size of each part of a multipart copy (S3 allows 5 MiB to 5 GiB; the last part may be smaller). */
  partSizeBytes: z
    .int()
    .min(5 * MiB)
    .max(5 * GiB)
    .optional(),
  /** Parts (or objects) one copy invocation copies at the same time at most. */
  copyConcurrency: z.int().min(1).max(64).optional(),
  ...commonOptionShape,
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
  /** Let a reconcile with repair delete target items the source does not have (otherwise they are only reported). */
  deleteExtra: z.boolean().optional(),
});

/** S3 storage classes a target may write objects in. */
export const S3_STORAGE_CLASSES = [
  'STANDARD',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER_IR',
  'GLACIER',
  'DEEP_ARCHIVE',
] as const;

/**
 * Why a bucket name breaks S3's naming rules, or undefined when it follows them
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html, general purpose buckets).
 */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'must be 3-63 characters long';
  if (!/^[a-z0-9.-]+$/.test(name)) return 'must hold only lowercase letters, digits, "." and "-"';
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return 'must start and end with a letter or digit';
  if (name.includes('..')) return 'must not hold two adjacent periods';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'must not be formatted as an IP address';
  for (const prefix of ['xn--', 'sthree-', 'amzn-s3-demo-']) {
    if (name.startsWith(prefix)) return `must not start with the reserved prefix "${prefix}"`;
  }
  for (const suffix of ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3']) {
    if (name.endsWith(suffix)) return `must not end with the reserved suffix "${suffix}"`;
  }
  return undefined;
}

const bucketNameSchema = z.string().superRefine((name, ctx) => {
  const problem = bucketNameProblem(name);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `bucket name ${problem}` });
});

/** A key prefix or suffix filter; IAM wildcards would widen the prefix-scoped grants, so they are refused. */
const keyFilterSchema = z
  .string()
  .min(1)
  .max(1024)
  .regex(/^[^*?]*$/, 'must not contain "*" or "?" (IAM wildcards: the grants are scoped to the prefix)')
  .refine((s) => !s.includes('${'), 'must not contain "${" (an IAM policy variable)');

const s3SourceSchema = z.strictObject({
  /** Source bucket name (in the config's sourceRegion). */
  bucket: bucketNameSchema,
  /** Create the bucket (`{ versioned: true }`: with versioning); omit to import it by name. */
  create: z.union([z.boolean(), z.strictObject({ versioned: z.boolean().optional() })]).optional(),
});

const s3TargetSchema = z.strictObject({
  region: regionSchema,
  bucket: bucketNameSchema,
  /** Create the bucket in the target's region (versioned when the source is created versioned). */
  create: z.boolean().optional(),
  account: accountSchema.optional(),
  roleArn: roleArnSchema.optional(),
  externalId: z.string().min(2).max(1224).optional(),
  /** Storage class of the copies. */
  storageClass: z.enum(S3_STORAGE_CLASSES).optional(),
});

const s3PairSchema = z.strictObject({
  name: pairNameSchema,
  type: z.literal('s3'),
  /** Replicate only keys that start with this. */
  prefix: keyFilterSchema.optional(),
  /** Replicate only keys that end with this. */
  suffix: keyFilterSchema.optional(),
  source: s3SourceSchema,
  targets: z.array(s3TargetSchema).min(1, 'must list at least one target'),
  options: s3PairOptionsSchema.optional(),
  /** Let a reconcile with repair delete target objects the source does not have (otherwise they are only reported). */
  deleteExtra: z.boolean().optional(),
});

const pairSchema = z.discriminatedUnion('type', [dynamoPairSchema, s3PairSchema], {
  error: (issue) => (issue.code === 'invalid_union' ? 'unsupported pair type; allowed: "dynamodb", "s3"' : undefined),
});

const reconcileSchema = z.strictObject({
  schedule: z
    .string()
    .regex(/^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$/, 'must be rate(N unit) or cron(...)')
    // A run may use the reconcile function's whole 900 s timeout; a shorter rate would start a second run
    // on the same checkpoint while the first is still going.
    .refine((v) => {
      const m = /^rate\((\d+) minutes?\)$/.exec(v);
      return m === null || Number(m[1]) >= 15;
    }, 'must be at least 15 minutes apart, the reconcile function may run for its whole 900 s timeout'),
  repair: z.boolean(),
  /** Read capacity units per second one reconcile run may spend over all its scans and lookups. */
  readRate: z.int().min(1).max(100_000).optional(),
  /** Parallel scan segments per table. */
  segments: z.int().min(1).max(64).optional(),
});

const alarmsSchema = z.strictObject({
  /** Address subscribed to the alarm topic (it must confirm the subscription). */
  email: z.email('must be an e-mail address').optional(),
  /** p99 ReplicationLatency (milliseconds, over 5 minutes) above which a target's latency alarm fires. */
  latencyP99Ms: z.int().min(1000).max(3_600_000).optional(),
});

const configSchema = z.strictObject({
  sourceRegion: regionSchema,
  /** Account the stacks deploy to; the CDK default account when omitted. */
  account: accountSchema.optional(),
  pairs: z.array(pairSchema).min(1, 'must list at least one pair'),
  reconcile: reconcileSchema.optional(),
  /** Where alarms go and their thresholds. */
  alarms: alarmsSchema.optional(),
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
/** Tuning options of a DynamoDB pair. */
export type PairOptions = z.output<typeof pairOptionsSchema>;
/** A validated S3 pair. */
export type S3PairConfig = z.output<typeof s3PairSchema>;
/** A validated S3 target. */
export type S3TargetConfig = z.output<typeof s3TargetSchema>;
/** Tuning options of an S3 pair. */
export type S3PairOptions = z.output<typeof s3PairOptionsSchema>;
/** A validated pair of any type. */
export type PairConfig = z.output<typeof pairSchema>;
/** A validated target of any pair type. */
export type TargetConfig = DynamoTargetConfig | S3TargetConfig;

/** Alarm settings of a deployment. */
export type AlarmsConfig = z.output<typeof alarmsSchema>;

/** Defaults of {@link AlarmsConfig}; `email` has none (no subscription). */
export const ALARMS_DEFAULTS: Required<Omit<AlarmsConfig, 'email'>> = {
  latencyP99Ms: 60_000,
};

/** Reconcile settings of a deployment. */
export type ReconcileConfig = z.output<typeof reconcileSchema>;

/** Defaults of {@link ReconcileConfig}'s tuning fields, and of a DynamoDB pair's `deleteExtra`. */
export const RECONCILE_DEFAULTS = {
  readRate: 100,
  segments: 4,
  deleteExtra: false,
} as const;

/** Defaults of {@link PairOptions}; each is documented where the option is declared. */
export const PAIR_DEFAULTS: Required<PairOptions> = {
  captureBatchSize: 100,
  applyBatchSize: 10,
  maxAttempts: 5,
  envelopesPerMessage: 25,
  applyConcurrency: 10,
};

/** Defaults of {@link S3PairOptions}; each is documented where the option is declared. */
export const S3_PAIR_DEFAULTS: Required<S3PairOptions> = {
  multipartThresholdBytes: 64 * MiB,
  partSizeBytes: 64 * MiB,
  copyConcurrency: 8,
  maxAttempts: PAIR_DEFAULTS.maxAttempts,
  applyBatchSize: PAIR_DEFAULTS.applyBatchSize,
  applyConcurrency: PAIR_DEFAULTS.applyConcurrency,
  envelopesPerMessage: PAIR_DEFAULTS.envelopesPerMessage,
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

/**
 * Stable id of a target inside its pair: `region/table` or `region/bucket` (e.g. `eu-west-1/orders`), with the
 * account in front when the target names one (`210987654321/eu-west-1/orders`).
 */
export function targetId(target: TargetConfig): string {
  const name = 'table' in target ? target.table : target.bucket;
  return target.account ? `${target.account}/${target.region}/${name}` : `${target.region}/${name}`;
}

/** Issues that both pair types share: the name, and each target's account, role and external id. */
function commonPairIssues(
  cfg: ReplicationConfig,
  pair: PairConfig,
  index: number,
  seenPairs: Map<string, number>,
): string[] {
  const issues: string[] = [];
  const at = `pairs[${index}]`;
  const first = seenPairs.get(pair.name);
  if (first !== undefined) {
    issues.push(`${at}.name: duplicate pair name (given "${pair.name}", already used by pairs[${first}])`);
  } else {
    seenPairs.set(pair.name, index);
  }
  const what = pair.type === 'dynamodb' ? 'table' : 'bucket';
  pair.targets.forEach((t: TargetConfig, j) => {
    const tAt = `${at}.targets[${j}]`;
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
        `${tAt}.create: Replicator creates targets only in its own account (given account "${t.account}"); create the ${what} there and import it`,
      );
    }
  });
  return issues;
}

function dynamoPairIssues(cfg: ReplicationConfig, pair: DynamoPairConfig, at: string): string[] {
  const issues: string[] = [];
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
  return issues;
}

function s3PairIssues(pair: S3PairConfig, at: string): string[] {
  const issues: string[] = [];
  // Bucket names are global (one namespace per partition), so a bucket is the same whatever region or
  // account a target names: compare names alone.
  const seenBuckets = new Map<string, number>();
  pair.targets.forEach((t, j) => {
    const tAt = `${at}.targets[${j}]`;
    if (t.bucket === pair.source.bucket) {
      issues.push(
        `${tAt}: target repeats the source (given region "${t.region}" and bucket "${t.bucket}"); bucket names are global, so use another bucket`,
      );
    }
    const dup = seenBuckets.get(t.bucket);
    if (dup !== undefined) {
      issues.push(`${tAt}: duplicate target (given "${targetId(t)}", already listed as ${at}.targets[${dup}])`);
    } else {
      seenBuckets.set(t.bucket, j);
    }
  });
  return issues;
}

/** Bucket names are global: each bucket may be created once, and be the source of one pair (its notifications). */
function bucketIssues(cfg: ReplicationConfig): string[] {
  const issues: string[] = [];
  const created = new Map<string, string>();
  const sources = new Map<string, string>();
  const create = (bucket: string, at: string) => {
    const first = created.get(bucket);
    if (first !== undefined) {
      issues.push(`${at}.create: bucket "${bucket}" is already created by ${first}; bucket names are global`);
    } else {
      created.set(bucket, at);
    }
  };
  cfg.pairs.forEach((pair, i) => {
    if (pair.type !== 's3') return;
    const at = `pairs[${i}]`;
    const first = sources.get(pair.source.bucket);
    if (first !== undefined) {
      issues.push(
        `${at}.source.bucket: bucket "${pair.source.bucket}" is already the source of ${first}; a bucket can be the source of one pair only (give that pair more targets instead)`,
      );
    } else {
      sources.set(pair.source.bucket, at);
    }
    if (pair.source.create) create(pair.source.bucket, `${at}.source`);
    pair.targets.forEach((t, j) => {
      if (t.create) create(t.bucket, `${at}.targets[${j}]`);
    });
  });
  return issues;
}

function crossFieldIssues(cfg: ReplicationConfig): string[] {
  const issues: string[] = [];
  const seenPairs = new Map<string, number>();
  cfg.pairs.forEach((pair, i) => {
    const at = `pairs[${i}]`;
    issues.push(...commonPairIssues(cfg, pair, i, seenPairs));
    issues.push(...(pair.type === 'dynamodb' ? dynamoPairIssues(cfg, pair, at) : s3PairIssues(pair, at)));
  });
  issues.push(...bucketIssues(cfg));
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

/** Every region a config involves: the source region first, then each target region once (tables and buckets). */
export function regionsOf(cfg: ReplicationConfig): Region[] {
  const out: Region[] = [cfg.sourceRegion];
  for (const pair of cfg.pairs) {
    for (const t of pair.targets) if (!out.includes(t.region)) out.push(t.region);
  }
  return out;
}
