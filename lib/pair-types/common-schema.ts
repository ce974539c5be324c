/**
 * What every pair type's config schema is built from: regions, accounts, roles, pair names, the options every
 * type shares and their defaults, and the shape of a target id. CDK-free (the CLI loads it through
 * lib/config.ts), and free of any one type: `dynamodb-schema.ts` and `s3-schema.ts` stand on it side by side.
 */
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

/** A region from {@link AWS_REGIONS}. */
export const regionSchema = z.string().refine((r): r is Region => (AWS_REGIONS as readonly string[]).includes(r), {
  message: `unknown region; allowed: ${AWS_REGIONS.join(', ')}`,
});

/** A 12-digit AWS account id. */
export const accountSchema = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id');

/** The ARN of an IAM role (a target's role to assume). */
export const roleArnSchema = z
  .string()
  .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'must be an IAM role ARN');

/** The ARN of an IAM role or user (an operator the target roles trust). */
export const principalArnSchema = z
  .string()
  .regex(/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/, 'must be an IAM role or user ARN');

/** The ARN of a customer managed KMS key (the key of an imported table or bucket). */
export const kmsKeyArnSchema = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/,
    'must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)',
  );

/** The external id passed when assuming a target's role. */
export const externalIdSchema = z.string().min(2).max(1224);

/** A pair name: it names the pair's resources (`replicator-<pair>-…`), so it is short and lowercase. */
export const pairNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,39}$/, 'must start with a-z and hold 1-40 characters of a-z 0-9 -');

const DURATION_UNITS = { s: 1, min: 60, h: 3600, d: 86_400 } as const;

/** The longest `retryFor`: the pair queue keeps a message 14 days, and a day is kept as a margin. */
export const MAX_RETRY_FOR_SECONDS = 13 * 86_400;

/** Seconds of a duration such as `90s`, `30min`, `24h` or `2d` (the shape {@link durationSchema} checks). */
export function durationSeconds(text: string): number {
  const m = /^(\d+)(s|min|h|d)$/.exec(text);
  if (!m) throw new Error(`not a duration (given "${text}"): use a whole number and s, min, h or d, e.g. "24h"`);
  return Number(m[1]) * DURATION_UNITS[m[2] as keyof typeof DURATION_UNITS];
}

/**
 * A duration within bounds: a whole number and a unit, `90s`, `30min`, `24h`, `2d`; each bound with the message
 * that names it.
 */
function durationSchema(max: { seconds: number; message: string }, min?: { seconds: number; message: string }) {
  const isDuration = (v: string) => /^\d+(s|min|h|d)$/.test(v);
  // The regex reports a malformed duration; zod runs the bound checks too, so they must not throw on one.
  const schema = z
    .string()
    .regex(/^\d+(s|min|h|d)$/, 'must be a whole number and a unit: s, min, h or d (e.g. "24h")')
    .refine((v) => !isDuration(v) || durationSeconds(v) <= max.seconds, max.message);
  return min ? schema.refine((v) => !isDuration(v) || durationSeconds(v) >= min.seconds, min.message) : schema;
}

/** How long transient failures are retried: at most {@link MAX_RETRY_FOR_SECONDS}. */
export const retryForSchema = durationSchema({
  seconds: MAX_RETRY_FOR_SECONDS,
  message: 'must be at most 13d: the pair queue keeps a message 14 days, and a day is kept as a margin',
});

/** The backlog age that alarms: at most a day (CloudWatch's longest alarm period), at least a minute. */
export const backlogAgeSchema = durationSchema(
  { seconds: 86_400, message: 'must be at most 1d' },
  { seconds: 60, message: 'must be at least 1min' },
);

/** How long a request may go without a byte from AWS before it is abandoned as a timeout: 1 s to 5 min. */
export const requestTimeoutSchema = durationSchema(
  { seconds: 300, message: 'must be at most 5min' },
  { seconds: 1, message: 'must be at least 1s' },
);

/** Options that every pair type shares: how envelopes travel from capture to apply (or copy). */
export const commonOptionShape = {
  /** SQS messages per apply (or copy) invocation. */
  applyBatchSize: z.int().min(1).max(10).optional(),
  /** Attempts an envelope gets at least before it is dead-lettered with its last error. */
  maxAttempts: z.int().min(1).max(50).optional(),
  /**
   * How long transient failures (throttling, 5xx, timeouts, resets, access denied: a target region or service
   * that is unavailable) are retried, from an envelope's first failure, before it is dead-lettered.
   */
  retryFor: retryForSchema.optional(),
  /**
   * Age of the oldest change still waiting (in the pair queue, or for a retry on a target) above which the
   * backlog alarms fire.
   */
  maxBacklogAge: backlogAgeSchema.optional(),
  /**
   * How long the pair's functions wait for a byte of an answer from AWS (connect, or no data on an open
   * connection) before they abandon the request as a timeout: transient, retried like a reset.
   */
  requestTimeout: requestTimeoutSchema.optional(),
  /** Envelopes packed into one SQS message at most. */
  envelopesPerMessage: z.int().min(1).max(500).optional(),
  /** Concurrent apply (or copy) invocations at most (Lambda SQS maximum concurrency). */
  applyConcurrency: z.int().min(2).max(1000).optional(),
  /**
   * Seconds Lambda may gather records before it invokes capture (stream or events queue) and apply (or copy)
   * with a batch that is not full (MaximumBatchingWindowInSeconds of both mappings). 0 invokes as soon as
   * records are there: the lowest lag, at the price of smaller batches (more SQS requests per change) when
   * changes are few; under load the batches fill either way. An S3 pair's capture keeps at least 1 s: its batch
   * of 100 event messages is above the 10 Lambda allows on an SQS mapping without a window.
   */
  batchWindowSeconds: z.int().min(0).max(300).optional(),
};

