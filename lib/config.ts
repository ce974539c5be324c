/**
 * The replication config schema and its validation.
 *
 * One place validates a config, whether it arrives as typed stack props or as `replication.config.json`:
 * every error names the field (as a path such as `pairs[0].targets[1].region`), the value given and what
 * is allowed, so a bad config fails at synth time and the user can fix it from the message alone.
 *
 * This module holds what the whole config shares (regions, reconcile, alarms, the checks common to every
 * pair); each pair type adds its own part from `pair-types/<type>-schema.ts`, and every decision on a pair's
 * type goes through `pair-types/schemas.ts`. All of it is CDK-free: the CLI loads it without aws-cdk-lib.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  accountSchema,
  principalArnSchema,
  RESOURCE_NAME_WORDS,
  type Region,
  regionSchema,
  roleAccount,
  show,
} from './pair-types/common-schema';
import {
  type PairConfig,
  pairSchema,
  pairsTypeIssues,
  pairTypeIssues,
  type TargetConfig,
  targetNoun,
} from './pair-types/schemas';

export { AWS_REGIONS, COMMON_PAIR_DEFAULTS, type CommonPairOptions, type Region } from './pair-types/common-schema';
export {
  type DynamoPairConfig,
  type DynamoTargetConfig,
  dynamoPairOptions,
  type KeySchemaConfig,
  keyAttributeNames,
  PAIR_DEFAULTS,
  type PairOptions,
  targetKeySchema,
} from './pair-types/dynamodb-schema';
export {
  bucketNameProblem,
  S3_PAIR_DEFAULTS,
  S3_STORAGE_CLASSES,
  type S3PairConfig,
  type S3PairOptions,
  type S3TargetConfig,
  s3PairOptions,
} from './pair-types/s3-schema';
export {
  type PairConfig,
  type PairOf,
  type PairType,
  type TargetConfig,
  type TargetOf,
  targetId,
  targetIds,
  targetName,
} from './pair-types/schemas';

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

const backfillSchema = z.strictObject({
  /**
   * Timeout of each pair's backfill function, in seconds; a job runs this long per invocation, and its queue's
   * visibility timeout (after which a timed-out invocation's message comes back) is six times this.
   */
  timeoutSeconds: z.int().min(10).max(900).optional(),
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
  /** The deployed backfill job's settings (`replicator backfill PAIR --deployed`). */
  backfill: backfillSchema.optional(),
  /** Where alarms go and their thresholds. */
  alarms: alarmsSchema.optional(),
  /**
   * IAM roles or users of the source account that run the CLI (status, reconcile, backfill): the target roles
   * that Replicator builds in other accounts trust them beside its functions.
   */
  operators: z.array(principalArnSchema).optional(),
});

/** A replication config as written by the user (JSON file or stack props). */
export type ReplicationConfigInput = z.input<typeof configSchema>;
/** A validated replication config. */
export type ReplicationConfig = z.output<typeof configSchema>;

/** Alarm settings of a deployment. */
export type AlarmsConfig = z.output<typeof alarmsSchema>;

/** Defaults of {@link AlarmsConfig}; `email` has none (no subscription). */
export const ALARMS_DEFAULTS: Required<Omit<AlarmsConfig, 'email'>> = {
  latencyP99Ms: 60_000,
};

/** Backfill job settings of a deployment. */
export type BackfillConfig = z.output<typeof backfillSchema>;

/** Defaults of {@link BackfillConfig}. */
export const BACKFILL_DEFAULTS: Required<BackfillConfig> = { timeoutSeconds: 900 };

/** Reconcile settings of a deployment. */
export type ReconcileConfig = z.output<typeof reconcileSchema>;

/** Defaults of {@link ReconcileConfig}'s tuning fields (`segments`: DynamoDB pairs), and of a pair's `deleteExtra`. */
export const RECONCILE_DEFAULTS = {
  readRate: 100,
  segments: 4,
  deleteExtra: false,
} as const;

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

/** Issues that every pair type shares: the name, and each target's account, role and external id. */
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
  for (const other of cfg.pairs) {
    const word = pair.name.startsWith(`${other.name}-`) ? pair.name.slice(other.name.length + 1).split('-')[0]! : '';
    if (RESOURCE_NAME_WORDS.includes(word)) {
      issues.push(
        `${at}.name: would share resource names with pair "${other.name}", whose resources are named replicator-${other.name}-${word}… (given "${pair.name}"); a pair name must not continue another's with ${RESOURCE_NAME_WORDS.join(', ')}`,
      );
    }
  }
  const what = targetNoun(pair);
  if (pair.source.kmsKeyArn !== undefined && pair.source.create) {
    issues.push(
      `${at}.source.kmsKeyArn: only for an imported ${what}; a created one is encrypted with a key AWS manages (given "${pair.source.kmsKeyArn}")`,
    );
  }
  (pair.targets as readonly TargetConfig[]).forEach((t, j) => {
    const tAt = `${at}.targets[${j}]`;
    if (t.account !== undefined && cfg.account !== undefined && t.account !== cfg.account && !t.roleArn) {
      issues.push(
        `${tAt}.roleArn: a target in another account (given account "${t.account}") needs a roleArn to assume`,
      );
    }
    if (t.externalId !== undefined && !t.roleArn) {
      issues.push(`${tAt}.externalId: an external id only applies with a roleArn (given "${t.externalId}")`);
    }
    if (t.roleArn && t.externalId === undefined) {
      // Without one, anyone the role's trust policy names could have Replicator act for them (the confused deputy).
      issues.push(
        `${tAt}.externalId: a target with a roleArn needs an external id, which the role's trust policy requires (sts:ExternalId) (given nothing)`,
      );
    }
    if (t.kmsKeyArn !== undefined && t.create) {
      issues.push(
        `${tAt}.kmsKeyArn: only for an imported ${what}; a created one is encrypted with a key AWS manages (given "${t.kmsKeyArn}")`,
      );
    }
    if (t.roleArn && t.account !== undefined && roleAccount(t.roleArn) !== t.account) {
      issues.push(`${tAt}.roleArn: the role must be in the target's account ${t.account} (given "${t.roleArn}")`);
    }
    if (t.create && t.account !== undefined && t.account !== cfg.account && !t.roleArn) {
      issues.push(
        `${tAt}.create: a ${what} created in another account (given account "${t.account}") is built by that account's stack with the target's role; give a roleArn`,
      );
    }
  });
  return issues;
}

function crossFieldIssues(cfg: ReplicationConfig): string[] {
  const issues: string[] = [];
  const seenPairs = new Map<string, number>();
  cfg.pairs.forEach((pair, i) => {
    issues.push(...commonPairIssues(cfg, pair, i, seenPairs));
    issues.push(...pairTypeIssues(cfg, pair, `pairs[${i}]`));
  });
  issues.push(...pairsTypeIssues(cfg.pairs));
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
