/**
 * The source-region stack: one pair construct per pair of the config, built by its type's module through the
 * registry (`pair-types/registry.ts`: a `TablePair` per DynamoDB pair, a `BucketPair` per S3 pair), plus one
 * access-log bucket shared by the source buckets it creates, the alarm topic every pair's alarms notify and
 * the `replicator` dashboard.
 */
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ALARMS_DEFAULTS, parseConfig, type ReplicationConfig, type ReplicationConfigInput } from './config';
import { AccessLogsBucket } from './constructs/access-logs-bucket';
import { AlarmTopic } from './constructs/alarm-topic';
import { ReplicatorDashboard } from './constructs/dashboard';
import { pascalCase } from './constructs/names';
import type { PairBuildContext } from './pair-types/pair-type';
import { type BuiltPair, buildPair } from './pair-types/registry';
import { targetIds } from './pair-types/schemas';

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

/** Capture, queues, apply (or copy) and alarms of every pair, in the config's source region. */
export class ReplicationStack extends Stack {
  /** The validated config. */
  readonly config: ReplicationConfig;
  /** Each pair's construct (`<Pair>Pair`), by pair name. */
  readonly pairs: ReadonlyMap<string, BuiltPair>;
  /** Receives the server access logs of the source buckets this stack creates (only when it creates one). */
  readonly accessLogs: AccessLogsBucket | undefined;
  /** The `replicator-alarms` topic that every alarm notifies. */
  readonly alarmTopic: AlarmTopic;
  /** The `replicator` dashboard, a row per pair. */
  readonly dashboard: ReplicatorDashboard;

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
    this.alarmTopic = new AlarmTopic(this, 'AlarmTopic', {
      ...(config.alarms?.email !== undefined ? { email: config.alarms.email } : {}),
    });
    let accessLogs: AccessLogsBucket | undefined;
    const context: PairBuildContext = {
      alarmTopic: this.alarmTopic.topic,
      latencyP99Threshold: Duration.millis(config.alarms?.latencyP99Ms ?? ALARMS_DEFAULTS.latencyP99Ms),
      reconcile: config.reconcile,
      ...(config.backfill ? { backfill: config.backfill } : {}),
      sourceStreamArns: props.sourceStreamArns,
      // Created with the first source bucket that needs it, so a stack without one has none.
      accessLogs: () => {
        accessLogs ??= new AccessLogsBucket(this, 'AccessLogs');
        return accessLogs;
      },
    };
    const pairs = new Map<string, BuiltPair>();
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
      pairs.set(pair.name, buildPair(this, constructId, pair, context));
    }
    this.pairs = pairs;
    this.accessLogs = accessLogs;
    this.dashboard = new ReplicatorDashboard(this, 'Dashboard', {
      pairs: config.pairs.map((pair) => {
        const built = pairs.get(pair.name)!;
        return {
          pairName: pair.name,
          targets: targetIds(pair),
          queue: built.queues.queue,
          deadLetterQueue: built.queues.deadLetterQueue,
          alarms: built.monitoring.alarms,
        };
      }),
    });
  }
}
