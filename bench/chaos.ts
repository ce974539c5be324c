/**
 * `npm run chaos [-- SCENARIO...]`: fault scenarios on the local cloud, each ending with every target equal to
 * its source and a reconcile that finds no difference. Faults are injected by the proxy the functions and the
 * runtime talk through (LocalCloud.setFaults), chosen per request by its SigV4 service and region; the
 * workload and the verifiers talk to moto directly. Each scenario prints what it injected and what it found;
 * `bench/results/chaos.json` keeps the figures.
 *
 * Scenarios:
 * - `mixed`: 10% of every request fails (resets, 500, 503, throttling in each protocol's shape, 0.5 s delays)
 *   while CHAOS_TABLE_OPS table changes (default 10,000) and CHAOS_OBJECT_OPS object changes (1,000) are written;
 * - `outage-60s` and `outage-10min`: every request to the target region is reset for 60 s / CHAOS_LONG_OUTAGE_S
 *   (600) while changes go on; the queue grows, then drains by itself; the per-target backlog alarm fires, then
 *   clears (watched for CHAOS_ALARM_WAIT_S, default 900, after the region returns);
 * - `killed`: 5% of the DynamoDB requests to the target region held past the apply function's timeout. The pair
 *   with the default request timeout (10 s) abandons each held request after 10 s and retries it; the pair whose
 *   `requestTimeout` is 5 minutes (`chaos-bench-patient`) waits until the invocation's own deadline, a few seconds
 *   before Lambda's timeout (functions/engine/deadline.ts), abandons what is still held there and re-sends it:
 *   no invocation of either pair may be ended at its timeout (before the deadline, the patient pair's were);
 * - `poison`: an item too large for the target, a message that is not an envelope, a target table whose key
 *   schema is not the source's, an object deleted right after it was written: each dead-lettered with its reason
 *   or counted stale while the rest of the pair flows.
 */
import { readFileSync } from 'node:fs';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateTableCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  PutItemCommand,
  waitUntilTableExists,
  waitUntilTableNotExists,
} from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { pairResourceNames } from '../functions/contract';
import type { DynamoPairConfig, S3PairConfig } from '../lib/config';
import { localDynamo, localS3, queueDepth } from '../src/cli/aws';
import { type LocalCloud, startLocalCloud } from '../src/cli/local-cloud';
import { keySchemaOf, verifyTablePair } from '../src/cli/pair-types/dynamodb';
import { applyOp, makeWorkload } from '../src/cli/pair-types/dynamodb-workload';
import { verifyBucketPair } from '../src/cli/pair-types/s3';
import { applyS3Op, makeS3Workload } from '../src/cli/pair-types/s3-workload';
import { reconcilePair } from '../src/cli/reconcile';
import { prng, runAtRate } from '../src/cli/workload';
import type { Fault, FaultRule } from '../src/local/counting-proxy';
import { envNumber, runEnvironment, sleep, writeResults } from './common';

const CONFIG = `${__dirname}/chaos.config.json`;
const RESULTS = `${__dirname}/results/chaos.json`;
const TARGET_REGION = 'eu-west-1';

/** What one scenario injected and found. */
interface ScenarioResult {
  readonly scenario: string;
  readonly injected: Record<string, number>;
  readonly writes: { readonly table: number; readonly objects: number };
  /** From the end of the faults to both targets equal to their sources, ms; null when they never were. */
  readonly convergedAfterMs: number | null;
  /** Messages in each pair's dead-letter queue (a scenario returns the depths; main makes them its own). */
  readonly deadLetters: Record<string, number>;
  /** Keys missing on a target, or different, when the wait ended. */
  readonly lost: number;
  readonly divergent: number;
  /** What an on-demand reconcile found afterwards, per pair. */
  readonly reconcileMismatched: Record<string, number>;
  /** The per-target backlog alarms: whether each went to ALARM, and back to OK. */
  readonly backlogAlarms?: Record<string, { readonly fired: boolean; readonly cleared: boolean }>;
  readonly notes: string[];
}

/** Invocations the runtime ended at their timeout (it ends the worker, as Lambda ends the environment), per function. */
const timedOut = new Map<string, number>();

/** Invocations of the pair's functions that the runtime ended at their timeout so far. */
function endedAtTimeout(pair: string): number {
  return [...timedOut].filter(([fn]) => fn.startsWith(`replicator-${pair}-`)).reduce((n, [, c]) => n + c, 0);
}

