/**
 * Targets in another account, end to end on the local cloud. moto keeps one state per account: the app's
 * target account stack (`Replicator-TargetAccount-222222222222-eu-west-1`: the target table, the target bucket
 * and the role) deploys into account 222222222222 as `cdk deploy` does on AWS (through that account's bootstrap
 * deploy role), and apply, copy and reconcile reach the targets only through the role, whose credentials moto
 * runs in that account. The IAM contract then checks every call the functions made, as the function's role or
 * as the assumed one, against both accounts' templates: trust policy, external id, the role's own policy and the
 * source bucket's grant to it. moto checks none of that itself.
 *
 * Every item value, object body and metadata value written here holds a sentinel, as do the poison messages
 * sent to the pair queues: the last test checks that it appears in no line any function logged (capture,
 * apply, copy, dead-letter, reconcile), no metric and no message attribute. Keys are not data in that sense:
 * logs and dead-letter reasons name them, so that a failure can be found.
 */
import { DeleteItemCommand, DescribeTableCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReconcileSummary } from '../../functions/engine/reconcile-run';
import type { DynamoPairConfig, S3PairConfig } from '../../lib/config';
import { localDynamo, localS3, queueDepth } from '../../src/cli/aws';
import { backfillPair } from '../../src/cli/backfill';
import { type LocalCloud, startLocalCloud } from '../../src/cli/local-cloud';
import { pairStatus } from '../../src/cli/operations';
import { isConverged } from '../../src/cli/pair-types/driver';
import { verifyTablePair } from '../../src/cli/pair-types/dynamodb';
import { converged } from '../../src/cli/pair-types/dynamodb-verify';
import { verifyBucketPair } from '../../src/cli/pair-types/s3';
import { exitCodeOf, reconcilePair } from '../../src/cli/reconcile';
import { inMotoAccount } from '../../src/local/moto';
import { eventually } from '../helpers/eventually';
import { denied } from '../iam/evaluate';
import { deployedTemplates, evaluateRecorded, expectCallsAllowed, recordCalls } from '../iam/local-cloud-calls';
import { iamModel } from '../iam/template-model';

const PARTNER = '222222222222';
const ROLE = `arn:aws:iam::${PARTNER}:role/replicator/target-writer`;
const TABLE = 'e2e-x-orders';
const BUCKET = 'e2e-x-partner';
const TABLE_TARGET = `${PARTNER}/eu-west-1/${TABLE}`;
const BUCKET_TARGET = `${PARTNER}/eu-west-1/${BUCKET}`;

/** What no log line, metric or message attribute may ever hold. */
const SENTINEL = 'SENTINEL-7c1e-do-not-log';
/** Every line the local cloud logged: the runtime's, and each function's output (its CloudWatch Logs on AWS). */
const logLines: string[] = [];

let cloud: LocalCloud;
let calls: ReturnType<typeof recordCalls>;
let table: DynamoPairConfig;
let bucket: S3PairConfig;

beforeAll(async () => {
  cloud = await startLocalCloud({
    configPath: `${__dirname}/../fixtures/configs/e2e-cross-account.json`,
    log: (line) => {
      logLines.push(line);
      if (process.env.E2E_VERBOSE) console.log(line);
    },
  });
  table = cloud.config.pairs[0] as DynamoPairConfig;
  bucket = cloud.config.pairs[1] as S3PairConfig;
  calls = recordCalls(cloud);
}, 600_000);

afterAll(async () => {
  await cloud?.stop();
});

