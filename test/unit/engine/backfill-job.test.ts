/** The deployed backfill job's invocations (engine/backfill-job.ts), with in-memory stores. */
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type BackfillJobMessage,
  type JobRecord,
  JobStore,
  jobCheckpointStore,
  jobLeaseUntil,
  jobMargin,
  parseJobMessage,
  runJobMessage,
} from '../../../functions/engine/backfill-job';
import { newCheckpoint } from '../../../functions/engine/checkpoint';
import { buildReport, type ReconcileResult, type RunReport } from '../../../functions/engine/reconcile-run';
import { CheckpointConflictError, type DynamoCheckpointStore } from '../../../functions/engine/state-table';

const JOB: BackfillJobMessage = { v: 1, jobId: 'j1', rate: 100, shards: 2, part: 3 };

function harness(current: JobRecord | undefined, result: ReconcileResult | Error, holder?: string) {
  const sent: string[] = [];
  const updates: [string, string, number][] = [];
  const reports: RunReport[] = [];
  const calls: string[] = [];
  const o = {
    jobs: {
      current: async () => current,
      update: async (id: string, state: JobRecord['state'], parts: number) => {
        updates.push([id, state, parts]);
      },
    },
    checkpoints: {
      holder: async () => holder,
      clear: async () => {
        calls.push('clear');
      },
      release: async () => {
        calls.push('release');
      },
    } as unknown as DynamoCheckpointStore,
    reports: {
      saveLatest: async (r: RunReport) => {
        reports.push(r);
      },
    },
    sqs: {
      send: async (c: { input: { MessageBody: string } }) => {
        calls.push('send');
        sent.push(c.input.MessageBody);
      },
    } as unknown as SQSClient,
    jobQueueUrl: 'https://q/jobs',
    remainingMs: () => 900_000,
    run: async () => {
      if (result instanceof Error) throw result;
      return result;
    },
  };
  return { o, sent, updates, reports, calls };
}

function result(complete: boolean): ReconcileResult {
  const cp = newCheckpoint('orders', ['eu'], 1, 0, 'backfill');
  if (complete) {
    cp.scans['target:eu'] = [];
    cp.scans.source = [{ done: true }];
    cp.finishedAt = 10;
  } else cp.scans.source = [{ done: false, lastKey: { pk: { S: 'x' } }, fraction: 0.5 }];
  return { complete, checkpoint: cp, report: buildReport(cp, 10), pages: 1 };
}

const running: JobRecord = { jobId: 'j1', state: 'running', requestedAt: 0, rate: 100, shards: 2 };

describe('a backfill job message', () => {
  it('sends the next message, after giving up the lease, while the run has work left', async () => {
    const h = harness(running, result(false));
    expect(await runJobMessage(JOB, h.o)).toMatchObject({ outcome: 'continued', part: 3 });
    expect(h.calls).toEqual(['release', 'send']);
    expect(JSON.parse(h.sent[0]!)).toEqual({ ...JOB, restart: false, part: 4 });
    expect(h.updates).toEqual([['j1', 'running', 4]]);
  });

  it('keeps the report (trigger job), clears the checkpoint and records the job complete at the end', async () => {
    const h = harness(running, result(true));
    expect(await runJobMessage(JOB, h.o)).toMatchObject({ outcome: 'complete', fraction: 1 });
    expect(h.reports[0]?.trigger).toBe('job');
    expect(h.calls).toEqual(['clear']);
    expect(h.sent).toEqual([]);
    expect(h.updates).toEqual([['j1', 'complete', 4]]);
  });

  it('is dropped when its job is not the current one, or was stopped', async () => {
    for (const current of [undefined, { ...running, jobId: 'j2' }, { ...running, state: 'stopped' as const }]) {
      const h = harness(current, result(false));
      expect(await runJobMessage(JOB, h.o)).toMatchObject({ outcome: 'dropped' });
      expect(h.sent).toEqual([]);
    }
  });

  it('is dropped as a duplicate when another invocation of its job holds the checkpoint', async () => {
    const conflict = new CheckpointConflictError('held');
    expect(await runJobMessage(JOB, harness(running, conflict, 'job:j1:other-invocation').o)).toMatchObject({
      outcome: 'dropped',
    });
    // A terminal's run holds it: fail, so SQS delivers the message again later.
    await expect(runJobMessage(JOB, harness(running, conflict, 'cli-owner').o)).rejects.toThrow(conflict);
  });

  it('clears the checkpoint first only for the first message of a restart', async () => {
    const h = harness(running, result(false));
    await runJobMessage({ ...JOB, part: 0, restart: true }, h.o);
    expect(h.calls[0]).toBe('clear');
  });
});

