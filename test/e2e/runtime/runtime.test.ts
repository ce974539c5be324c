/**
 * The local runtime end to end: deploy the fixture app (test/fixtures/runtime-app) to a private moto with
 * `cdk deploy`, run it with LocalRuntime behind a counting proxy, and drive it through the AWS APIs.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CloudFormationClient, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { GetBucketVersioningCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type Message, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type CountingProxy, startCountingProxy } from '../../../src/local/counting-proxy';
import { type DeployedApp, deployApp } from '../../../src/local/deploy';
import { LOCAL_ACCOUNT, type MotoServer, startMoto } from '../../../src/local/moto';
import { type EmfRecord, LocalRuntime } from '../../../src/local/runtime';

const ROOT = resolve(__dirname, '../../..');
const WORK = join(ROOT, 'test/e2e/.work', `runtime-${randomUUID().slice(0, 8)}`);
const REGION = 'us-east-1';
const STACK = 'RuntimeFixture';

let moto: MotoServer;
let proxy: CountingProxy;
let app: DeployedApp;
let runtime: LocalRuntime;
const logLines: string[] = [];
const emfRecords: EmfRecord[] = [];
const resources = new Map<string, string>();
let ddb: DynamoDBClient;
let sqs: SQSClient;

function clientConfig(endpoint: string) {
  return { region: REGION, endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
}

/** Physical id of a fixture resource by its construct id (CDK appends an 8-digit hash to the logical id). */
function physical(id: string): string {
  const found = [...resources].find(([logicalId]) => new RegExp(`^${id}[0-9A-F]{8}$`).test(logicalId));
  if (found === undefined) throw new Error(`no resource ${id} in ${[...resources.keys()].join(', ')}`);
  return found[1];
}

/** Polls `probe` until it returns something other than undefined (or throws after `timeoutMs`). */
async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function sinkItem(pk: string) {
  const out = await ddb.send(new GetItemCommand({ TableName: physical('Sink'), Key: { pk: { S: pk } } }));
  return out.Item;
}

async function receiveAll(queueUrl: string, timeoutMs: number, until: (m: Message[]) => boolean): Promise<Message[]> {
  const seen: Message[] = [];
  await eventually(async () => {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    seen.push(...(out.Messages ?? []));
    return until(seen) ? true : undefined;
  }, timeoutMs);
  return seen;
}

beforeAll(async () => {
  mkdirSync(WORK, { recursive: true });
  moto = await startMoto({ logFile: join(WORK, 'moto.log') });
  proxy = await startCountingProxy(moto.endpoint);
  app = await deployApp({
    endpoint: moto.endpoint,
    regions: [REGION],
    app: 'npx tsx test/fixtures/runtime-app/app.ts',
    outdir: join(WORK, 'cdk.out'),
    cwd: ROOT,
    log: (line) => logLines.push(line),
  });
  const cfn = new CloudFormationClient(clientConfig(moto.endpoint));
  const listed = await cfn.send(new ListStackResourcesCommand({ StackName: STACK }));
  for (const r of listed.StackResourceSummaries ?? []) resources.set(r.LogicalResourceId!, r.PhysicalResourceId!);
  cfn.destroy();
  ddb = new DynamoDBClient(clientConfig(moto.endpoint));
  sqs = new SQSClient(clientConfig(moto.endpoint));
  runtime = new LocalRuntime({
    endpoint: proxy.endpoint,
    controlEndpoint: moto.endpoint,
    assemblyDir: app.assemblyDir,
    stacks: app.stacks,
    log: (line) => logLines.push(line),
    onMetrics: (emf) => emfRecords.push(emf),
    // Lambda spaces the retries of an asynchronous invocation by minutes; this test chooses 100 ms.
    asyncRetryDelaysMs: [100],
  });
  await runtime.start();
}, 300_000);

afterAll(async () => {
  await runtime?.stop();
  ddb?.destroy();
  sqs?.destroy();
  await proxy?.stop();
  await moto?.stop();
  rmSync(WORK, { recursive: true, force: true });
}, 60_000);

