/**
 * Builds the whole Replicator app from a config: the source stack, one target stack per region with created
 * targets, the deploy preflight of imported source tables, and cdk-nag.
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Annotations, type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { sourceStackName, targetAccountStackName, targetStackName } from '../functions/contract';
import {
  type DynamoPairConfig,
  parseConfig,
  type ReplicationConfig,
  type ReplicationConfigInput,
  regionsOf,
} from './config';
import { type TargetConfig, unhandledPairType } from './pair-types/schemas';
import { ReplicationStack } from './replication-stack';
import { targetAccountEnvironments } from './target-accounts';
import { createdTargetsIn, TargetAccountStack, TargetStack } from './target-stack';

/** What the preflight needs to know about an existing table. */
export interface TableStreamInfo {
  /** ARN of the table's latest stream, when it has one. */
  readonly streamArn?: string;
  /** View type of that stream (NEW_AND_OLD_IMAGES is required). */
  readonly streamViewType?: string;
  /** Whether the stream is enabled. */
  readonly streamEnabled?: boolean;
  /** The KMS key of the table's encryption, when it is encrypted with one (SSEType KMS). */
  readonly kmsKeyArn?: string;
}

/** Looks up a table's stream (DescribeTable). */
export type DescribeTableFn = (region: string, table: string) => Promise<TableStreamInfo>;

/** An imported source table that cannot be replicated as it is; the message names the pair and the table. */
export class PreflightError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PreflightError';
  }
}

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  /**
   * Looks up the stream of an imported source table that has no `source.streamArn`.
   * @default - DynamoDB DescribeTable through the AWS SDK in the source region (honours AWS_ENDPOINT_URL)
   */
  readonly describeTable?: DescribeTableFn;
  /**
   * Register cdk-nag's AwsSolutionsChecks and ServerlessChecks on the app, so synth fails on unacknowledged findings.
   * @default - true, with verbose explanations
   */
  readonly nag?: boolean;
  /**
   * Account of the stacks when the config names none.
   * @default - process.env.CDK_DEFAULT_ACCOUNT (environment-agnostic stacks when that is unset too)
   */
  readonly account?: string;
}

/** The stacks {@link buildApp} created. */
export interface BuiltApp {
  /** The validated config. */
  readonly config: ReplicationConfig;
  /** The source-region stack. */
  readonly source: ReplicationStack;
  /** Target-region stacks, by region (only regions with at least one created target). */
  readonly targets: ReadonlyMap<string, TargetStack>;
  /** The stacks of target accounts (roles and created targets in other accounts), by account and region. */
  readonly targetAccounts: readonly TargetAccountStack[];
}

/** DescribeTable through the AWS SDK; AWS_ENDPOINT_URL (e.g. moto) is honoured by the SDK itself. */
export const describeTableWithSdk: DescribeTableFn = async (region, table) => {
  const client = new DynamoDBClient({ region });
  try {
    const out = await client.send(new DescribeTableCommand({ TableName: table }));
    return {
      streamArn: out.Table?.LatestStreamArn,
      streamViewType: out.Table?.StreamSpecification?.StreamViewType,
      streamEnabled: out.Table?.StreamSpecification?.StreamEnabled,
      ...(out.Table?.SSEDescription?.SSEType === 'KMS' && out.Table.SSEDescription.KMSMasterKeyArn
        ? { kmsKeyArn: out.Table.SSEDescription.KMSMasterKeyArn }
        : {}),
    };
  } finally {
    client.destroy();
  }
};

/**
 * The deploy preflight: the stream ARN of every imported source table that has no `source.streamArn`, by pair
 * name. Fails with a {@link PreflightError} naming the pair and the table when a table cannot be described,
 * has no stream, or its stream does not carry NEW_AND_OLD_IMAGES.
 */
export async function resolveSourceStreams(
  config: ReplicationConfig,
  describeTable: DescribeTableFn = describeTableWithSdk,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const pair of config.pairs) {
    switch (pair.type) {
      case 'dynamodb': {
        const streamArn = await importedSourceStream(config, pair, describeTable);
        if (streamArn !== undefined) out[pair.name] = streamArn;
        break;
      }
      case 's3':
        // Nothing to look up: notifications are set on the source bucket by its name.
        break;
      default:
        unhandledPairType(pair);
    }
  }
  return out;
}

