import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  type AttributeValue,
  DynamoDBClient,
  GetItemCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ReconcileCheckpoint } from '../../../functions/engine/checkpoint';
import type { RunReport } from '../../../functions/engine/reconcile-run';
import { CHECKPOINT_KEY, REPORT_KEY } from '../../../functions/engine/state-table';
import { parseConfig } from '../../../lib/config';
import { buildProgram } from '../../../src/cli/main';
import { type DeployedPairStatus, type PairStatus, pairStatus } from '../../../src/cli/operations';

type Item = Record<string, AttributeValue>;

const ddb = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);
const cw = mockClient(CloudWatchClient);

const STATE = 'replicator-orders-state';
const EU = 'eu-west-1/orders';
const AP = 'ap-northeast-1/orders-replica';
const rawConfig = {
  sourceRegion: 'us-east-1',
  pairs: [
    {
      name: 'orders',
      type: 'dynamodb',
      source: { table: 'orders' },
      targets: [
        { region: 'eu-west-1', table: 'orders' },
        { region: 'ap-northeast-1', table: 'orders-replica' },
      ],
    },
  ],
};
const cfg = parseConfig(rawConfig);
const opts = { region: 'us-east-1', endpoint: 'http://localhost:5000' };

const STARTED = Date.parse('2025-03-01T10:00:00Z');
const FINISHED = Date.parse('2025-03-01T10:04:30Z');

const counts = (
  c: Partial<Record<'checked' | 'matched' | 'missing' | 'extra' | 'different' | 'repaired', number>>,
) => ({
  checked: 0,
  matched: 0,
  missing: 0,
  extra: 0,
  different: 0,
  inFlight: 0,
  repaired: 0,
  ...c,
});
const noSamples = { missing: [], extra: [], different: [] };

const report: RunReport = {
  pair: 'orders',
  complete: true,
  startedAt: STARTED,
  finishedAt: FINISHED,
  durationMs: FINISHED - STARTED,
  activeMs: 200_000,
  invocations: 1,
  targets: [
    {
      target: EU,
      ...counts({ checked: 100, matched: 97, missing: 2, different: 1, repaired: 3 }),
      consistencyRatio: 0.97,
      samples: noSamples,
    },
    { target: AP, ...counts({ checked: 100, matched: 100 }), consistencyRatio: 1, samples: noSamples },
  ],
  checked: 200,
  matched: 197,
  mismatched: 3,
  repaired: 3,
  consistencyRatio: 0.985,
};

const checkpoint: ReconcileCheckpoint = {
  v: 1,
  pair: 'orders',
  startedAt: Date.parse('2025-03-02T10:00:00Z'),
  totalSegments: 2,
  scans: {
    source: [{ done: true }, { done: false, lastKey: { pk: { S: 'k-42' } } }],
    [`target:${EU}`]: [{ done: true }, { done: true }],
    [`target:${AP}`]: [{ done: false }, { done: false }],
  },
  counts: { [EU]: counts({ checked: 40, matched: 40 }), [AP]: counts({ checked: 2, matched: 2 }) },
  samples: {},
  invocations: 3,
  activeMs: 1_800_000,
};

const reportItem = (json: string): Item => ({
  pk: { S: REPORT_KEY },
  report: { S: json },
  complete: { BOOL: true },
  updatedAt: { N: String(FINISHED) },
});
const checkpointItem = (cp: ReconcileCheckpoint): Item => ({
  pk: { S: CHECKPOINT_KEY },
  state: { S: JSON.stringify(cp) },
  updatedAt: { N: String(Date.parse('2025-03-02T10:30:00Z')) },
});

/** The state table holds these items (by pk); every other key reads as absent. */
function stateTable(items: Item[]): void {
  ddb.on(GetItemCommand).callsFake((input: { TableName: string; Key: Item }) => {
    expect(input.TableName).toBe(STATE);
    return { Item: items.find((i) => i.pk?.S === input.Key.pk?.S) };
  });
}

const deployed = (s: PairStatus | undefined): DeployedPairStatus => {
  if (!s?.deployed) throw new Error(`expected a deployed pair, got ${JSON.stringify(s)}`);
  return s;
};

