/**
 * The S3 pair type's part of the config: its pair, source, target, key filter and options schemas, the
 * options' defaults, bucket naming rules, and the cross-field checks zod cannot express (bucket names are
 * global). CDK-free (the CLI loads it through lib/config.ts); its stacks side is `s3.ts`.
 */
import { z } from 'zod';
import type { BucketTargetEnv } from '../../functions/contract';
import {
  accountSchema,
  COMMON_PAIR_DEFAULTS,
  commonOptionShape,
  externalIdSchema,
  formatTargetId,
  kmsKeyArnSchema,
  type PairAt,
  type PairTypeSchema,
  pairNameSchema,
  regionSchema,
  roleArnSchema,
  withDefaults,
} from './common-schema';

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
  /** The customer managed KMS key of an imported bucket's SSE-KMS: its readers are granted its use. */
  kmsKeyArn: kmsKeyArnSchema.optional(),
});

const s3TargetSchema = z.strictObject({
  region: regionSchema,
  bucket: bucketNameSchema,
  /** Create the bucket in the target's region (versioned when the source is created versioned). */
  create: z.boolean().optional(),
  account: accountSchema.optional(),
  roleArn: roleArnSchema.optional(),
  externalId: externalIdSchema.optional(),
  /** Storage class of the copies. */
  storageClass: z.enum(S3_STORAGE_CLASSES).optional(),
  /** The customer managed KMS key of an imported target bucket's default SSE-KMS: its writers are granted its use. */
  kmsKeyArn: kmsKeyArnSchema.optional(),
});

/** The schema of an S3 pair (`type: "s3"`), one member of the config's union of pair types. */
export const s3PairSchema = z.strictObject({
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

/** A validated S3 pair. */
export type S3PairConfig = z.output<typeof s3PairSchema>;
/** A validated S3 target. */
export type S3TargetConfig = z.output<typeof s3TargetSchema>;
/** Tuning options of an S3 pair. */
export type S3PairOptions = z.output<typeof s3PairOptionsSchema>;

/** Defaults of {@link S3PairOptions}; each is documented where the option is declared. */
export const S3_PAIR_DEFAULTS: Required<S3PairOptions> = {
  multipartThresholdBytes: 64 * MiB,
  partSizeBytes: 64 * MiB,
  copyConcurrency: 8,
  ...COMMON_PAIR_DEFAULTS,
  // A CopyObject of a part or an object under the multipart threshold (64 MiB) may be quiet for seconds
  // while S3 copies; a DynamoDB write is not.
  requestTimeout: '60s',
};

/** An S3 pair's options, each unset one at its {@link S3_PAIR_DEFAULTS} value. */
export function s3PairOptions(pair: S3PairConfig): Required<S3PairOptions> {
  return withDefaults(pair.options, S3_PAIR_DEFAULTS);
}

/** Whether the pair creates its source bucket with versioning (its created targets are then versioned too). */
export function sourceVersioned(pair: S3PairConfig): boolean {
  const { create } = pair.source;
  return typeof create === 'object' && create.versioned === true;
}

/** The id of an S3 target: `region/bucket`, or `account/region/bucket`. */
export function s3TargetId(target: S3TargetConfig): string {
  return formatTargetId(target, target.bucket);
}

/** The pair's targets as its functions' TARGETS variable describes them (the stacks write it, the CLI reads it). */
export function bucketTargetsEnv(pair: S3PairConfig): BucketTargetEnv[] {
  return pair.targets.map((t) => ({
    id: s3TargetId(t),
    region: t.region,
    bucket: t.bucket,
    ...(t.roleArn ? { roleArn: t.roleArn } : {}),
    ...(t.externalId ? { externalId: t.externalId } : {}),
    ...(t.storageClass ? { storageClass: t.storageClass } : {}),
  }));
}

/** Cross-field issues of one S3 pair: a target that repeats the source bucket or another target. */
export function s3PairIssues(pair: S3PairConfig, at: string): string[] {
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
      issues.push(`${tAt}: duplicate target (given "${s3TargetId(t)}", already listed as ${at}.targets[${dup}])`);
    } else {
      seenBuckets.set(t.bucket, j);
    }
  });
  return issues;
}

/** Bucket names are global: each bucket may be created once, and be the source of one pair (its notifications). */
export function s3PairsIssues(pairs: readonly PairAt<S3PairConfig>[]): string[] {
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
  for (const { pair, at } of pairs) {
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
  }
  return issues;
}

/** The S3 pair type's entry in the schema registry (`schemas.ts`). */
export const S3_SCHEMA: PairTypeSchema<S3PairConfig> = {
  targetNoun: 'bucket',
  targetName: (target) => target.bucket,
  // Bucket names are global, so neither the source region nor the account matters.
  pairIssues: (_ctx, pair, at) => s3PairIssues(pair, at),
  pairsIssues: s3PairsIssues,
};