/** The stream ARN of a DynamoDB pair's imported source table without `source.streamArn`, from DescribeTable. */
async function importedSourceStream(
  config: ReplicationConfig,
  pair: DynamoPairConfig,
  describeTable: DescribeTableFn,
): Promise<string | undefined> {
  const { source } = pair;
  if (source.create || source.streamArn) return undefined;
  const where = `pair "${pair.name}": source table "${source.table}" in ${config.sourceRegion}`;
  let info: TableStreamInfo;
  try {
    info = await describeTable(config.sourceRegion, source.table);
  } catch (err) {
    const e = err as Error;
    throw new PreflightError(
      `Preflight failed for ${where}: DescribeTable failed (${e.name}: ${e.message}). Check that the table exists and is reachable, or give source.streamArn`,
    );
  }
  if (!info.streamArn || info.streamEnabled === false) {
    throw new PreflightError(
      `Preflight failed for ${where} has no stream; enable a NEW_AND_OLD_IMAGES stream on it (aws dynamodb update-table --table-name ${source.table} --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES)`,
    );
  }
  if (info.kmsKeyArn !== undefined && source.kmsKeyArn !== info.kmsKeyArn) {
    const index = config.pairs.indexOf(pair);
    throw new PreflightError(
      `Preflight failed for ${where}: it is encrypted with the KMS key ${info.kmsKeyArn}, which Replicator's functions must be granted; set pairs[${index}].source.kmsKeyArn to "${info.kmsKeyArn}" (given ${source.kmsKeyArn === undefined ? 'nothing' : `"${source.kmsKeyArn}"`})`,
    );
  }
  if (info.streamViewType !== 'NEW_AND_OLD_IMAGES') {
    throw new PreflightError(
      `Preflight failed for ${where} has a ${info.streamViewType ?? 'unknown'} stream, but Replicator needs NEW_AND_OLD_IMAGES; disable the stream and enable it again with StreamViewType=NEW_AND_OLD_IMAGES`,
    );
  }
  return info.streamArn;
}

/**
 * Creates the source stack `Replicator-<sourceRegion>` and one `Replicator-Target-<region>` per region that
 * has a created target; the source stack depends on the target stacks (targets exist before replication
 * starts). Throws a ConfigError for an invalid config and a {@link PreflightError} for an unusable imported
 * source table.
 */
export async function buildApp(
  app: App,
  input: ReplicationConfig | ReplicationConfigInput,
  options: BuildAppOptions = {},
): Promise<BuiltApp> {
  const config = parseConfig(input);
  const sourceStreamArns = await resolveSourceStreams(config, options.describeTable);
  const account = config.account ?? options.account ?? process.env.CDK_DEFAULT_ACCOUNT;

  const targets = new Map<string, TargetStack>();
  for (const region of regionsOf(config)) {
    if (createdTargetsIn(config, region).length === 0) continue;
    targets.set(region, new TargetStack(app, targetStackName(region), { config, region, env: { account, region } }));
  }
  const source = new ReplicationStack(app, sourceStackName(config.sourceRegion), {
    config,
    sourceStreamArns,
    env: { account, region: config.sourceRegion },
  });
  for (const target of targets.values())
    source.addStackDependency(target, 'target tables exist before replication starts');

  const targetAccounts: TargetAccountStack[] = [];
  if (account !== undefined) {
    for (const env of targetAccountEnvironments(config, account)) {
      const stack = new TargetAccountStack(app, targetAccountStackName(env.account, env.region), {
        config,
        ...env,
        sourceAccount: account,
      });
      // The source bucket's policy names the target roles, which IAM accepts only once they exist.
      source.addStackDependency(stack, 'target roles and tables exist before replication starts');
      targetAccounts.push(stack);
    }
  } else if (config.pairs.some((p) => (p.targets as readonly TargetConfig[]).some((t) => t.roleArn !== undefined))) {
    // Without the source account, which roles are in other accounts cannot be told.
    Annotations.of(source).addWarningV2(
      'replicator:target-accounts-unknown-source',
      'targets in other accounts: name the config\'s "account" (or set CDK_DEFAULT_ACCOUNT) to build the target accounts\' roles and targets; without it they must exist already',
    );
  }

  if (options.nag ?? true) {
    Validations.of(app).addPlugins(
      new AwsSolutionsChecks(app, { verbose: true }),
      new ServerlessChecks(app, { verbose: true }),
    );
  }
  return { config, source, targets, targetAccounts };
}
