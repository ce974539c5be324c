/**
 * A target-region stack: the target resources that the config asks Replicator to create in that region (one
 * per target with `create`, built by its pair type's module through the registry: a `TargetTable` or a
 * `TargetBucket`), plus an access-log bucket for the buckets.
 */
import { Stack, type StackProps, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { parseConfig, type Region, type ReplicationConfig, type ReplicationConfigInput } from './config';
import { AccessLogsBucket } from './constructs/access-logs-bucket';
import { pascalCase } from './constructs/names';
import { type BuiltTarget, buildTarget } from './pair-types/registry';
import { type CreatedTarget, createdTargetsOf, targetName, targetNoun } from './pair-types/schemas';

export type { CreatedTarget } from './pair-types/schemas';

/** Props of a {@link TargetStack}. */
export interface TargetStackProps extends StackProps {
  /** The replication config; validated here (again, when it already was). */
  readonly config: ReplicationConfig | ReplicationConfigInput;
  /** The region whose created targets this stack holds. */
  readonly region: Region;
}

/** The targets with `create` in one region of a config (tables and buckets, in config order). */
export function createdTargetsIn(config: ReplicationConfig, region: string): CreatedTarget[] {
  return config.pairs.flatMap((pair) => createdTargetsOf(pair, region));
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
    for (const c of createdTargetsIn(config, props.region)) {
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
