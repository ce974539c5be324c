/**
 * A target-region stack: the target resources that the config asks Replicator to create in that region (one
 * per target with `create`, built by its pair type's module through the registry: a `TargetTable` or a
 * `TargetBucket`), plus an access-log bucket for the buckets.
 */
import { Stack, type StackProps, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { functionRoleName, pairResourceNames } from '../functions/contract';
import { parseConfig, type Region, type ReplicationConfig, type ReplicationConfigInput } from './config';
import { AccessLogsBucket } from './constructs/access-logs-bucket';
import { pascalCase } from './constructs/names';
import { roleNameAndPath, TargetAccessRole } from './constructs/target-access-role';
import { roleAccount, targetAccountOf } from './pair-types/common-schema';
import { applierFunctionName, type BuiltTarget, buildTarget, targetRoleStatements } from './pair-types/registry';
import { type CreatedTarget, createdTargetsOf, targetName, targetNoun } from './pair-types/schemas';
import { targetRoles } from './target-accounts';

export type { CreatedTarget } from './pair-types/schemas';

/** Props of a {@link TargetStack}. */
export interface TargetStackProps extends StackProps {
  /** The replication config; validated here (again, when it already was). */
  readonly config: ReplicationConfig | ReplicationConfigInput;
  /** The region whose created targets this stack holds. */
  readonly region: Region;
  /**
   * Hold the created targets of this other account instead of the deployment's own (a target account's stack,
   * {@link TargetAccountStack}).
   * @default - the deployment's own account
   */
  readonly targetsOfAccount?: string;
}

/**
 * The targets with `create` in one region of a config (tables and buckets, in config order): those of the
 * deployment's own account, or, given `account`, those of that other account.
 */
export function createdTargetsIn(config: ReplicationConfig, region: string, account?: string): CreatedTarget[] {
  return config.pairs
    .flatMap((pair) => createdTargetsOf(pair, region))
    .filter((c) => {
      const own = targetAccountOf(c.target);
      return account === undefined ? own === undefined || own === config.account : own === account;
    });
}

/**
 * Created targets of one region: one resource per target, `TargetTable` or `TargetBucket` (construct ids: pair,
 * then table or bucket name), and one {@link AccessLogsBucket} when the region has a created bucket.
 */
export class TargetStack extends Stack {
  /** The validated config. */
  readonly config: ReplicationConfig;
  /** The created target resources, by `<pair>/<table or bucket>`, in config order. */
  readonly created: ReadonlyMap<string, BuiltTarget>;
  /** Receives the server access logs of the created buckets (only when there is one). */
  readonly accessLogs: AccessLogsBucket | undefined;

  /** @param props.env defaults to `{ account: config.account, region: props.region }`; another region fails */
  constructor(scope: Construct, id: string, props: TargetStackProps) {
    const config = parseConfig(props.config);
    super(scope, id, {
      description: `Replicator: target tables and buckets created in ${props.region}`,
      ...props,
      env: props.env ?? { account: config.account, region: props.region },
    });
    if (props.env?.region !== undefined && props.env.region !== props.region) {
      throw new Error(`TargetStack ${id}: env.region must be "${props.region}" (given "${props.env.region}")`);
    }
    this.config = config;
    let accessLogs: AccessLogsBucket | undefined;
    const context = {
      // Created with the first bucket that needs it, so a region with tables only has none.
      accessLogs: () => {
        accessLogs ??= new AccessLogsBucket(this, 'AccessLogs');
        return accessLogs;
      },
    };
    const created = new Map<string, BuiltTarget>();
    const byName = new Map<string, string>();
    const ids = new Map<string, string>();
    for (const c of createdTargetsIn(config, props.region, props.targetsOfAccount)) {
      const { pair, target } = c;
      const name = targetName(pair, target);
      const what = targetNoun(pair);
      if (target.account !== undefined && !Token.isUnresolved(this.account) && target.account !== this.account) {
        throw new Error(
          `Pair "${pair.name}": target "${name}" is in account ${target.account}, but this stack deploys to ${this.account}; Replicator creates targets only in its own account (create the ${what} there and import it)`,
        );
      }
      const owner = byName.get(`${what}/${name}`);
      if (owner !== undefined) {
        throw new Error(
          `Pair "${pair.name}": target ${what} "${name}" in ${props.region} is already created for pair "${owner}"; a ${what} can be created once per region`,
        );
      }
      byName.set(`${what}/${name}`, pair.name);
      const scopeId = pascalCase(pair.name);
      const childId = pascalCase(name);
      const key = `${scopeId}/${childId}`;
      const clash = ids.get(key);
      if (clash !== undefined) {
        throw new Error(
          `Target ${what}s "${clash}" and "${name}" of pair "${pair.name}" map to the same construct id "${key}"; rename one of them`,
        );
      }
      ids.set(key, name);
      const pairScope = (this.node.tryFindChild(scopeId) as Construct | undefined) ?? new Construct(this, scopeId);
      created.set(`${pair.name}/${name}`, buildTarget(pairScope, childId, c, context));
    }
    this.created = created;
    this.accessLogs = accessLogs;
  }
}

/** Props of a {@link TargetAccountStack}. */
export interface TargetAccountStackProps extends StackProps {
  /** The replication config; validated here (again, when it already was). */
  readonly config: ReplicationConfig | ReplicationConfigInput;
  /** The target account this stack deploys to. */
  readonly account: string;
  /** The region of the stack: its created targets, and the roles whose first target is there. */
  readonly region: Region;
  /** The account Replicator's functions run in, which the roles trust. */
  readonly sourceAccount: string;
}

/**
 * What a target account deploys for Replicator in one region (`Replicator-TargetAccount-<account>-<region>`):
 * the targets the config creates in that account and region, and the roles its targets name whose first
 * target is in this region (a {@link TargetAccessRole} each). A role trusts the source account's applier
 * (apply or copy) and reconcile functions of the pairs that use it, by name, plus the config's `operators`,
 * only with the targets' external ids; it may write and read only those targets (S3: under the pair's prefix,
 * and read the copy source there).
 */
export class TargetAccountStack extends TargetStack {
  /** The roles built here, by ARN. */
  readonly roles: ReadonlyMap<string, TargetAccessRole>;

  constructor(scope: Construct, id: string, props: TargetAccountStackProps) {
    const config = parseConfig(props.config);
    if (props.account === props.sourceAccount) {
      throw new Error(`TargetAccountStack ${id}: account ${props.account} is the source account; use TargetStack`);
    }
    super(scope, id, {
      description: `Replicator: roles and targets of account ${props.account} in ${props.region}`,
      ...props,
      config,
      targetsOfAccount: props.account,
      env: { account: props.account, region: props.region },
    });
    const roles = new Map<string, TargetAccessRole>();
    for (const role of targetRoles(config, props.sourceAccount)) {
      if (roleAccount(role.roleArn) !== props.account || role.homeRegion !== props.region) continue;
      const partition = role.roleArn.split(':')[1]!;
      const trusted = new Set<string>(config.operators ?? []);
      for (const { pair } of role.uses) {
        const functions = [
          applierFunctionName(pair),
          ...(config.reconcile ? [pairResourceNames(pair.name).reconcileFunction] : []),
          pairResourceNames(pair.name).backfillFunction,
        ];
        for (const fn of functions) {
          trusted.add(`arn:${partition}:iam::${props.sourceAccount}:role/${functionRoleName(fn, config.sourceRegion)}`);
        }
      }
      const access = new TargetAccessRole(this, `Role${pascalCase(roleNameAndPath(role.roleArn).name)}`, {
        roleArn: role.roleArn,
        sourceAccount: props.sourceAccount,
        trusted: [...trusted],
        externalIds: [...new Set(role.uses.flatMap(({ target }) => (target.externalId ? [target.externalId] : [])))],
      });
      for (const { pair, target } of role.uses) {
        for (const s of targetRoleStatements(access, pair, target)) access.role.addToPrincipalPolicy(s);
      }
      roles.set(role.roleArn, access);
    }
    this.roles = roles;
  }
}
