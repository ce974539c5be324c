/**
 * `cdk deploy` updates a deployed stack through a change set; moto 5 answers three of the calls it makes for
 * that unlike CloudFormation, so a second deploy (a target added to a running pair) failed on the local cloud.
 * startMoto's hook answers them as CloudFormation does; with `cloudFormationChangeSets: false` stock moto's
 * answers show through (which is why the hook exists). The calls are the CDK CLI's, in its order: delete the
 * old change set "if it exists", wait until describing it says it is gone, create one of type UPDATE with
 * `UsePreviousValue` for the SSM-typed BootstrapVersion parameter, execute it. Against real moto_servers,
 * started and stopped here.
 */
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MotoServer, startMoto } from '../../src/local/moto';
import { outcome } from '../helpers/outcome';

const STACK = 'change-sets';
const CHANGE_SET = 'cdk-deploy-change-set';
const REGION = 'us-east-1';

let hooked: MotoServer;
let stock: MotoServer;

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const cfn = (m: MotoServer) =>
  new CloudFormationClient({ endpoint: m.endpoint, region: REGION, credentials, maxAttempts: 1 });
const sqs = (m: MotoServer) => new SQSClient({ endpoint: m.endpoint, region: REGION, credentials });

/** A CDK-like template: the bootstrap version parameter read from SSM, and the queues named. */
function template(queues: readonly string[]): string {
  return JSON.stringify({
    Parameters: {
      BootstrapVersion: {
        Type: 'AWS::SSM::Parameter::Value<String>',
        Default: '/cdk-bootstrap/hnb659fds/version',
      },
    },
    Resources: Object.fromEntries(
      queues.map((q) => [`Queue${q}`, { Type: 'AWS::SQS::Queue', Properties: { QueueName: q } }]),
    ),
  });
}

/** The SSM parameter `cdk bootstrap` writes (no SSM client in this project: one JSON request). */
async function putBootstrapVersion(m: MotoServer): Promise<void> {
  const res = await fetch(m.endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': 'AmazonSSM.PutParameter',
      Authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${REGION}/ssm/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify({ Name: '/cdk-bootstrap/hnb659fds/version', Value: '30', Type: 'String' }),
  });
  expect(res.status).toBe(200);
}

/** The first deploy: a change set of type CREATE, executed. */
async function create(m: MotoServer): Promise<void> {
  await putBootstrapVersion(m);
  const client = cfn(m);
  await client.send(
    new CreateChangeSetCommand({
      StackName: STACK,
      ChangeSetName: CHANGE_SET,
      ChangeSetType: 'CREATE',
      TemplateBody: template(['first']),
    }),
  );
  await client.send(new ExecuteChangeSetCommand({ StackName: STACK, ChangeSetName: CHANGE_SET }));
}

/** The second deploy, as the CDK CLI makes it; each step's outcome. */
async function update(m: MotoServer): Promise<Record<string, string>> {
  const client = cfn(m);
  const steps: Record<string, string> = {};
  steps.deleteOld = await outcome(
    client.send(new DeleteChangeSetCommand({ StackName: STACK, ChangeSetName: CHANGE_SET })),
  );
  steps.describeGone = await outcome(
    client.send(new DescribeChangeSetCommand({ StackName: STACK, ChangeSetName: CHANGE_SET })),
  );
  steps.create = await outcome(
    client.send(
      new CreateChangeSetCommand({
        StackName: STACK,
        ChangeSetName: CHANGE_SET,
        ChangeSetType: 'UPDATE',
        TemplateBody: template(['first', 'second']),
        Parameters: [{ ParameterKey: 'BootstrapVersion', UsePreviousValue: true }],
      }),
    ),
  );
  steps.execute = await outcome(
    client.send(new ExecuteChangeSetCommand({ StackName: STACK, ChangeSetName: CHANGE_SET })),
  );
  return steps;
}

beforeAll(async () => {
  [hooked, stock] = await Promise.all([startMoto(), startMoto({ cloudFormationChangeSets: false })]);
  await Promise.all([create(hooked), create(stock)]);
}, 120_000);

afterAll(async () => {
  await hooked?.stop();
  await stock?.stop();
});

describe('CloudFormation change sets on the local cloud', () => {
  it('with the hook: an executed change set is gone, a missing one deletes quietly, and the update applies', async () => {
    // Executing a change set deletes the stack's change sets, as CloudFormation does.
    expect(
      await outcome(cfn(hooked).send(new DescribeChangeSetCommand({ StackName: STACK, ChangeSetName: CHANGE_SET }))),
    ).toBe('404 ChangeSetNotFoundException');
    const firstQueue = await sqs(hooked).send(new GetQueueUrlCommand({ QueueName: 'first' }));

    expect(await update(hooked)).toEqual({
      deleteOld: 'ok',
      describeGone: '404 ChangeSetNotFoundException',
      create: 'ok',
      execute: 'ok',
    });
    const { Stacks } = await cfn(hooked).send(new DescribeStacksCommand({ StackName: STACK }));
    expect(Stacks?.[0]?.StackStatus).toBe('UPDATE_COMPLETE');
    const { StackResourceSummaries } = await cfn(hooked).send(new ListStackResourcesCommand({ StackName: STACK }));
    expect(StackResourceSummaries?.map((r) => r.LogicalResourceId).sort()).toEqual(['Queuefirst', 'Queuesecond']);
    // The queue already there is updated in place, not replaced.
    expect((await sqs(hooked).send(new GetQueueUrlCommand({ QueueName: 'first' }))).QueueUrl).toBe(firstQueue.QueueUrl);
    await sqs(hooked).send(new GetQueueUrlCommand({ QueueName: 'second' }));
  });

  it("without it: stock moto's answers fail the CDK CLI's update", async () => {
    const steps = await update(stock);
    // The CLI waits for the old change set to be gone and takes this for a failure.
    expect(steps.describeGone).toBe('400 ValidationError');
    // UsePreviousValue gave the resolved value, which moto then looked up in SSM as a parameter name: a 500.
    expect(steps.execute).not.toBe('ok');
  });
});