/** Everything a scenario needs. */
interface Env {
  readonly cloud: LocalCloud;
  readonly table: DynamoPairConfig;
  readonly bucket: S3PairConfig;
  /** A table pair whose requestTimeout (5 min) outlasts its apply timeout: a hung write holds the invocation. */
  readonly patient: DynamoPairConfig;
  readonly sqs: SQSClient;
}

/** An error response in the request's protocol, for a throttling fault. */
function throttle(r: { readonly service: string | undefined }): Fault {
  if (r.service === 's3')
    return { kind: 'status', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' };
  if (r.service === 'dynamodb')
    return { kind: 'status', status: 400, code: 'ThrottlingException', message: 'Rate exceeded' };
  return { kind: 'status', status: 400, code: 'ThrottlingException', message: 'Rate exceeded' };
}

/** 10% of requests fail, evenly among resets, 500, 503, throttling and 0.5 s delays. */
function mixedFaults(seed = 7): FaultRule {
  const rnd = prng(seed);
  return (r) => {
    if (rnd() >= 0.1) return undefined;
    const pick = Math.floor(rnd() * 5);
    if (pick === 0) return { kind: 'reset' };
    if (pick === 1) return { kind: 'status', status: 500, code: 'InternalServerError', message: 'injected' };
    if (pick === 2) return { kind: 'status', status: 503, code: 'ServiceUnavailable', message: 'injected' };
    if (pick === 3) return throttle(r);
    return { kind: 'delay', ms: 500 };
  };
}

/** Both pairs' targets compared with their sources, until equal or `timeoutMs`. */
/**
 * Both pairs' targets compared with their sources, until equal or `timeoutMs`. Keys in `missingByDesign` may be
 * missing on a target (the poison item); `unequal` names the keys still different or extra when the wait ended.
 */
async function waitConverged(
  env: Env,
  timeoutMs: number,
  missingByDesign: readonly unknown[] = [],
): Promise<{ afterMs: number | null; lost: number; divergent: number; unequal: string[] }> {
  const allowed = new Set(missingByDesign.map((k) => JSON.stringify(k)));
  const started = Date.now();
  for (;;) {
    const diffs = [
      ...(await verifyTablePair(env.cloud, env.table)).values(),
      ...(await verifyTablePair(env.cloud, env.patient)).values(),
      ...(await verifyBucketPair(env.cloud, env.bucket)).values(),
    ];
    const lost = diffs.reduce((n, d) => n + d.missing.filter((k) => !allowed.has(JSON.stringify(k))).length, 0);
    const unequal = diffs.flatMap((d) => [...d.different, ...d.extra].map((k) => JSON.stringify(k)));
    if (lost === 0 && unequal.length === 0) return { afterMs: Date.now() - started, lost: 0, divergent: 0, unequal };
    if (Date.now() - started > timeoutMs) return { afterMs: null, lost, divergent: unequal.length, unequal };
    await sleep(3_000);
  }
}

async function deadLetters(env: Env): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const p of [env.table.name, env.patient.name, env.bucket.name]) {
    out[p] = (await queueDepth(env.sqs, pairResourceNames(p).deadLetterQueue)).depth;
  }
  return out;
}

async function reconciled(env: Env): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const p of [env.table, env.patient, env.bucket]) {
    const r = await reconcilePair({
      pair: p,
      sourceRegion: 'us-east-1',
      endpoint: env.cloud.endpoint,
      publishMetrics: false,
      readRate: 1000,
    });
    out[p.name] = r.report.mismatched;
  }
  return out;
}

/** Writes `tableOps` table changes and `objectOps` object changes at steady rates. */
async function writeWorkload(
  env: Env,
  o: { tableOps: number; objectOps: number; tableRate: number; objectRate: number; seed: number },
) {
  const src = localDynamo(env.cloud.endpoint, 'us-east-1');
  const s3 = localS3(env.cloud.endpoint, 'us-east-1');
  const ops = makeWorkload({
    ops: o.tableOps,
    keys: await keySchemaOf(src, env.table.source.table),
    seed: o.seed,
    bigItem: false,
  });
  const objects = makeS3Workload({
    prefix: env.bucket.prefix ?? '',
    objects: o.objectOps,
    largeObjectBytes: 0,
    seed: o.seed,
  });
  await Promise.all([
    runAtRate(ops, o.tableRate, (op) => applyOp(src, env.table.source.table, op)),
    runAtRate(objects.slice(0, o.objectOps), o.objectRate, (op) => applyS3Op(s3, env.bucket.source.bucket, op), {
      maxInFlight: 8,
    }),
  ]);
  return { table: ops.length, objects: Math.min(objects.length, o.objectOps) };
}

