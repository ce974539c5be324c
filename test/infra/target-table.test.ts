import { RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, it } from 'vitest';
import { TargetTable } from '../../lib/pair-types/dynamodb';
import { testStack } from './helpers';

function tableTemplate(props: Partial<ConstructorParameters<typeof TargetTable>[2]> = {}): Template {
  const stack = testStack('eu-west-1');
  new TargetTable(stack, 'Orders', {
    pairName: 'orders',
    tableName: 'orders',
    keySchema: { partitionKey: 'pk:S', sortKey: 'version:N' },
    ...props,
  });
  return Template.fromStack(stack);
}

describe('TargetTable', () => {
  it('creates an on-demand table with the key schema, PITR, no stream and the pair tag', () => {
    const template = tableTemplate();
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'orders',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'version', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'version', AttributeType: 'N' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      Tags: [{ Key: 'replicator:pair', Value: 'orders' }],
    });
    const table = Object.values(template.findResources('AWS::DynamoDB::Table'))[0]!;
    if (table.Properties.StreamSpecification !== undefined) throw new Error('a target table must have no stream');
  });

  it('retains the table by default (removalPolicy)', () => {
    tableTemplate().hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('takes another removalPolicy', () => {
    tableTemplate({ removalPolicy: RemovalPolicy.DESTROY }).hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
    });
  });
});
