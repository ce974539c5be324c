/**
 * A target-region stack: the target tables that the config asks Replicator to create in that region.
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
  targetKeySchema,
} from './config';
import { pascalCase } from './constructs/names';
import { TargetTable } from './constructs/target-table';

/** Props of a {@link TargetStack}. */
export interface TargetStackProps extends StackProps {
  /** The replication config; validated here (again, when it already was). */
  readonly config: ReplicationConfig | ReplicationConfigInput;
  /** The region whose created targets this stack holds. */
  readonly region: Region;
}

/** The targets with `create` in one region of a config. */
export function createdTargetsIn(
  config: ReplicationConfig,
  region: string,
): { pair: DynamoPairConfig; target: DynamoTargetConfig }[] {
  return config.pairs.flatMap((pair) =>
    pair.targets.filter((t) => t.create && t.region === region).map((target) => ({ pair, target })),
  );
}

/** Created target tables of one region, one {@link TargetTable} per target (ids: pair, then table name). */
export class TargetStack extends Stack {
  /** The validated config. */
  readonly config: ReplicationConfig;
  /** The created tables, by `<pair>/<table>`. */
  readonly tables: ReadonlyMap<string, TargetTable>;

  /** @param props.env defaults to `{ account: config.account, region: props.region }`; another region fails */
  constructor(scope: Construct, id: string, props: TargetStackProps) {
    const config = parseConfig(props.config);
    super(scope, id, {
      description: `Replicator: target tables created in ${props.region}`,
      ...props,
      env: props.env ?? { account: config.account, region: props.region },
    });
    if (props.env?.region !== undefined && props.env.region !== props.region) {
      throw new Error(`TargetStack ${id}: env.region must be "${props.region}" (given "${props.env.region}")`);
    }
    this.config = config;
    const tables = new Map<string, TargetTable>();
    const byName = new Map<string, string>();
    const ids = new Map<string, string>();
    for (const { pair, target } of createdTargetsIn(config, props.region)) {
      const keySchema = targetKeySchema(pair, target);
      if (!keySchema) {
        // parseConfig rejects `create: true` with an imported source, so this is a programming error.
        throw new Error(`Pair "${pair.name}": target "${target.table}" has no key schema to create it with`);
      }
      if (target.account !== undefined && !Token.isUnresolved(this.account) && target.account !== this.account) {
        throw new Error(
          `Pair "${pair.name}": target "${target.table}" is in account ${target.account}, but this stack deploys to ${this.account}; Replicator creates targets only in its own account (create the table there and import it)`,
        );
      }
      const owner = byName.get(target.table);
      if (owner !== undefined) {
        throw new Error(
          `Pair "${pair.name}": target table "${target.table}" in ${props.region} is already created for pair "${owner}"; a table can be created once per region`,
        );
      }
      byName.set(target.table, pair.name);
      const scopeId = pascalCase(pair.name);
      const tableId = pascalCase(target.table);
      const key = `${scopeId}/${tableId}`;
      const clash = ids.get(key);
      if (clash !== undefined) {
        throw new Error(
          `Target tables "${clash}" and "${target.table}" of pair "${pair.name}" map to the same construct id "${key}"; rename one of them`,
        );
      }
      ids.set(key, target.table);
      const pairScope = (this.node.tryFindChild(scopeId) as Construct | undefined) ?? new Construct(this, scopeId);
      tables.set(
        `${pair.name}/${target.table}`,
        new TargetTable(pairScope, tableId, { pairName: pair.name, tableName: target.table, keySchema }),
      );
    }
    this.tables = tables;
  }
}
