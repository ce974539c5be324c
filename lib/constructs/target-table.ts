/**
 * A target table that Replicator creates in a target region (a target with `create` in the config).
 */
import { RemovalPolicy, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { KeySchemaConfig } from '../config';
import { keyAttribute } from './names';
import { PAIR_TAG } from './pair-common';

/** Props of a {@link TargetTable}. */
export interface TargetTableProps {
  /** Name of the pair the table belongs to (tagged `replicator:pair`). */
  readonly pairName: string;
  /** Physical table name. */
  readonly tableName: string;
  /** Key schema (`targetKeySchema(pair, target)`). */
  readonly keySchema: KeySchemaConfig;
  /**
   * What happens to the table when it is removed from the stack.
   * @default - RemovalPolicy.RETAIN: a target holds a copy of user data that may be the only one left after a source-region loss
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** An on-demand target table with point-in-time recovery and no stream. */
export class TargetTable extends Construct {
  /** The table. */
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: TargetTableProps) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      tableName: props.tableName,
      partitionKey: keyAttribute(props.keySchema.partitionKey),
      ...(props.keySchema.sortKey ? { sortKey: keyAttribute(props.keySchema.sortKey) } : {}),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    Tags.of(this).add(PAIR_TAG, props.pairName);
  }
}
