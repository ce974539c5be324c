/**
 * A target-region stack: the target tables and buckets that the config asks Replicator to create in that
 * region, plus an access-log bucket for the buckets.
 */
import { Stack, type StackProps, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import {
  type DynamoPairConfig,
  type DynamoTargetConfig,
  parseConfig,
  type Region,
  type ReplicationConfig,
  type ReplicationConfigInput,
  type S3PairConfig,
  type S3TargetConfig,
  targetKeySchema,
} from './config';
import { AccessLogsBucket } from './constructs/access-logs-bucket';
import { pascalCase } from './constructs/names';
import { TargetBucket } from './constructs/target-bucket';
import { TargetTable } from './constructs/target-table';

/** Props of a {@link TargetStack}. */
export interface TargetStackProps extends StackProps {
  /** The replication config; validated here (again, when it already was). */
  readonly config: ReplicationConfig | ReplicationConfigInput;
  /** The region whose created targets this stack holds. */
  readonly region: Region;
}

/** A target with `create`, with its pair; `type` is the pair's. */
export type CreatedTarget =
  | { readonly type: 'dynamodb'; readonly pair: DynamoPairConfig; readonly target: DynamoTargetConfig }
  | { readonly type: 's3'; readonly pair: S3PairConfig; readonly target: S3TargetConfig };

/** The targets with `create` in one region of a config (tables and buckets, in config order). */
export function createdTargetsIn(config: ReplicationConfig, region: string): CreatedTarget[] {
  return config.pairs.flatMap((pair): CreatedTarget[] =>
    pair.type === 'dynamodb'
      ? pair.targets.filter((t) => t.create && t.region === region).map((target) => ({ type: pair.type, pair, target }))
      : pair.targets
          .filter((t) => t.create && t.region === region)
          .map((target) => ({ type: pair.type, pair, target })),
  );
}

/**
 * Created targets of one region: one {@link TargetTable} or {@link TargetBucket} per target (ids: pair, then
 * table or bucket name), and one {@link AccessLogsBucket} when the region has a created bucket.
 */
export class TargetStack extends Stack {
  /** The validated config. */
  readonly config: ReplicationConfig;
  /** The created tables, by `<pair>/<table>`. */
  readonly tables: ReadonlyMap<string, TargetTable>;
  /** The created buckets, by `<pair>/<bucket>`. */
  readonly buckets: ReadonlyMap<string, TargetBucket>;
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
    const created = createdTargetsIn(config, props.region);
    const tables = new Map<string, TargetTable>();
    const buckets = new Map<string, TargetBucket>();
    const byName = new Map<string, string>();
    const ids = new Map<string, string>();
    const accessLogs = created.some((c) => c.type === 's3') ? new AccessLogsBucket(this, 'AccessLogs') : undefined;
    this.accessLogs = accessLogs;
    for (const c of created) {
      const { pair, target } = c;
      const name = c.type === 'dynamodb' ? c.target.table : c.target.bucket;
      const what = c.type === 'dynamodb' ? 'table' : 'bucket';
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
      if (c.type === 's3') {
        const { create } = c.pair.source;
        const versioned = typeof create === 'object' && create.versioned === true;
        buckets.set(
          `${pair.name}/${name}`,
          new TargetBucket(pairScope, childId, {
            pairName: pair.name,
            bucketName: name,
            versioned,
            // Created above whenever the region has a created bucket.
            accessLogs: accessLogs!,
          }),
        );
        continue;
      }
      const keySchema = targetKeySchema(c.pair, c.target);
      if (!keySchema) {
        // parseConfig rejects `create: true` with an imported source, so this is a programming error.
        throw new Error(`Pair "${pair.name}": target "${name}" has no key schema to create it with`);
      }
      tables.set(
        `${pair.name}/${name}`,
        new TargetTable(pairScope, childId, { pairName: pair.name, tableName: name, keySchema }),
      );
    }
    this.tables = tables;
    this.buckets = buckets;
  }
}