describe('LocalRuntime on moto', () => {
  it('reads the deployed stacks from the cloud assembly', () => {
    expect(app.stacks).toEqual([
      {
        stackName: STACK,
        region: REGION,
        templatePath: join(app.assemblyDir, `${STACK}.template.json`),
        account: LOCAL_ACCOUNT,
      },
    ]);
  });

  it('discovers functions with their resolved environment, mappings and schedules', () => {
    const fns = runtime.functions();
    expect(fns.map((f) => f.constructPath).sort()).toEqual([
      `${STACK}/QueueFn`,
      `${STACK}/StreamFn`,
      `${STACK}/TickFn`,
    ]);
    for (const fn of fns) {
      expect(fn.environment.SINK_TABLE).toBe(physical('Sink'));
      expect(fn.runtime).toBe('nodejs22.x');
      expect(fn.bundleDir.startsWith(app.assemblyDir)).toBe(true);
    }
    const stream = runtime.mappings().find((m) => m.kind === 'dynamodb');
    expect(stream).toMatchObject({
      batchSize: 10,
      maximumBatchingWindowSeconds: 1,
      startingPosition: 'TRIM_HORIZON',
      reportBatchItemFailures: true,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 2,
      functionName: physical('StreamFn'),
    });
    expect(stream?.onFailureDestination).toMatch(/^arn:aws:sqs:us-east-1:123456789012:RuntimeFixture-StreamFailures/);
    const queue = runtime.mappings().find((m) => m.kind === 'sqs');
    expect(queue).toMatchObject({ batchSize: 5, reportBatchItemFailures: true, functionName: physical('QueueFn') });
    expect(runtime.schedules()).toMatchObject([
      { expression: 'rate(1 minute)', enabled: true, targets: [{ functionName: physical('TickFn') }] },
    ]);
  });

  it('applies the bucket notifications and versioning that moto skips, so S3 events reach the queue', async () => {
    const bucket = physical('Uploads');
    expect(runtime.bucketNotifications()).toMatchObject([{ bucketName: bucket, managed: true }]);
    expect(runtime.bucketVersioning()).toMatchObject([{ bucketName: bucket, status: 'Enabled' }]);
    expect(logLines.join('\n')).toMatch(
      new RegExp(`bucket ${bucket} .*notifications s3:ObjectCreated:\\* \\[prefix=in/\\] → arn:aws:sqs:us-east-1:`),
    );
    expect(runtime.skipped().join('\n')).toMatch(/Custom::S3BucketNotifications handler; the runtime applies/);
    const s3 = new S3Client({ ...clientConfig(moto.endpoint), forcePathStyle: true });
    onTestFinished(() => s3.destroy());
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe('Enabled');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'out/ignored.txt', Body: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'in/hello world.txt', Body: 'hello' }));
    const messages = await receiveAll(physical('UploadEvents'), 20_000, (m) =>
      m.some((x) => x.Body?.includes('ObjectCreated')),
    );
    const bodies = messages.map((m) => JSON.parse(m.Body!));
    // moto sends an s3:TestEvent when the configuration is put, then one message per event.
    expect(bodies[0]).toMatchObject({ Event: 's3:TestEvent', Bucket: bucket });
    const records = bodies.flatMap((b) => b.Records ?? []);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      eventName: 'ObjectCreated:Put',
      // moto encodes keys like Python's quote_plus, "/" too (real S3 keeps "/"): both decode the same.
      s3: { bucket: { name: bucket }, object: { key: 'in%2Fhello+world.txt', size: 5 } },
    });
    expect(decodeURIComponent(records[0].s3.object.key.replaceAll('+', ' '))).toBe('in/hello world.txt');
  });

  it('delivers inserts, updates and deletes from the stream as a DynamoDBStreamEvent', async () => {
    const table = physical('Source');
    const before = Math.floor(Date.now() / 1000);
    await ddb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'life' }, v: { N: '1' } } }));
    await ddb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: 'life' } },
        UpdateExpression: 'SET v = :v',
        ExpressionAttributeValues: { ':v': { N: '2' } },
      }),
    );
    await ddb.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: 'life' } } }));
    const removed = await eventually(() => sinkItem('stream#life#REMOVE'));
    expect(await sinkItem('stream#life#INSERT')).toBeDefined();
    expect(await sinkItem('stream#life#MODIFY')).toBeDefined();
    expect(removed.region?.S).toBe(REGION);
    // ApproximateCreationDateTime arrives as whole epoch seconds, as in Lambda.
    const arrival = Number(removed.arrival?.N);
    expect(Number.isInteger(arrival)).toBe(true);
    expect(arrival).toBeGreaterThanOrEqual(before);
  });

  it('sends a failing record to the on-failure queue with DDBStreamBatchInfo while later records still flow', async () => {
    const table = physical('Source');
    await ddb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'poison' }, fail: { BOOL: true } } }));
    for (const pk of ['after-1', 'after-2', 'after-3']) {
      await ddb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: pk } } }));
    }
    for (const pk of ['after-1', 'after-2', 'after-3']) await eventually(() => sinkItem(`stream#${pk}#INSERT`));
    expect(await sinkItem('stream#poison#INSERT')).toBeUndefined();

    const [message] = await receiveAll(physical('StreamFailures'), 30_000, (m) => m.length > 0);
    const failure = JSON.parse(message!.Body!);
    const streamArn = (await ddb.send(new DescribeTableCommand({ TableName: table }))).Table?.LatestStreamArn;
    expect(failure).toMatchObject({
      requestContext: {
        functionArn: `arn:aws:lambda:us-east-1:123456789012:function:${physical('StreamFn')}`,
        condition: 'RetryAttemptsExhausted',
        // The first try plus MaximumRetryAttempts (2) on the isolated record.
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST' },
      version: '1.0',
      DDBStreamBatchInfo: { batchSize: 1, streamArn },
    });
    const info = failure.DDBStreamBatchInfo;
    expect(info.startSequenceNumber).toBe(info.endSequenceNumber);
    expect(info.approximateArrivalOfFirstRecord).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // The sequence number points at the poison record in the stream.
    const streams = new DynamoDBStreamsClient(clientConfig(moto.endpoint));
    const iterator = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: info.shardId,
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        SequenceNumber: info.startSequenceNumber,
      }),
    );
    const records = await streams.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator, Limit: 1 }));
    streams.destroy();
    expect(records.Records?.[0]?.dynamodb?.Keys?.pk?.S).toBe('poison');
  });

  it('processes SQS messages with Lambda record attributes and message attributes', async () => {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: physical('Work'),
        MessageBody: 'hello',
        MessageAttributes: { color: { DataType: 'String', StringValue: 'red' } },
      }),
    );
    const item = await eventually(() => sinkItem('queue#hello'));
    expect(item.attr?.S).toBe('red');
    expect(item.receiveCount?.N).toBe('1');
  });

  it('redelivers a failed message with a growing receive count, then moto moves it to the DLQ', async () => {
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: physical('Work'), MessageBody: 'fail' }));
    const dlq = physical('WorkDlq');
    const inDlq = await receiveAll(dlq, 40_000, (m) => m.some((x) => x.MessageId === sent.MessageId));
    expect(inDlq.find((m) => m.MessageId === sent.MessageId)?.Body).toBe('fail');
    const receives = logLines.filter((l) => l.includes(`failing ${sent.MessageId} receive`));
    expect(receives.map((l) => l.split(' receive ')[1])).toEqual(['1', '2']);
  });

  it('turns EMF lines into CloudWatch metrics in moto', async () => {
    const emf = await eventually(async () =>
      emfRecords.find((r) => r._aws.CloudWatchMetrics[0]?.Namespace === 'RuntimeFixture'),
    );
    const directive = emf._aws.CloudWatchMetrics[0]!;
    const dimensions = (directive.Dimensions[0] ?? []).map((name) => ({ Name: name, Value: String(emf[name]) }));
    expect(dimensions).toContainEqual({ Name: 'service', Value: 'queue-fixture' });
    const cloudwatch = new CloudWatchClient(clientConfig(moto.endpoint));
    const sum = await eventually(async () => {
      const out = await cloudwatch.send(
        new GetMetricDataCommand({
          StartTime: new Date(Date.now() - 600_000),
          EndTime: new Date(Date.now() + 600_000),
          MetricDataQueries: [
            {
              Id: 'processed',
              MetricStat: {
                Metric: { Namespace: 'RuntimeFixture', MetricName: 'MessagesProcessed', Dimensions: dimensions },
                Period: 60,
                Stat: 'Sum',
              },
            },
          ],
        }),
      );
      const values = out.MetricDataResults?.[0]?.Values ?? [];
      const total = values.reduce((a, b) => a + b, 0);
      return total > 0 ? total : undefined;
    });
    cloudwatch.destroy();
    expect(sum).toBeGreaterThanOrEqual(1);
  });

  it('invokes a function on demand with a Lambda context and keeps its module scope', async () => {
    const first = await runtime.invoke(`${STACK}/TickFn`, { id: 'on-demand', source: 'test' });
    expect(first.ok).toBe(true);
    const result = (first as { result: { remainingMs: number; invocations: number } }).result;
    expect(result.remainingMs).toBeGreaterThan(0);
    expect(result.remainingMs).toBeLessThanOrEqual(3_000);
    const second = await runtime.invoke(physical('TickFn'), { id: 'on-demand-2', source: 'test' });
    expect((second as { result: { invocations: number } }).result.invocations).toBe(result.invocations + 1);
    expect((await sinkItem('tick#on-demand'))?.fn?.S).toBe(physical('TickFn'));
    // The handler sent to the queue URL of its environment (an sqs.us-east-1.amazonaws.com URL in moto).
    await eventually(() => sinkItem('queue#tick-on-demand'));
  });

  it('retries a failed asynchronous invocation as configured, then sends its record to the on-failure destination', async () => {
    const before = runtime.stats()[physical('TickFn')]?.invocations ?? 0;
    const outcome = await runtime.invokeAsync(`${STACK}/TickFn`, { id: 'async-slow', sleepMs: 5_000 });
    expect(outcome).toMatchObject({ ok: false, error: { errorType: 'Sandbox.Timedout' } });
    // One invocation and the one retry of its EventInvokeConfig.
    expect(runtime.stats()[physical('TickFn')]?.invocations).toBe(before + 2);
    const records = await receiveAll(physical('TickFailures'), 20_000, (m) => m.length > 0);
    expect(JSON.parse(records[0]!.Body!)).toMatchObject({
      requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 2 },
      requestPayload: { id: 'async-slow', sleepMs: 5_000 },
      responsePayload: { errorType: 'Sandbox.Timedout' },
    });
  });

  it('reports a thrown error and a timeout as failed invocations', async () => {
    const errorsBefore = runtime.stats()[physical('StreamFn')]?.errors ?? 0;
    const thrown = await runtime.invoke(`${STACK}/StreamFn`, { Records: null });
    expect(thrown).toMatchObject({ ok: false, error: { errorType: 'TypeError' } });
    expect(runtime.stats()[physical('StreamFn')]?.errors).toBe(errorsBefore + 1);
    const slow = await runtime.invoke(`${STACK}/TickFn`, { id: 'slow', sleepMs: 5_000 });
    expect(slow).toMatchObject({ ok: false, error: { errorType: 'Sandbox.Timedout' } });
    await expect(runtime.invoke('NoSuchFunction', {})).rejects.toThrow(/no local function named NoSuchFunction/);
  });

  it('counts the AWS requests of handlers and pollers through the proxy', () => {
    const counts = proxy.counts();
    expect(counts['dynamodb:PutItem']).toBeGreaterThanOrEqual(8);
    expect(counts['dynamodbstreams:GetRecords']).toBeGreaterThan(0);
    expect(counts['sqs:ReceiveMessage']).toBeGreaterThan(0);
    expect(counts['sqs:DeleteMessageBatch']).toBeGreaterThan(0);
    expect(counts['sqs:SendMessage']).toBeGreaterThanOrEqual(2);
    expect(proxy.total()).toBe(Object.values(counts).reduce((a, b) => a + b, 0));
  });
});