async function scenarioMixed(env: Env): Promise<ScenarioResult> {
  const tableOps = envNumber('CHAOS_TABLE_OPS', 10_000);
  const objectOps = envNumber('CHAOS_OBJECT_OPS', 1_000);
  env.cloud.setFaults(mixedFaults());
  const writes = await writeWorkload(env, { tableOps, objectOps, tableRate: 100, objectRate: 10, seed: 11 });
  const injected = env.cloud.faultCounts();
  env.cloud.setFaults(undefined);
  const c = await waitConverged(env, 900_000);
  return {
    scenario: 'mixed',
    injected,
    writes,
    convergedAfterMs: c.afterMs,
    deadLetters: await deadLetters(env),
    lost: c.lost,
    divergent: c.divergent,
    reconcileMismatched: await reconciled(env),
    notes: ["10% of every request through the proxy (functions and the runtime's pollers), every region"],
  };
}

async function alarmStates(cw: CloudWatchClient, names: readonly string[]): Promise<Record<string, string>> {
  const res = await cw.send(new DescribeAlarmsCommand({ AlarmNames: [...names] }));
  return Object.fromEntries((res.MetricAlarms ?? []).map((a) => [a.AlarmName ?? '', a.StateValue ?? '']));
}

async function scenarioOutage(env: Env, name: string, outageMs: number): Promise<ScenarioResult> {
  const cw = new CloudWatchClient({
    region: 'us-east-1',
    endpoint: env.cloud.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const alarms = [
    `replicator-${env.table.name}-backlog-age-${TARGET_REGION}-${env.table.targets[0]!.table}`,
    `replicator-${env.bucket.name}-backlog-age-${TARGET_REGION}-${env.bucket.targets[0]!.bucket}`,
  ];
  const fired = new Set<string>();
  const cleared = new Set<string>();
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const states = await alarmStates(cw, alarms).catch(() => ({}) as Record<string, string>);
      for (const [n, s] of Object.entries(states)) {
        if (s === 'ALARM') fired.add(n);
        if (s === 'OK' && fired.has(n)) cleared.add(n);
      }
      await sleep(5_000);
    }
  })();
  env.cloud.setFaults((r) => (r.region === TARGET_REGION ? { kind: 'reset' } : undefined));
  const ends = Date.now() + outageMs;
  // Changes go on during the outage, at a steady low rate.
  const tableOps = Math.max(20, Math.floor(outageMs / 100));
  const writes = await writeWorkload(env, {
    tableOps,
    objectOps: Math.max(10, Math.floor(outageMs / 1_000)),
    tableRate: (tableOps * 1000) / outageMs,
    objectRate: Math.max(0.05, Math.floor(outageMs / 1_000) / (outageMs / 1000)),
    seed: 13,
  });
  await sleep(Math.max(0, ends - Date.now()));
  const injected = env.cloud.faultCounts();
  env.cloud.setFaults(undefined);
  const c = await waitConverged(env, 900_000);
  const dead = await deadLetters(env);
  // The backlog alarms judge 5-minute periods: they clear once a period passes without a waiting change.
  const alarmWaitUntil = Date.now() + envNumber('CHAOS_ALARM_WAIT_S', 900) * 1000;
  while (Date.now() < alarmWaitUntil && cleared.size < fired.size) await sleep(5_000);
  watching = false;
  await watch;
  return {
    scenario: name,
    injected,
    writes,
    convergedAfterMs: c.afterMs,
    deadLetters: dead,
    lost: c.lost,
    divergent: c.divergent,
    reconcileMismatched: await reconciled(env),
    backlogAlarms: Object.fromEntries(alarms.map((a) => [a, { fired: fired.has(a), cleared: cleared.has(a) }])),
    notes: [`every request to ${TARGET_REGION} reset for ${outageMs / 1000} s`],
  };
}

