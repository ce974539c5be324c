/**
 * The deployed backfill job, whatever the pair type: `replicator backfill PAIR --deployed` records a job in
 * the pair's state table (`backfill#job`) and sends its first message to the pair's backfill queue; the
 * backfill function (one per pair, on that queue, batch size 1) runs the engine's backfill run until its time
 * is nearly up, then sends the job's next message and returns. So the job goes on invocation after invocation
 * with no laptop, and:
 * - each invocation holds the checkpoint's lease (owner `job:<id>:<invocation>`) until its deadline plus a
 *   margin ({@link jobLeaseUntil}), and gives it up before it sends the next message;
 * - a function timeout (or a crash) leaves the message undeleted: SQS delivers it again after the queue's
 *   visibility timeout (six times the function's), by when the dead invocation's lease has run out, and that
 *   invocation continues from the checkpoint (a page at most is redone);
 * - a message of a job that is no longer the pair's current one (restarted, or stopped) is dropped, and so is
 *   a duplicate of a message whose invocation still holds the lease;
 * - another holder of the checkpoint (a `replicator backfill` run in a terminal) makes the invocation fail,
 *   so SQS retries it later; after the queue's receive limit the message goes to the backfill DLQ (alarmed).
 */

import { randomUUID } from 'node:crypto';
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { enqueuedOf, progressOf, type ReconcileCheckpoint, sourceReadOf } from './checkpoint';
import { nameOf } from './errors';
import { logger } from './logger';
import type { ReconcileResult, ReportStore, RunReport } from './reconcile-run';
import { BACKFILL_CHECKPOINT_KEY, CheckpointConflictError, DynamoCheckpointStore } from './state-table';

/** The state table key of a pair's current deployed backfill job. */
export const BACKFILL_JOB_KEY = 'backfill#job';

/** One message of a job: what to run. */
export interface BackfillJobMessage {
  readonly v: 1;
  readonly jobId: string;
  /** Target ids to fill. @default - every target */
  readonly targets?: readonly string[];
  /** Source items (objects) per second at most. */
  readonly rate: number;
  /** Scan segments or key ranges. */
  readonly shards: number;
  /** Forget the pair's unfinished backfill first (the job's first message only). */
  readonly restart?: boolean;
  /** 0 for the first message, then one more per invocation. */
  readonly part: number;
}

/** A job message that cannot be run. */
export class BackfillJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackfillJobError';
  }
}

/** Parses and checks a job message (no content is quoted in the error). */
export function parseJobMessage(body: string): BackfillJobMessage {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(body) as Record<string, unknown>;
  } catch {
    throw new BackfillJobError(`job message is not JSON (${body.length} bytes)`);
  }
  const wrong: string[] = [];
  if (v.v !== 1) wrong.push('v');
  if (typeof v.jobId !== 'string' || v.jobId === '') wrong.push('jobId');
  if (typeof v.rate !== 'number' || !(v.rate > 0)) wrong.push('rate');
  if (!Number.isInteger(v.shards) || (v.shards as number) < 1) wrong.push('shards');
  if (!Number.isInteger(v.part) || (v.part as number) < 0) wrong.push('part');
  if (v.targets !== undefined && !(Array.isArray(v.targets) && v.targets.every((t) => typeof t === 'string'))) {
    wrong.push('targets');
  }
  if (wrong.length > 0) throw new BackfillJobError(`job message has missing or invalid ${wrong.join(', ')}`);
  return v as unknown as BackfillJobMessage;
}

/** What the state table says of the pair's current job. */
export interface JobRecord {
  readonly jobId: string;
  /** `running` until the job finishes (`complete`) or is stopped (`stopped`). */
  readonly state: 'running' | 'complete' | 'stopped';
  readonly requestedAt: number;
  readonly targets?: readonly string[];
  readonly rate: number;
  readonly shards: number;
  /** Invocations that worked on the job. */
  readonly parts?: number;
  readonly updatedAt?: number;
}

/** The pair's job record in its state table. */
export class JobStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly stateTable: string,
    private readonly now: () => number = Date.now,
  ) {}

  async current(): Promise<JobRecord | undefined> {
    const res = await this.client.send(
      new GetItemCommand({ TableName: this.stateTable, Key: { pk: { S: BACKFILL_JOB_KEY } }, ConsistentRead: true }),
    );
    const json = res.Item?.job?.S;
    return json === undefined ? undefined : (JSON.parse(json) as JobRecord);
  }

  /** Makes `job` the pair's current job (a job before it, if any, stops at its next message). */
  async start(job: Omit<JobRecord, 'state'>): Promise<void> {
    await this.put({ ...job, state: 'running', updatedAt: this.now() });
  }

  /**
   * Records the job's state, if it is still the current one: the write is conditional on the record's job id,
   * so a job started (or stopped) meanwhile is never overwritten by an older job's invocation.
   */
  async update(jobId: string, state: JobRecord['state'], parts: number): Promise<void> {
    const job = await this.current();
    if (job?.jobId !== jobId) return;
    await this.put({ ...job, state, parts, updatedAt: this.now() }, jobId);
  }

  /** Stops the current job: its next message is dropped. */
  async stop(): Promise<JobRecord | undefined> {
    const job = await this.current();
    if (job?.state !== 'running') return undefined;
    return (await this.put({ ...job, state: 'stopped', updatedAt: this.now() }, job.jobId)) ? job : undefined;
  }

  /** Writes the record (only over the job `onlyOver`, when given); false when another job's record is there. */
  private async put(job: JobRecord, onlyOver?: string): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.stateTable,
          Item: {
            pk: { S: BACKFILL_JOB_KEY },
            job: { S: JSON.stringify(job) },
            jobId: { S: job.jobId },
            updatedAt: { N: String(this.now()) },
          },
          ...(onlyOver !== undefined
            ? {
                ConditionExpression: '#id = :id',
                ExpressionAttributeNames: { '#id': 'jobId' },
                ExpressionAttributeValues: { ':id': { S: onlyOver } },
              }
            : {}),
        }),
      );
      return true;
    } catch (err) {
      if (onlyOver !== undefined && nameOf(err) === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }
}

