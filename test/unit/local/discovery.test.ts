import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { discoverStack, InvalidMappingError } from '../../../src/local/discovery';

const QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:events';

describe('discoverStack', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'replicator-discovery-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Discovers a stack whose only resource is an SQS mapping with these properties. */
  async function discoverMapping(props: Record<string, unknown>) {
    const templatePath = join(dir, 'Stack.template.json');
    writeFileSync(
      templatePath,
      JSON.stringify({
        Resources: {
          Mapping: {
            Type: 'AWS::Lambda::EventSourceMapping',
            Properties: { EventSourceArn: QUEUE_ARN, FunctionName: 'capture', ...props },
          },
        },
      }),
    );
    const cloudFormation = new CloudFormationClient({ region: 'us-east-1' });
    mockClient(cloudFormation).on(ListStackResourcesCommand).resolves({ StackResourceSummaries: [] });
    return discoverStack(
      { stackName: 'Stack', region: 'us-east-1', templatePath },
      { cloudFormation, lambda: new LambdaClient({ region: 'us-east-1' }), dynamodb: new DynamoDBClient({}) },
    );
  }

  it('refuses an SQS mapping with a batch above 10 and no window, as Lambda does (moto creates it)', async () => {
    await expect(discoverMapping({ BatchSize: 100, MaximumBatchingWindowInSeconds: 0 })).rejects.toThrow(
      InvalidMappingError,
    );
    await expect(discoverMapping({ BatchSize: 11 })).rejects.toThrow(
      /Mapping: BatchSize 11 on an SQS queue needs MaximumBatchingWindowInSeconds of at least 1 \(it is 0\)/,
    );
  });

  it('runs one with a window, and a batch of 10 without', async () => {
    const windowed = await discoverMapping({ BatchSize: 100, MaximumBatchingWindowInSeconds: 1 });
    expect(windowed.mappings[0]).toMatchObject({ kind: 'sqs', batchSize: 100, maximumBatchingWindowSeconds: 1 });
    const ten = await discoverMapping({ BatchSize: 10 });
    expect(ten.mappings[0]).toMatchObject({ batchSize: 10, maximumBatchingWindowSeconds: 0 });
  });
});
