/**
 * The local runtime's alarms end to end: deploy the alarms fixture (test/fixtures/alarms-app) to a private
 * moto, which skips AWS::CloudWatch::Alarm, start LocalRuntime, and check that the alarms exist with their
 * resolved properties and move to ALARM when their metric breaches.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CloudFormationClient, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  type MetricAlarm,
  PutMetricDataCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeployedApp, deployApp } from '../../../src/local/deploy';
import { type MotoServer, startMoto } from '../../../src/local/moto';
import { LocalRuntime } from '../../../src/local/runtime';
import { eventually } from '../../helpers/eventually';

const ROOT = resolve(__dirname, '../../..');
const WORK = join(ROOT, 'test/e2e/.work', `alarms-${randomUUID().slice(0, 8)}`);
const REGION = 'us-east-1';
const STACK = 'AlarmsFixture';
const LATENCY_DIMENSIONS = [
  { Name: 'Pair', Value: 'orders' },
  { Name: 'Target', Value: 'eu-west-1/orders' },
];

let moto: MotoServer;
let app: DeployedApp;
let runtime: LocalRuntime;
let cloudwatch: CloudWatchClient;
let sqs: SQSClient;
/** A queue subscribed to the alarm topic: what the runtime publishes lands here. */
let inboxUrl: string;
const logLines: string[] = [];
const resources = new Map<string, string>();

function clientConfig(endpoint: string) {
  return { region: REGION, endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
}

/** Physical id of a fixture resource by its construct id (CDK appends an 8-digit hash to the logical id). */
function physical(id: string): string {
  const found = [...resources].find(([logicalId]) => new RegExp(`^${id}[0-9A-F]{8}$`).test(logicalId));
  if (found === undefined) throw new Error(`no resource ${id} in ${[...resources.keys()].join(', ')}`);
  return found[1];
}

async function describeAlarm(name: string): Promise<MetricAlarm | undefined> {
  const out = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [name] }));
  return out.MetricAlarms?.[0];
}

async function stateOf(name: string): Promise<string | undefined> {
  return (await describeAlarm(name))?.StateValue;
}

beforeAll(async () => {
  mkdirSync(WORK, { recursive: true });
  moto = await startMoto({ logFile: join(WORK, 'moto.log') });
  app = await deployApp({
    endpoint: moto.endpoint,
    regions: [REGION],
    app: 'npx tsx test/fixtures/alarms-app/app.ts',
    outdir: join(WORK, 'cdk.out'),
    cwd: ROOT,
    log: (line) => logLines.push(line),
  });
  const cfn = new CloudFormationClient(clientConfig(moto.endpoint));
  const listed = await cfn.send(new ListStackResourcesCommand({ StackName: STACK }));
  for (const r of listed.StackResourceSummaries ?? []) resources.set(r.LogicalResourceId!, r.PhysicalResourceId!);
  cfn.destroy();
  cloudwatch = new CloudWatchClient(clientConfig(moto.endpoint));
  sqs = new SQSClient(clientConfig(moto.endpoint));
  inboxUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'alarm-inbox' }))).QueueUrl!;
  const inboxArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: inboxUrl, AttributeNames: ['QueueArn'] })))
    .Attributes!.QueueArn!;
  const sns = new SNSClient(clientConfig(moto.endpoint));
  await sns.send(new SubscribeCommand({ TopicArn: physical('AlarmTopic'), Protocol: 'sqs', Endpoint: inboxArn }));
  sns.destroy();
  runtime = new LocalRuntime({
    endpoint: moto.endpoint,
    assemblyDir: app.assemblyDir,
    stacks: app.stacks,
    log: (line) => logLines.push(line),
    alarmIntervalMs: 500,
  });
  await runtime.start();
}, 300_000);

afterAll(async () => {
  await runtime?.stop();
  cloudwatch?.destroy();
  sqs?.destroy();
  await moto?.stop();
  rmSync(WORK, { recursive: true, force: true });
}, 60_000);