/** The owner prefix of a job's invocations on the checkpoint. */
export const jobOwnerPrefix = (jobId: string) => `job:${jobId}:`;

/**
 * When an invocation's lease on the checkpoint ends: its deadline plus a margin of twice its time, a minute at
 * most. A fixed end, not a span past each save: SQS delivers a timed-out invocation's message again after the
 * queue's visibility timeout, six times the function's, counted from the receipt, and the lease must be gone by
 * then or the new delivery takes itself for a duplicate and drops the job's only message. A minute past each
 * save (as it was) ended up to two function times and a minute after the receipt: later than the redelivery for
 * a function timeout below 15 s, which the config allows from 10 s.
 */
export function jobLeaseUntil(now: number, remainingMs: number): number {
  return now + remainingMs + Math.min(60_000, 2 * remainingMs);
}

/** The checkpoint store of one invocation of a job: the backfill's key, leased until `leaseUntil` (epoch ms). */
export function jobCheckpointStore(
  client: DynamoDBClient,
  stateTable: string,
  jobId: string,
  leaseUntil: number,
): DynamoCheckpointStore {
  return new DynamoCheckpointStore(client, stateTable, Date.now, {
    key: BACKFILL_CHECKPOINT_KEY,
    owner: `${jobOwnerPrefix(jobId)}${randomUUID()}`,
    leaseUntil,
  });
}

/** What one invocation of a job did. */
export interface JobInvocationSummary {
  readonly jobId: string;
  readonly part: number;
  /** `continued`: the next message is sent; `complete`; `dropped`: not the current job. */
  readonly outcome: 'continued' | 'complete' | 'dropped';
  readonly fraction?: number;
}

/** Time kept back from an invocation: 20 s, or a third of a short function's time. */
export function jobMargin(remainingMs: number): number {
  return Math.min(20_000, Math.floor(remainingMs / 3));
}

/** Runs one message of a job: its share of the backfill, then the next message or the end. */
export async function runJobMessage(
  job: BackfillJobMessage,
  o: {
    readonly jobs: Pick<JobStore, 'current' | 'update'>;
    readonly checkpoints: DynamoCheckpointStore;
    readonly reports: ReportStore;
    readonly sqs: SQSClient;
    readonly jobQueueUrl: string;
    readonly remainingMs: () => number;
    /** The run of this job (the pair type's backfill run with the job's targets, rate and shards). */
    readonly run: (deadlineMs: number) => Promise<ReconcileResult>;
  },
): Promise<JobInvocationSummary> {
  const current = await o.jobs.current();
  if (current?.jobId !== job.jobId || current.state !== 'running') {
    logger.info('backfill job message dropped: not the current job', {
      jobId: job.jobId,
      current: current?.jobId ?? null,
      state: current?.state ?? null,
    });
    return { jobId: job.jobId, part: job.part, outcome: 'dropped' };
  }
  const remaining = o.remainingMs();
  let result: ReconcileResult;
  try {
    if (job.restart && job.part === 0) await o.checkpoints.clear();
    result = await o.run(Date.now() + remaining - jobMargin(remaining));
  } catch (err) {
    if (!(err instanceof CheckpointConflictError)) throw err;
    const holder = await o.checkpoints.holder();
    if (holder?.startsWith(jobOwnerPrefix(job.jobId))) {
      // A duplicate delivery: the invocation that holds the lease goes on with the job.
      logger.info('backfill job message dropped: another invocation of the job holds the checkpoint', {
        jobId: job.jobId,
        part: job.part,
      });
      return { jobId: job.jobId, part: job.part, outcome: 'dropped' };
    }
    // A terminal's run (or another job) holds it: fail, so SQS delivers the message again later.
    throw err;
  }
  const fraction = progressOf(result.checkpoint);
  if (result.complete) {
    const report: RunReport = { ...result.report, trigger: 'job' };
    await o.reports.saveLatest(report);
    await o.checkpoints.clear();
    await o.jobs.update(job.jobId, 'complete', job.part + 1);
    logger.info('backfill job complete', { jobId: job.jobId, parts: job.part + 1, ...counts(result.checkpoint) });
    return { jobId: job.jobId, part: job.part, outcome: 'complete', fraction: 1 };
  }
  const next: BackfillJobMessage = { ...job, restart: false, part: job.part + 1 };
  // The next invocation holds the checkpoint under an owner of its own: give it up first.
  await o.checkpoints.release();
  await o.sqs.send(new SendMessageCommand({ QueueUrl: o.jobQueueUrl, MessageBody: JSON.stringify(next) }));
  await o.jobs.update(job.jobId, 'running', job.part + 1);
  logger.info('backfill job continues in its next message', {
    jobId: job.jobId,
    part: job.part,
    fraction,
    ...counts(result.checkpoint),
  });
  return { jobId: job.jobId, part: job.part, outcome: 'continued', fraction };
}

function counts(cp: ReconcileCheckpoint): { read: number; enqueued: number } {
  return { read: sourceReadOf(cp.counts), enqueued: enqueuedOf(cp.counts) };
}