describe('parseJobMessage and the margin', () => {
  it('names what is wrong, quoting nothing of the body', () => {
    expect(() => parseJobMessage('secret not json')).toThrow('job message is not JSON (15 bytes)');
    expect(() => parseJobMessage(JSON.stringify({ v: 1, jobId: '', rate: 0, shards: 1.5, part: -1 }))).toThrow(
      'job message has missing or invalid jobId, rate, shards, part',
    );
    expect(parseJobMessage(JSON.stringify(JOB))).toEqual(JOB);
  });

  it('keeps 20 s back, or a third of a short invocation', () => {
    expect(jobMargin(900_000)).toBe(20_000);
    expect(jobMargin(30_000)).toBe(10_000);
  });

  it("ends an invocation's lease before SQS delivers its message again, for every timeout the config allows", () => {
    // backfill.timeoutSeconds is 10-900; the job queue's visibility timeout is six times it, from the receipt.
    for (let timeoutS = 10; timeoutS <= 900; timeoutS++) {
      const receivedAt = 1_000_000;
      // The invocation starts at the receipt (its whole time left) or later (less left, but no later deadline).
      for (const startedAfterMs of [0, 500, timeoutS * 500]) {
        const leaseEnd = jobLeaseUntil(receivedAt + startedAfterMs, timeoutS * 1000 - startedAfterMs);
        expect(leaseEnd - receivedAt, `timeout ${timeoutS} s`).toBeLessThan(6 * timeoutS * 1000);
        // and outlasts the invocation, so a duplicate delivery meanwhile is dropped
        expect(leaseEnd).toBeGreaterThan(receivedAt + timeoutS * 1000);
      }
    }
  });

  it('writes that fixed lease end with every save, however late in the invocation', async () => {
    const ddb = mockClient(DynamoDBClient);
    ddb.on(PutItemCommand).resolves({});
    const store = jobCheckpointStore(new DynamoDBClient({}), 't', 'j1', 123_456);
    await store.save(newCheckpoint('orders', ['eu'], 1, 0, 'backfill'));
    await store.save(newCheckpoint('orders', ['eu'], 1, 0, 'backfill'));
    expect(ddb.commandCalls(PutItemCommand).map((c) => c.args[0].input.Item?.leaseUntil)).toEqual([
      { N: '123456' },
      { N: '123456' },
    ]);
    ddb.restore();
  });
});

describe('JobStore', () => {
  const ddb = mockClient(DynamoDBClient);
  beforeEach(() => ddb.reset());
  const stored = (job: JobRecord) => ({ Item: { job: { S: JSON.stringify(job) }, jobId: { S: job.jobId } } });

  it("records a job's progress only over its own record: a job started meanwhile is not overwritten", async () => {
    ddb.on(GetItemCommand).resolves(stored(running));
    ddb
      .on(PutItemCommand)
      .rejects(Object.assign(new Error('conditional'), { name: 'ConditionalCheckFailedException' }));
    const jobs = new JobStore(new DynamoDBClient({}), 'state', () => 5);
    await expect(jobs.update('j1', 'running', 2)).resolves.toBeUndefined();
    expect(ddb).toHaveReceivedCommandWith(PutItemCommand, {
      ConditionExpression: '#id = :id',
      ExpressionAttributeValues: { ':id': { S: 'j1' } },
    });
    // Stopping a job that another replaced meanwhile stops nothing.
    expect(await jobs.stop()).toBeUndefined();
  });

  it('starts a job over whatever record is there', async () => {
    ddb.on(PutItemCommand).resolves({});
    await new JobStore(new DynamoDBClient({}), 'state', () => 5).start({
      jobId: 'j2',
      requestedAt: 1,
      rate: 9,
      shards: 1,
    });
    const put = ddb.commandCalls(PutItemCommand)[0]!.args[0].input;
    expect(put.ConditionExpression).toBeUndefined();
    expect(put.Item?.jobId).toEqual({ S: 'j2' });
  });
});
