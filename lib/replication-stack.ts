/**
 * The source-region stack: one {@link TablePair} per DynamoDB pair of the config.
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { parseConfig, type ReplicationConfig, type ReplicationConfigInput } from './config';
import { pascalCase } from './constructs/names';
import { TablePair } from './constructs/table-pair';

/** Props of a {@link ReplicationStack}. */
export interface ReplicationStackProps extends StackProps {
  /** The replication config; validated here (again, when it already was), so typed props work without a JSON file. */
  readonly config: ReplicationConfig | ReplicationConfigInput;
  /**
   * Stream ARNs of imported source tables, by pair name.
   * @default - each pair's `source.streamArn`; `buildApp` looks the missing ones up with DescribeTable
   */
  readonly sourceStreamArns?: Readonly<Record<string, string>>;
}

/** Capture, queues, apply and alarms of every pair, in the config's source region. */
export class ReplicationStack extends Stack {
  /** The validated config. */
  readonly config: ReplicationConfig;
  /** Each pair's constructs, by pair name. */
  readonly pairs: ReadonlyMap<string, TablePair>;

  /**
   * @param props.env defaults to `{ account: config.account, region: config.sourceRegion }`; a region other than
   *   the source region fails
   */
  constructor(scope: Construct, id: string, props: ReplicationStackProps) {
    const config = parseConfig(props.config);
    super(scope, id, {
      description: 'Replicator: capture, queues, apply and alarms of the replication pairs (source region)',
      ...props,
      env: props.env ?? { account: config.account, region: config.sourceRegion },
    });
    if (props.env?.region !== undefined && props.env.region !== config.sourceRegion) {
      throw new Error(
        `ReplicationStack ${id}: env.region must be the config's sourceRegion "${config.sourceRegion}" (given "${props.env.region}")`,
      );
    }
    this.config = config;
    const pairs = new Map<string, TablePair>();
    const ids = new Map<string, string>();
    for (const pair of config.pairs) {
      const constructId = `${pascalCase(pair.name)}Pair`;
      const clash = ids.get(constructId);
      if (clash !== undefined) {
        throw new Error(
          `Pairs "${clash}" and "${pair.name}" map to the same construct id "${constructId}"; rename one of them`,
        );
      }
      ids.set(constructId, pair.name);
      const sourceStreamArn = props.sourceStreamArns?.[pair.name];
      pairs.set(pair.name, new TablePair(this, constructId, { pair, ...(sourceStreamArn ? { sourceStreamArn } : {}) }));
    }
    this.pairs = pairs;
  }
}