/** The options of {@link commonOptionShape}, as a pair's `options` holds them. */
export type CommonPairOptions = z.output<z.ZodObject<typeof commonOptionShape>>;

/** Defaults of {@link CommonPairOptions}, the same for every pair type. */
export const COMMON_PAIR_DEFAULTS: Required<CommonPairOptions> = {
  applyBatchSize: 10,
  maxAttempts: 5,
  retryFor: '24h',
  maxBacklogAge: '15min',
  requestTimeout: '10s',
  envelopesPerMessage: 25,
  applyConcurrency: 10,
  batchWindowSeconds: 0,
};

/**
 * A pair's options with every unset one taken from `defaults`. Key by key, not a spread: typed props may carry
 * an option as an explicit undefined, which a spread would copy over the default.
 */
export function withDefaults<T extends object>(given: Partial<T> | undefined, defaults: Required<T>): Required<T> {
  const out = { ...defaults };
  for (const key of Object.keys(defaults) as (keyof T)[]) {
    const value = given?.[key];
    if (value !== undefined) out[key] = value as Required<T>[keyof T];
  }
  return out;
}

/** What every target of every pair type has: where it lives and how to reach it. */
export interface TargetBase {
  readonly region: string;
  readonly account?: string | undefined;
  readonly roleArn?: string | undefined;
  readonly externalId?: string | undefined;
  /** The KMS key of an imported target. */
  readonly kmsKeyArn?: string | undefined;
}

/** The account of an IAM role ARN. */
export function roleAccount(roleArn: string): string {
  return roleArn.split(':')[4]!;
}

/** The account a target lives in: its `account`, else its role's; undefined means the deployment's own. */
export function targetAccountOf(target: TargetBase): string | undefined {
  return target.account ?? (target.roleArn ? roleAccount(target.roleArn) : undefined);
}

/** What a type's cross-field checks may need of the whole config. */
export interface IssueContext {
  /** The config's source region. */
  readonly sourceRegion: string;
  /** The config's account, when it names one. */
  readonly account?: string | undefined;
}

/** A pair with its place in the config, e.g. `pairs[1]`, for messages. */
export interface PairAt<P> {
  readonly pair: P;
  readonly at: string;
}

/**
 * A target id from its location and its name in the region (table or bucket): `region/name`, with the account
 * in front when the target names one (`210987654321/eu-west-1/orders`). Its metrics' Target dimension.
 */
export function formatTargetId(target: TargetBase, name: string): string {
  return target.account ? `${target.account}/${target.region}/${name}` : `${target.region}/${name}`;
}

/** A value as a message shows it: JSON, cut at 80 characters; `nothing` for undefined. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const s = JSON.stringify(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * The CDK-free half of a pair type: how its config is checked and named. Each type exports one (e.g.
 * `DYNAMODB_SCHEMA`), and `schemas.ts` registers them by type.
 */
export interface PairTypeSchema<P extends { readonly targets: readonly TargetBase[] }> {
  /** What a target of this type is called in messages, e.g. `table`. */
  readonly targetNoun: string;
  /** A target's name in its region (its table or bucket name). */
  readonly targetName: (target: P['targets'][number]) => string;
  /** Cross-field issues of one pair (`at` is its path, e.g. `pairs[0]`), one line each. */
  readonly pairIssues: (ctx: IssueContext, pair: P, at: string) => string[];
  /** Issues between the pairs of this type, in config order (e.g. a bucket created twice). */
  readonly pairsIssues: (pairs: readonly PairAt<P>[]) => string[];
}

/**
 * The words a pair's resource names continue its name with (`replicator-<pair>-<word>…`: queues, functions,
 * alarms, the state table; test/infra/resource-names.test.ts keeps the list complete). A pair named after
 * another plus one of them would share names with it (pair `x-dlq`'s queue is pair `x`'s DLQ).
 */
export const RESOURCE_NAME_WORDS: readonly string[] = [
  'apply',
  'backfill',
  'backlog',
  'capture',
  'copy',
  'dlq',
  'events',
  'iterator',
  'latency',
  'reconcile',
  'state',
];