async function scenarioPoison(env: Env): Promise<ScenarioResult> {
  const src = localDynamo(env.cloud.endpoint, 'us-east-1');
  const s3 = localS3(env.cloud.endpoint, 'us-east-1');
  // Fits the source but not the target once rep:v and rep:o are added: a write no retry can fix.
  await src.send(
    new PutItemCommand({
      TableName: env.table.source.table,
      Item: { pk: { S: 'poison' }, sk: { S: '1' }, payload: { S: 'p'.repeat(404_942) } },
    }),
  );
  // A message that is not an envelope, straight into the pair queue.
  const queueUrl = (await env.sqs.send(new GetQueueUrlCommand({ QueueName: pairResourceNames(env.table.name).queue })))
    .QueueUrl!;
  await env.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"not":"an envelope"}' }));
  // A target whose key schema is not the source's (recreated with another key): every write to it is refused.
  const target = localDynamo(env.cloud.endpoint, TARGET_REGION);
  const targetTable = env.patient.targets[0]!.table;
  const restore = await recreateTable(target, targetTable, { id: 'S' });
  await src.send(
    new PutItemCommand({
      TableName: env.patient.source.table,
      Item: { pk: { S: 'wrong-schema' }, sk: { S: '1' }, n: { N: '1' } },
    }),
  );
  // An object deleted right after it was written: its put is stale (or applied, then deleted).
  await s3.send(new PutObjectCommand({ Bucket: env.bucket.source.bucket, Key: 'data/short-lived.bin', Body: 'x' }));
  await s3.send(new DeleteObjectCommand({ Bucket: env.bucket.source.bucket, Key: 'data/short-lived.bin' }));
  // The rest of the pair flows.
  const writes = await writeWorkload(env, { tableOps: 200, objectOps: 20, tableRate: 50, objectRate: 5, seed: 17 });
  await sleep(10_000);
  const dlq = pairResourceNames(env.table.name).deadLetterQueue;
  const dlqUrl = (await env.sqs.send(new GetQueueUrlCommand({ QueueName: dlq }))).QueueUrl!;
  const reasons: string[] = [];
  for (let i = 0; i < 5; i++) {
    const got = await env.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 0,
      }),
    );
    for (const m of got.Messages ?? []) reasons.push(m.MessageAttributes?.['rep-error']?.StringValue ?? '?');
    if (reasons.length >= 2) break;
  }
  const patientDlq = pairResourceNames(env.patient.name).deadLetterQueue;
  const patientDlqUrl = (await env.sqs.send(new GetQueueUrlCommand({ QueueName: patientDlq }))).QueueUrl!;
  for (let i = 0; i < 30 && !reasons.some((r) => r.includes(targetTable)); i++) {
    const got = await env.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: patientDlqUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 0,
        WaitTimeSeconds: 2,
      }),
    );
    for (const m of got.Messages ?? []) reasons.push(m.MessageAttributes?.['rep-error']?.StringValue ?? '?');
  }
  // The table back as the stack made it, and the item gone from the source: the pair is whole again.
  await restore();
  await src.send(
    new DeleteItemCommand({
      TableName: env.patient.source.table,
      Key: { pk: { S: 'wrong-schema' }, sk: { S: '1' } },
    }),
  );
  const after = await deadLetters(env);
  // The poison item is missing on the target by design: everything else must converge, as it would anyway.
  const c = await waitConverged(env, 300_000, [{ pk: { S: 'poison' }, sk: { S: '1' } }]);
  // Gone from the source too, so the scenarios after this one start from equal tables.
  await src.send(
    new DeleteItemCommand({ TableName: env.table.source.table, Key: { pk: { S: 'poison' }, sk: { S: '1' } } }),
  );
  await waitConverged(env, 120_000);
  return {
    scenario: 'poison',
    injected: {},
    writes,
    convergedAfterMs: c.afterMs,
    deadLetters: after,
    lost: c.lost,
    divergent: c.divergent,
    reconcileMismatched: {},
    notes: [
      `dead-letter reasons: ${[...new Set(reasons)].join(' | ')}`,
      ...(c.unequal.length > 0 ? [`still different or extra: ${c.unequal.slice(0, 10).join(', ')}`] : []),
    ],
  };
}

/**
 * Deletes `table` and creates it again with a hash key of `keys`; resolves to a function that puts it back as it
 * was (key schema, attribute definitions, billing mode).
 */