beforeEach(() => {
  ddb.reset();
  sqs.reset();
  cw.reset();
  sqs.on(GetQueueUrlCommand).callsFake((input: { QueueName: string }) => ({
    QueueUrl: `http://localhost:5000/123456789012/${input.QueueName}`,
  }));
  sqs.on(GetQueueAttributesCommand).resolves({
    Attributes: {
      ApproximateNumberOfMessages: '5',
      ApproximateNumberOfMessagesNotVisible: '0',
      ApproximateNumberOfMessagesDelayed: '0',
    },
  });
  cw.on(GetMetricDataCommand).resolves({
    MetricDataResults: [
      { Id: 'items', Values: [120] },
      { Id: 'lag', Values: [850] },
    ],
  });
});

describe('pairStatus', () => {
  it('reports a pair whose reconcile never ran as null, with no run in progress', async () => {
    stateTable([]);
    const [s] = await pairStatus(cfg, opts);
    const pair = deployed(s);
    expect(pair.lastReconcile).toBeNull();
    expect(pair.reconcileInProgress).toBeNull();
    expect(pair.reconcileErrors).toEqual([]);
    expect(pair.targets.map((t) => t.lastReconcile)).toEqual([null, null]);
    expect(pair.queueDepth).toBe(5);
    expect(pair.targets[0]).toMatchObject({ target: EU, replicatedLastHour: 120, lagMs: 850, lagStatistic: 'p99' });
    // Nothing was re-sent: nothing waits for a retry.
    expect(pair.targets[0]).toMatchObject({ backlogAgeMs: null, backlogEnvelopes: 0 });
  });

  it('shows what waits for a retry on each target: the oldest change and the envelopes re-sent in 20 minutes', async () => {
    stateTable([]);
    cw.on(GetMetricDataCommand).callsFake((input: { MetricDataQueries: { Id: string }[] }) => {
      if (!input.MetricDataQueries.some((q) => q.Id === 'backlogAge')) {
        return {
          MetricDataResults: [
            { Id: 'items', Values: [120] },
            { Id: 'lag', Values: [850] },
          ],
        };
      }
      return {
        MetricDataResults: [
          { Id: 'backlogAge', Values: [240_000, 61_000] },
          { Id: 'backlogEnvelopes', Values: [12, 3] },
        ],
      };
    });
    const [s] = await pairStatus(cfg, opts);
    expect(deployed(s).targets[0]).toMatchObject({ backlogAgeMs: 240_000, backlogEnvelopes: 15 });
  });

  it('falls back to the Maximum lag, and says so, where the endpoint computes no percentiles (moto)', async () => {
    stateTable([]);
    const moto500 = Object.assign(new SyntaxError('Unexpected token \'<\', "<!doctype "... is not valid JSON'), {
      $metadata: { httpStatusCode: 500 },
    });
    cw.on(GetMetricDataCommand).callsFake((input: { MetricDataQueries: { MetricStat: { Stat: string } }[] }) => {
      if (input.MetricDataQueries.some((q) => q.MetricStat.Stat === 'p99')) throw moto500;
      return {
        MetricDataResults: [
          { Id: 'items', Values: [7] },
          { Id: 'lag', Values: [1200] },
        ],
      };
    });
    const pair = deployed((await pairStatus(cfg, opts))[0]);
    expect(pair.targets[0]).toMatchObject({ replicatedLastHour: 7, lagMs: 1200, lagStatistic: 'Maximum' });
  });

  it('does not hide other metric errors behind the fallback', async () => {
    stateTable([]);
    cw.on(GetMetricDataCommand).rejects(
      Object.assign(new Error('AccessDenied'), { $metadata: { httpStatusCode: 403 } }),
    );
    await expect(pairStatus(cfg, opts)).rejects.toThrow(/AccessDenied/);
  });

  it('reads the report and the checkpoint from the state table with consistent reads', async () => {
    stateTable([]);
    await pairStatus(cfg, opts);
    expect(ddb).toHaveReceivedCommandWith(GetItemCommand, {
      TableName: STATE,
      Key: { pk: { S: REPORT_KEY } },
      ConsistentRead: true,
    });
    expect(ddb).toHaveReceivedCommandWith(GetItemCommand, {
      TableName: STATE,
      Key: { pk: { S: CHECKPOINT_KEY } },
      ConsistentRead: true,
    });
  });

  it('summarizes the last finished run per pair and per target', async () => {
    stateTable([reportItem(JSON.stringify(report))]);
    const pair = deployed((await pairStatus(cfg, opts))[0]);
    expect(pair.lastReconcile).toEqual({
      startedAt: '2025-03-01T10:00:00.000Z',
      finishedAt: '2025-03-01T10:04:30.000Z',
      checked: 200,
      mismatched: 3,
      repaired: 3,
      consistencyRatio: 0.985,
      complete: true,
      trigger: 'schedule',
    });
    expect(pair.reconcileInProgress).toBeNull();
    expect(pair.targets.map((t) => [t.target, t.lastReconcile])).toEqual([
      [EU, { checked: 100, missing: 2, extra: 0, different: 1, lostDeletes: 0, repaired: 3, consistencyRatio: 0.97 }],
      [AP, { checked: 100, missing: 0, extra: 0, different: 0, lostDeletes: 0, repaired: 0, consistencyRatio: 1 }],
    ]);
  });

  it('gives null for a target the last run did not cover', async () => {
    stateTable([reportItem(JSON.stringify({ ...report, targets: [report.targets[0]] }))]);
    const pair = deployed((await pairStatus(cfg, opts))[0]);
    expect(pair.targets.find((t) => t.target === AP)?.lastReconcile).toBeNull();
  });

  it('reports a run in progress from its checkpoint, beside the last finished run', async () => {
    stateTable([reportItem(JSON.stringify(report)), checkpointItem(checkpoint)]);
    const pair = deployed((await pairStatus(cfg, opts))[0]);
    expect(pair.reconcileInProgress).toEqual({
      startedAt: '2025-03-02T10:00:00.000Z',
      updatedAt: '2025-03-02T10:30:00.000Z',
      invocations: 3,
      checked: 42,
      segmentsDone: 3,
      segmentsTotal: 6,
    });
    expect(pair.lastReconcile?.finishedAt).toBe('2025-03-01T10:04:30.000Z');
  });

  it('reports a run in progress when no run finished yet', async () => {
    stateTable([checkpointItem(checkpoint)]);
    const pair = deployed((await pairStatus(cfg, opts))[0]);
    expect(pair.lastReconcile).toBeNull();
    expect(pair.reconcileInProgress?.invocations).toBe(3);
  });

  it('reports a report that is not JSON as unreadable, naming the table and key', async () => {
    stateTable([reportItem('{"pair":"orders",')]);
    const pair = deployed((await pairStatus(cfg, opts))[0]);
    expect(pair.lastReconcile).toBeNull();
    expect(pair.targets.map((t) => t.lastReconcile)).toEqual([null, null]);
    expect(pair.reconcileErrors).toHaveLength(1);
    expect(pair.reconcileErrors[0]).toMatch(
      /cannot read the reconcile state in replicator-orders-state \(pk "reconcile#report#latest"\): not valid JSON/,
    );
  });

  it('reports a report of the wrong shape as unreadable, naming the fields', async () => {
    stateTable([reportItem(JSON.stringify({ pair: 'orders', checked: '200' }))]);
    const pair = deployed((await pairStatus(cfg, opts))[0]);
    expect(pair.lastReconcile).toBeNull();
    expect(pair.reconcileErrors[0]).toMatch(/reconcile#report#latest.*missing or invalid startedAt, checked/);
  });

  it('reports a corrupt checkpoint as unreadable and keeps the last finished run', async () => {
    stateTable([
      reportItem(JSON.stringify(report)),
      { pk: { S: CHECKPOINT_KEY }, state: { S: 'not json' }, updatedAt: { N: '1' } },
    ]);
    const pair = deployed((await pairStatus(cfg, opts))[0]);
    expect(pair.lastReconcile?.checked).toBe(200);
    expect(pair.reconcileInProgress).toBeNull();
    expect(pair.reconcileErrors[0]).toMatch(/replicator-orders-state \(pk "reconcile#checkpoint"\): not valid JSON/);
  });

  it('reports a corrupt backfill checkpoint as unreadable, and the rest of the status still', async () => {
    stateTable([
      reportItem(JSON.stringify(report)),
      { pk: { S: 'backfill#checkpoint' }, state: { S: '{"startedAt":1}' }, updatedAt: { N: '1' } },
    ]);
    const pair = deployed((await pairStatus(cfg, opts))[0]);
    expect(pair.lastReconcile?.checked).toBe(200);
    expect(pair.backfill).toBeNull();
    expect(pair.reconcileErrors).toEqual([
      'cannot read the reconcile state in replicator-orders-state (pk "backfill#checkpoint"): missing or invalid invocations, counts, scans',
    ]);
  });

  it('reports a pair whose state table does not exist as not deployed, without reading its queues', async () => {
    ddb
      .on(GetItemCommand)
      .rejects(new ResourceNotFoundException({ message: 'Requested resource not found', $metadata: {} }));
    const [s] = await pairStatus(cfg, opts);
    expect(s).toEqual({
      pair: 'orders',
      deployed: false,
      reason: 'state table replicator-orders-state does not exist in us-east-1 at http://localhost:5000',
      targets: [{ target: EU }, { target: AP }],
    });
    expect(sqs).not.toHaveReceivedCommand(GetQueueUrlCommand);
  });

  it('fails on any other error of the state table', async () => {
    ddb.on(GetItemCommand).rejects(new Error('AccessDeniedException: not allowed'));
    await expect(pairStatus(cfg, opts)).rejects.toThrow(/not allowed/);
  });
});

describe('replicator status', () => {
  let out: string[];
  let err: string[];
  let configPath: string;

  beforeEach(() => {
    out = [];
    err = [];
    vi.spyOn(console, 'log').mockImplementation((l: string) => void out.push(l));
    vi.spyOn(console, 'error').mockImplementation((l: string) => void err.push(l));
    configPath = join(mkdtempSync(join(tmpdir(), 'status-')), 'replication.config.json');
    writeFileSync(configPath, JSON.stringify(rawConfig));
  });
  afterEach(() => vi.restoreAllMocks());

  const run = (...args: string[]) =>
    buildProgram().parseAsync(['node', 'replicator', 'status', '--config', configPath, ...args]);

  it('shows never for a pair whose reconcile never ran', async () => {
    stateTable([]);
    await run();
    const table = out.join('\n');
    expect(table).toMatch(/last reconcile\s+consistency\s+mismatched\s+repaired/);
    expect(table).toMatch(/orders\s+eu-west-1\/orders\s+5\s+5\s+5\s+-\s+120\s+850 ms p99\s+never\s+-\s+-\s+-/);
  });

  it('shows the last run time, consistency and counts per target', async () => {
    stateTable([reportItem(JSON.stringify(report))]);
    await run();
    const table = out.join('\n');
    expect(table).toMatch(/eu-west-1\/orders\s.*2025-03-01T10:04:30Z\s+97\.00%\s+3\s+3/);
    expect(table).toMatch(/ap-northeast-1\/orders-replica\s.*2025-03-01T10:04:30Z\s+100%\s+0\s+0/);
  });

  it('marks a run in progress and describes it under the table', async () => {
    stateTable([reportItem(JSON.stringify(report)), checkpointItem(checkpoint)]);
    await run();
    const text = out.join('\n');
    expect(text).toMatch(/2025-03-01T10:04:30Z \(run in progress\)/);
    expect(text).toMatch(
      /orders: reconcile run in progress since 2025-03-02T10:00:00Z: 42 item\(s\) checked, 3\/6 scan segment\(s\) done/,
    );
  });

  it('shows a corrupt report as unreadable and names the table and key on stderr', async () => {
    stateTable([reportItem('nope')]);
    await run();
    expect(out.join('\n')).toMatch(/unreadable/);
    expect(err.join('\n')).toMatch(/replicator-orders-state \(pk "reconcile#report#latest"\): not valid JSON/);
  });

  it('keeps the last run time when only the checkpoint is corrupt', async () => {
    stateTable([reportItem(JSON.stringify(report)), { pk: { S: CHECKPOINT_KEY }, state: { S: '[' } }]);
    await run();
    expect(out.join('\n')).toMatch(/eu-west-1\/orders\s.*2025-03-01T10:04:30Z\s+97\.00%/);
    expect(err.join('\n')).toMatch(/\(pk "reconcile#checkpoint"\): not valid JSON/);
  });

  it('shows a pair that is not deployed', async () => {
    ddb.on(GetItemCommand).rejects(new ResourceNotFoundException({ message: 'not found', $metadata: {} }));
    await run();
    expect(out.join('\n')).toMatch(/orders\s+eu-west-1\/orders\s+not deployed/);
    expect(err.join('\n')).toMatch(/orders: not deployed \(state table replicator-orders-state does not exist/);
  });

  it('prints the reconcile state as JSON with --json', async () => {
    stateTable([reportItem(JSON.stringify(report))]);
    await run('--json');
    const status = JSON.parse(out.join('\n')) as DeployedPairStatus[];
    expect(status[0]?.lastReconcile?.consistencyRatio).toBe(0.985);
    expect(status[0]?.targets[0]?.lastReconcile?.missing).toBe(2);
  });
});
