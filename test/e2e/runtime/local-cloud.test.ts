/**
 * The local cloud's plumbing: starting and stopping a private moto_server, the environment for SDKs and
 * CLIs, and the counting proxy in front of it.
 */
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type CountingProxy, classifyRequest, startCountingProxy } from '../../../src/local/counting-proxy';
import {
  localCloudEnv,
  MotoNotFoundError,
  type MotoServer,
  motoDetachesEventSourceMappings,
  startMoto,
} from '../../../src/local/moto';

let moto: MotoServer;
let proxy: CountingProxy;

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startCountingProxy(moto.endpoint);
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

describe('startMoto', () => {
  it('throws MotoNotFoundError saying how to install moto when moto_server is not on the PATH', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startMoto()).rejects.toThrow(MotoNotFoundError);
      await expect(startMoto()).rejects.toThrow(/pip install 'moto\[server\]/);
    } finally {
      process.env.PATH = path;
    }
  });

  it('answers on a localhost endpoint with moto mapping emulation detached; stop() ends the process', async () => {
    const own = await startMoto();
    onTestFinished(() => own.stop());
    expect(own.endpoint).toBe(`http://localhost:${own.port}`);
    expect(own.port).not.toBe(moto.port);
    const res = await fetch(`http://127.0.0.1:${own.port}/moto-api/`);
    expect(res.status).toBe(200);
    expect(await motoDetachesEventSourceMappings(own.endpoint)).toBe(true);
    expect(isRunning(own.pid)).toBe(true);
    await own.stop();
    expect(isRunning(own.pid)).toBe(false);
  });
});

describe('localCloudEnv', () => {
  it('points SDKs and the CDK at the endpoint with test credentials and drops profile and CA bundle', () => {
    const env = localCloudEnv('http://localhost:1234', 'eu-west-1', {
      AWS_PROFILE: 'prod',
      AWS_CA_BUNDLE: '/etc/ca.pem',
      HOME: '/root',
    });
    expect(env).toEqual({
      HOME: '/root',
      AWS_ENDPOINT_URL: 'http://localhost:1234',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      CDK_DEFAULT_ACCOUNT: '123456789012',
      CDK_DEFAULT_REGION: 'eu-west-1',
    });
  });
});

describe('counting proxy', () => {
  const config = () => ({
    region: 'us-east-1',
    endpoint: proxy.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });

  it('forwards JSON-protocol calls and counts them by service and action', async () => {
    proxy.reset();
    const ddb = new DynamoDBClient(config());
    await ddb.send(
      new CreateTableCommand({
        TableName: 'counted',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    for (const pk of ['a', 'b', 'c']) {
      await ddb.send(new PutItemCommand({ TableName: 'counted', Item: { pk: { S: pk } } }));
    }
    ddb.destroy();
    const sqs = new SQSClient(config());
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: 'counted' }));
    // moto builds the queue URL from the Host header, which the proxy keeps: clients stay on the proxy.
    expect(queue.QueueUrl).toBe(`${proxy.endpoint}/123456789012/counted`);
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.QueueUrl, Entries: [{ Id: '1', MessageBody: 'x' }] }));
    sqs.destroy();
    expect(proxy.counts()).toEqual({
      'dynamodb:CreateTable': 1,
      'dynamodb:PutItem': 3,
      'sqs:CreateQueue': 1,
      'sqs:SendMessageBatch': 1,
    });
    expect(proxy.total()).toBe(6);
  });

  it('counts REST calls by method and streams bodies through unchanged', async () => {
    proxy.reset();
    const s3 = new S3Client({ ...config(), forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'counted' }));
    const body = Buffer.alloc(256 * 1024, 7);
    await s3.send(new PutObjectCommand({ Bucket: 'counted', Key: 'dir/a b', Body: body }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'counted', Key: 'dir/a b' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    s3.destroy();
    expect(proxy.counts()).toEqual({ 's3:GET': 1, 's3:PUT': 2 });
  });

  it('classifies query-protocol requests by their Action parameter', () => {
    const auth = 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/monitoring/aws4_request, Signature=x';
    expect(
      classifyRequest(
        'POST',
        '/',
        { authorization: auth, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        'Action=PutMetricData&Version=2010-08-01',
      ),
    ).toBe('monitoring:PutMetricData');
    expect(
      classifyRequest('GET', '/?Action=ListQueues', { authorization: auth.replace('monitoring', 'sqs') }, ''),
    ).toBe('sqs:ListQueues');
    expect(classifyRequest('POST', '/', { 'x-amz-target': 'DynamoDBStreams_20120810.GetRecords' }, '')).toBe(
      'dynamodbstreams:GetRecords',
    );
  });
});