async function recreateTable(
  client: DynamoDBClient,
  table: string,
  keys: Record<string, 'S' | 'N'>,
): Promise<() => Promise<void>> {
  const was = (await client.send(new DescribeTableCommand({ TableName: table }))).Table!;
  const create = async (input: ConstructorParameters<typeof CreateTableCommand>[0]) => {
    await client.send(new DeleteTableCommand({ TableName: table }));
    await waitUntilTableNotExists({ client, maxWaitTime: 60 }, { TableName: table });
    await client.send(new CreateTableCommand(input));
    await waitUntilTableExists({ client, maxWaitTime: 60 }, { TableName: table });
  };
  await create({
    TableName: table,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: Object.keys(keys).map((name, i) => ({ AttributeName: name, KeyType: i === 0 ? 'HASH' : 'RANGE' })),
    AttributeDefinitions: Object.entries(keys).map(([name, type]) => ({ AttributeName: name, AttributeType: type })),
  });
  return () =>
    create({
      TableName: table,
      BillingMode: was.BillingModeSummary?.BillingMode ?? 'PAY_PER_REQUEST',
      KeySchema: was.KeySchema,
      AttributeDefinitions: was.AttributeDefinitions,
      ...(was.BillingModeSummary?.BillingMode === 'PROVISIONED'
        ? {
            ProvisionedThroughput: {
              ReadCapacityUnits: was.ProvisionedThroughput?.ReadCapacityUnits ?? 5,
              WriteCapacityUnits: was.ProvisionedThroughput?.WriteCapacityUnits ?? 5,
            },
          }
        : {}),
    });
}

/**
 * Hung requests: 5% of the DynamoDB requests to the target region are held for longer than the apply function's
 * timeout, for the length of the workload, on two table pairs at once. `chaos-bench` (default requestTimeout,
 * 10 s) abandons a held write after 10 s and the SDK sends it again. `chaos-bench-patient`
 * (requestTimeout 5 min) waits until the invocation's deadline, which abandons the held writes and re-sends their
 * envelopes, so no invocation is ended at its timeout; a held write may still land late (version-guarded).
 */
async function scenarioKilled(env: Env): Promise<ScenarioResult> {
  const holdMs = envNumber('CHAOS_HOLD_S', 70) * 1000;
  const rnd = prng(19);
  const before = { table: endedAtTimeout(env.table.name), patient: endedAtTimeout(env.patient.name) };
  env.cloud.setFaults((r) =>
    r.service === 'dynamodb' && r.region === TARGET_REGION && rnd() < 0.05 ? { kind: 'delay', ms: holdMs } : undefined,
  );
  const [main, patient] = await Promise.all([
    writeWorkload(env, { tableOps: 1_500, objectOps: 20, tableRate: 25, objectRate: 1, seed: 23 }),
    writeWorkload(
      { ...env, table: env.patient },
      { tableOps: 1_500, objectOps: 0, tableRate: 25, objectRate: 1, seed: 29 },
    ),
  ]);
  const writes = { table: main.table + patient.table, objects: main.objects };
  const injected = env.cloud.faultCounts();
  env.cloud.setFaults(undefined);
  const faultsEnded = Date.now();
  const c = await waitConverged(env, 1_200_000);
  // Converged may only mean later writes covered the cut-off batches: check again once any batch that was ended
  // mid-way would have come back (the queue's 360-s visibility timeout) and every held write has landed.
  await sleep(Math.max(0, faultsEnded + 360_000 + holdMs + 10_000 - Date.now()));
  const again = await waitConverged(env, 60_000);
  const ended = {
    table: endedAtTimeout(env.table.name) - before.table,
    patient: endedAtTimeout(env.patient.name) - before.patient,
  };
  return {
    scenario: 'killed',
    injected: {
      ...injected,
      'invocations ended at their timeout (requestTimeout 10 s)': ended.table,
      'invocations ended at their timeout (requestTimeout 5 min)': ended.patient,
    },
    writes,
    convergedAfterMs: c.afterMs,
    deadLetters: await deadLetters(env),
    lost: c.lost + again.lost,
    divergent: c.divergent + again.divergent,
    reconcileMismatched: await reconciled(env),
    notes: [
      `still equal once every killed batch came back and every held write landed: ${again.afterMs !== null}`,
      `5% of DynamoDB requests to ${TARGET_REGION} held ${holdMs / 1000} s (the apply timeout is 60 s)`,
    ],
  };
}