describe('local alarms on moto', () => {
  it('creates every alarm of the template, which moto skipped, with its intrinsics resolved', async () => {
    const queueName = physical('Work').split('/').pop()!;
    const topicArn = physical('AlarmTopic');
    expect(topicArn).toMatch(/^arn:aws:sns:us-east-1:123456789012:/);
    const all = (await cloudwatch.send(new DescribeAlarmsCommand({}))).MetricAlarms ?? [];
    expect(all.map((a) => a.AlarmName).sort()).toEqual(
      [`${queueName}-depth`, 'alarms-fixture-errors', 'alarms-fixture-latency-p99', `${STACK}-doubled-depth`].sort(),
    );
    expect(
      runtime
        .alarms()
        .map((a) => a.alarmName)
        .sort(),
    ).toEqual(all.map((a) => a.AlarmName).sort());

    expect(await describeAlarm(`${queueName}-depth`)).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: queueName }],
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 5,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicArn],
      OKActions: [topicArn],
    });
    expect(await describeAlarm('alarms-fixture-errors')).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: physical('Fn') }],
      Statistic: 'Sum',
    });
    expect(await describeAlarm('alarms-fixture-latency-p99')).toMatchObject({
      Namespace: 'AlarmsFixture',
      MetricName: 'ReplicationLatency',
      ExtendedStatistic: 'p99',
      Period: 60,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 1,
      Threshold: 60_000,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    const math = await describeAlarm(`${STACK}-doubled-depth`);
    expect(math?.AlarmDescription).toBe(`Twice the depth of ${queueName}`);
    expect(math?.Metrics?.map((m) => m.Id)).toEqual(['m1', 'e1']);
    expect(math?.Metrics?.[0]?.MetricStat?.Metric?.Dimensions).toEqual([{ Name: 'QueueName', Value: queueName }]);
    expect(logLines.join('\n')).toMatch(/created AlarmsFixture-doubled-depth .*not evaluated: metric math/);
  });

  it('evaluates alarms without data by TreatMissingData: notBreaching goes to OK, metric math stays unevaluated', async () => {
    await eventually(
      'the errors alarm to be OK',
      () => stateOf('alarms-fixture-errors'),
      (s) => s === 'OK',
    );
    expect(await stateOf(`${STACK}-doubled-depth`)).toBe('INSUFFICIENT_DATA');
  });

  it('moves an alarm to ALARM when pushed metric data breaches it, with the reason and the notification', async () => {
    await eventually(
      'the latency alarm to be OK',
      () => stateOf('alarms-fixture-latency-p99'),
      (s) => s === 'OK',
    );
    await cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: 'AlarmsFixture',
        MetricData: [
          { MetricName: 'ReplicationLatency', Dimensions: LATENCY_DIMENSIONS, Value: 90_000, Unit: 'Milliseconds' },
        ],
      }),
    );
    const alarm = await eventually(
      'the latency alarm to be ALARM',
      () => describeAlarm('alarms-fixture-latency-p99'),
      (a) => a?.StateValue === 'ALARM',
    );
    expect(alarm?.StateReason).toMatch(
      /^Threshold Crossed: 1 of 3 datapoints .*90000.* breach GreaterThanThreshold 60000/,
    );
    expect(logLines.join('\n')).toMatch(/alarms-fixture-latency-p99: OK → ALARM/);
    // Published to the alarm topic as CloudWatch does, and delivered by SNS to the subscribed queue.
    const seen: { AlarmName?: string; NewStateValue?: string; OldStateValue?: string }[] = [];
    await eventually(
      'the ALARM notification in the subscribed queue',
      async () => {
        const got = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: inboxUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        for (const m of got.Messages ?? []) seen.push(JSON.parse(JSON.parse(m.Body!).Message));
        return seen;
      },
      (all) => all.some((n) => n.AlarmName === 'alarms-fixture-latency-p99' && n.NewStateValue === 'ALARM'),
    );
    expect(seen.find((n) => n.NewStateValue === 'ALARM')).toMatchObject({
      AlarmName: 'alarms-fixture-latency-p99',
      OldStateValue: 'OK',
    });
  });

  it('puts an alarm set by hand back into the state its metric says, as CloudWatch does at the next evaluation', async () => {
    const name = 'alarms-fixture-errors';
    await eventually(
      'the errors alarm to be OK',
      () => stateOf(name),
      (s) => s === 'OK',
    );
    await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: name, StateValue: 'ALARM', StateReason: 'test' }));
    await eventually(
      'the errors alarm to be OK again',
      () => stateOf(name),
      (s) => s === 'OK',
    );
    expect(logLines.join('\n')).toMatch(/alarms-fixture-errors: ALARM → OK/);
  });
});