const srcTable = () => localDynamo(cloud.endpoint, 'us-east-1');
const partnerTable = () => localDynamo(cloud.endpoint, 'eu-west-1', PARTNER);
const srcBucket = () => localS3(cloud.endpoint, 'us-east-1');
const partnerBucket = () => localS3(cloud.endpoint, 'eu-west-1', PARTNER);
const iam = (account?: string) =>
  inMotoAccount(
    new IAMClient({
      region: 'us-east-1',
      endpoint: cloud.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
    account,
  );
const key = (i: number) => ({ pk: { S: `order-${i}` } });

const tableConverged = () =>
  eventually(
    'the partner table to converge',
    () => verifyTablePair(cloud, table),
    (m) => [...m.values()].every(converged),
  );
const bucketConverged = () =>
  eventually(
    'the partner bucket to converge',
    () => verifyBucketPair(cloud, bucket),
    (m) => [...m.values()].every(isConverged),
  );

describe('targets in another account on the local cloud', () => {
  it("deploys the target account's stack there: its table, bucket and role are that account's alone", async () => {
    expect(cloud.deployed.stacks.map((s) => [s.stackName, s.account])).toEqual(
      expect.arrayContaining([[`Replicator-TargetAccount-${PARTNER}-eu-west-1`, PARTNER]]),
    );
    await partnerTable().send(new DescribeTableCommand({ TableName: TABLE }));
    await expect(
      localDynamo(cloud.endpoint, 'eu-west-1').send(new DescribeTableCommand({ TableName: TABLE })),
    ).rejects.toThrow(/not found|ResourceNotFound/i);
    const role = (await iam(PARTNER).send(new GetRoleCommand({ RoleName: 'target-writer' }))).Role!;
    expect(role.Arn).toBe(ROLE);
    const trust = JSON.stringify(JSON.parse(decodeURIComponent(role.AssumeRolePolicyDocument!)));
    expect(trust).toContain('"sts:ExternalId":["e2e-x-external-id"]');
    expect(trust).toContain(`role/replicator-e2e-x-orders-apply-us-east-1`);
    // The functions' roles are named, so the trust policy can name them.
    const apply = await iam().send(new GetRoleCommand({ RoleName: 'replicator-e2e-x-orders-apply-us-east-1' }));
    expect(apply.Role?.Arn).toBe('arn:aws:iam::123456789012:role/replicator-e2e-x-orders-apply-us-east-1');
  });

  it("replicates puts, updates and deletes into the other account's table through the role", async () => {
    for (let i = 0; i < 20; i++) {
      await srcTable().send(
        new PutItemCommand({ TableName: TABLE, Item: { ...key(i), n: { N: String(i) }, secret: { S: SENTINEL } } }),
      );
    }
    await srcTable().send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: key(3),
        UpdateExpression: 'SET n = :n, note = :s',
        ExpressionAttributeValues: { ':n': { N: '33' }, ':s': { S: `updated ${SENTINEL}` } },
      }),
    );
    await srcTable().send(new DeleteItemCommand({ TableName: TABLE, Key: key(4) }));
    const diffs = await tableConverged();
    expect(diffs.get(TABLE_TARGET)?.checked).toBe(19);
  });

  it("copies objects, a multipart-sized one among them, into the other account's bucket through the role", async () => {
    for (let i = 0; i < 8; i++) {
      await srcBucket().send(
        new PutObjectCommand({
          Bucket: 'e2e-x-source',
          Key: `data/obj-${i}.txt`,
          Body: `v${i} ${SENTINEL}`,
          Metadata: { note: SENTINEL },
        }),
      );
    }
    await srcBucket().send(
      new PutObjectCommand({
        Bucket: 'e2e-x-source',
        Key: 'data/checkpoint.bin',
        Body: Buffer.alloc(6 * 1024 * 1024, 7),
        Metadata: { step: '1', note: SENTINEL },
        Tagging: `team=ml&note=${SENTINEL}`,
      }),
    );
    const diffs = await bucketConverged();
    expect(diffs.get(BUCKET_TARGET)?.checked).toBe(9);
    const head = await partnerBucket().send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'data/checkpoint.bin' }));
    expect(head.ContentLength).toBe(6 * 1024 * 1024);
    expect(head.Metadata).toMatchObject({ step: '1', 'rep-o': 'us-east-1' });
  });

  it('reconciles through the role: the CLI as an operator, and the deployed function, repair what differs', async () => {
    await partnerTable().send(
      new PutItemCommand({ TableName: TABLE, Item: { ...key(5), n: { N: '-1' }, secret: { S: `other ${SENTINEL}` } } }),
    );
    await partnerTable().send(new DeleteItemCommand({ TableName: TABLE, Key: key(6) }));
    const repaired = await reconcilePair({
      pair: table,
      sourceRegion: 'us-east-1',
      endpoint: cloud.endpoint,
      repair: true,
    });
    expect(repaired.report.targets.find((t) => t.target === TABLE_TARGET)).toMatchObject({
      different: 1,
      missing: 1,
      repaired: 2,
    });
    expect(exitCodeOf(repaired)).toBe(0);
    await tableConverged();

    await partnerBucket().send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'data/obj-1.txt', Body: `changed ${SENTINEL}` }),
    );
    const invoked = await cloud.runtime.invoke('replicator-e2e-x-data-reconcile', { source: 'aws.events' });
    if (!invoked.ok) throw new Error(`reconcile failed: ${invoked.error.errorType}: ${invoked.error.errorMessage}`);
    expect(invoked.result as ReconcileSummary).toMatchObject({ pair: 'e2e-x-data', mismatched: 1, repaired: 1 });
    await bucketConverged();

    const status = await pairStatus(cloud.config, { region: 'us-east-1', endpoint: cloud.endpoint });
    expect(status.map((s) => [s.pair, s.deployed])).toEqual([
      ['e2e-x-orders', true],
      ['e2e-x-data', true],
    ]);
  });

  it('backfills items removed from the other account behind its back, through the apply path and the role', async () => {
    for (const i of [7, 8, 9]) await partnerTable().send(new DeleteItemCommand({ TableName: TABLE, Key: key(i) }));
    // The CLI reads the target through its role (as an operator), to enqueue only what it lacks.
    const r = await backfillPair({ pair: table, sourceRegion: 'us-east-1', endpoint: cloud.endpoint, shards: 2 });
    expect(r.report.targets[0]).toMatchObject({ checked: 19, missing: 3, repaired: 3 });
    const diffs = await tableConverged();
    expect(diffs.get(TABLE_TARGET)?.checked).toBe(19);
  });

  it('dead-letters poison messages with their reasons, quoting none of their content', async () => {
    const sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: cloud.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const poison = {
      'e2e-x-orders': [
        `not json ${SENTINEL}`,
        // An envelope whose key does not fit the target's schema (pk is a string there): the write fails.
        JSON.stringify({
          v: 1,
          pair: 'e2e-x-orders',
          op: 'put',
          key: { pk: { N: '1' } },
          image: { pk: { N: '1' }, secret: { S: SENTINEL } },
          version: `${'1'.padStart(15, '0')}.${'1'.padStart(40, '0')}`,
          origin: 'us-east-1',
          capturedAt: Date.now(),
        }),
        JSON.stringify({ v: 1, pair: 'e2e-x-orders', op: 'put', image: { secret: { S: SENTINEL } } }),
      ],
      'e2e-x-data': [`{"v":1,"pair":"e2e-x-data","key":"${SENTINEL}`],
    };
    for (const [pairName, bodies] of Object.entries(poison)) {
      const { url } = await queueDepth(sqs, `replicator-${pairName}`);
      for (const body of bodies) await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    }
    for (const [pairName, bodies] of Object.entries(poison)) {
      const dlq = `replicator-${pairName}-dlq`;
      const { url } = await eventually(
        `${pairName}'s poison messages in its DLQ`,
        () => queueDepth(sqs, dlq),
        (q) => q.depth === bodies.length,
      );
      const messages = await eventually(
        `${dlq} to be received`,
        async () =>
          (
            await sqs.send(
              new ReceiveMessageCommand({
                QueueUrl: url,
                MaxNumberOfMessages: 10,
                MessageAttributeNames: ['All'],
                VisibilityTimeout: 0,
              }),
            )
          ).Messages ?? [],
        (m) => m.length === bodies.length,
      );
      for (const m of messages) {
        expect(m.MessageAttributes?.['rep-error']?.StringValue).toBeTruthy();
        expect(JSON.stringify(m.MessageAttributes)).not.toContain(SENTINEL);
      }
    }
  });

  it('logs, publishes and attaches no data: the sentinel is in no log line, metric or attribute', () => {
    expect(logLines.length).toBeGreaterThan(100);
    // The functions did log each path, so the check below saw them.
    for (const what of ['captured', 'dead-lettered', 'reconcile']) {
      expect(logLines.some((l) => l.includes(what))).toBe(true);
    }
    expect(logLines.filter((l) => l.includes(SENTINEL))).toEqual([]);
    expect(JSON.stringify(cloud.metrics)).not.toContain(SENTINEL);
  });

  it('makes only calls both accounts allow, and the contract catches a wrong external id or an untrusted role', async () => {
    await expectCallsAllowed(cloud, calls);
    const { recorded } = await evaluateRecorded(cloud, calls.recorder);
    const assumes = recorded.filter((c) => c.action === 'sts:AssumeRole');
    expect(new Set(assumes.map((c) => c.principal))).toEqual(
      new Set([
        'arn:aws:iam::123456789012:role/replicator-e2e-x-orders-apply-us-east-1',
        'arn:aws:iam::123456789012:role/replicator-e2e-x-data-copy-us-east-1',
        'arn:aws:iam::123456789012:role/replicator-e2e-x-data-reconcile-us-east-1',
      ]),
    );
    const asRole = recorded.filter((c) => c.principal === ROLE);
    expect(asRole.map((c) => c.action)).toEqual(
      expect.arrayContaining(['dynamodb:PutItem', 's3:PutObject', 's3:GetObject', 's3:ListBucket']),
    );
    // The copy source is read as the role across accounts: the source bucket's policy allowed it.
    expect(
      asRole.some((c) => c.resource.startsWith('arn:aws:s3:::e2e-x-source/') && c.resourceAccount !== PARTNER),
    ).toBe(true);

    const model = iamModel(deployedTemplates(cloud));
    const assume = assumes[0]!;
    const wrong = await denied(model, [
      { ...assume, context: { 'sts:ExternalId': 'guessed' }, why: 'a wrong external id' },
      {
        ...assume,
        principal: 'arn:aws:iam::123456789012:role/replicator-e2e-x-orders-capture-us-east-1',
        why: 'capture, which the role does not trust',
      },
    ]);
    expect(wrong.map((d) => d.call.why)).toEqual(['a wrong external id', 'capture, which the role does not trust']);
  });
});