const SCENARIOS: Record<string, (env: Env) => Promise<ScenarioResult>> = {
  mixed: scenarioMixed,
  'outage-60s': (env) => scenarioOutage(env, 'outage-60s', 60_000),
  'outage-10min': (env) => scenarioOutage(env, 'outage-10min', envNumber('CHAOS_LONG_OUTAGE_S', 600) * 1000),
  poison: scenarioPoison,
  killed: scenarioKilled,
};

/** The scenarios of `bench/results/chaos.json` as last written, or none. */
function readPrevious(): (ScenarioResult & { run?: unknown })[] {
  try {
    const data = JSON.parse(readFileSync(RESULTS, 'utf8')) as { results?: (ScenarioResult & { run?: unknown })[] };
    return Array.isArray(data.results) ? data.results : [];
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  const unknown = args.filter((a) => !(a in SCENARIOS));
  if (unknown.length > 0) {
    throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  }
  const names = args.length > 0 ? args : Object.keys(SCENARIOS);
  console.log(`starting the local cloud for ${names.join(', ')} ...`);
  const cloud = await startLocalCloud({
    configPath: CONFIG,
    log: (l) => {
      // The runtime's lines come as `  λ | [<function> ← <source>] …`.
      const fn = /\[(replicator-[^\s\]]+) ←/.exec(l)?.[1];
      if (fn !== undefined && l.includes('Task timed out')) timedOut.set(fn, (timedOut.get(fn) ?? 0) + 1);
      if (process.env.CHAOS_VERBOSE) console.log(l);
    },
  });
  const env: Env = {
    cloud,
    table: cloud.config.pairs[0] as DynamoPairConfig,
    bucket: cloud.config.pairs[1] as S3PairConfig,
    patient: cloud.config.pairs[2] as DynamoPairConfig,
    sqs: new SQSClient({
      region: 'us-east-1',
      endpoint: cloud.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  };
  const results: ScenarioResult[] = [];
  try {
    for (const name of names) {
      console.log(`\n=== chaos: ${name} ===`);
      const before = cloud.faultCounts();
      const deadBefore = await deadLetters(env);
      const r = await SCENARIOS[name]!(env);
      // Fault counts and dead-letter queues are cumulative: each scenario reports its own.
      const since = (now: Record<string, number>, then: Record<string, number>) =>
        Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - (then[k] ?? 0)]));
      const result = { ...r, injected: since(r.injected, before), deadLetters: since(r.deadLetters, deadBefore) };
      results.push(result);
      console.log(JSON.stringify(result, null, 2));
    }
  } finally {
    await cloud.stop();
  }
  // Scenarios run separately accumulate: each keeps the figures of its own latest run, with that run's environment.
  const previous = readPrevious();
  const env0 = runEnvironment();
  const merged = [
    ...previous.filter((p) => !results.some((r) => r.scenario === p.scenario)),
    ...results.map((r) => ({ ...r, run: env0 })),
  ].sort((a, b) => Object.keys(SCENARIOS).indexOf(a.scenario) - Object.keys(SCENARIOS).indexOf(b.scenario));
  const path = writeResults('chaos', { results: merged });
  console.log(`\nresults written to ${path}`);
  const failed = results.filter(
    (r) =>
      r.lost > 0 ||
      r.divergent > 0 ||
      Object.values(r.reconcileMismatched).some((n) => n > 0) ||
      (r.scenario === 'poison'
        ? Object.values(r.deadLetters).reduce((a, b) => a + b, 0) !== 3 // the three poison inputs, nothing else
        : Object.values(r.deadLetters).some((n) => n > 0)) ||
      Object.values(r.backlogAlarms ?? {}).some((a) => !a.fired || !a.cleared) ||
      // The apply invocations watch their own deadline: held writes are abandoned and re-sent before Lambda's
      // timeout, whatever the pair's requestTimeout, so none may be ended at it.
      (r.scenario === 'killed' &&
        ((r.injected['invocations ended at their timeout (requestTimeout 10 s)'] ?? 0) > 0 ||
          (r.injected['invocations ended at their timeout (requestTimeout 5 min)'] ?? 0) > 0)),
  );
  if (failed.length > 0) {
    console.error(`FAILED: ${failed.map((r) => r.scenario).join(', ')}`);
    process.exitCode = 1;
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
