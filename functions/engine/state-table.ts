/**
 * The reconcile run's state in the pair's state table, whatever the pair type: the checkpoint of a run in
 * progress (JSON under {@link CHECKPOINT_KEY}) and the latest finished run's report (under {@link REPORT_KEY});
 * a finished run clears its checkpoint, so the next scheduled invocation starts a new run.
 */

import { randomUUID } from 'node:crypto';
import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { CheckpointStore, ReconcileCheckpoint } from './checkpoint';
import { nameOf } from './errors';
import type { ReportStore, RunReport } from './reconcile-run';

/** The state table key of a pair's reconcile checkpoint. */
export const CHECKPOINT_KEY = 'reconcile#checkpoint';

/**
 * The state table key of a pair's backfill checkpoint: a backfill is a run of its own (mode `backfill`),
 * beside the scheduled reconcile's, so neither stops or restarts the other.
 */
export const BACKFILL_CHECKPOINT_KEY = 'backfill#checkpoint';

/** How long a reconcile invocation holds the checkpoint after its last save: the function's 15 minutes, and one more. */
export const CHECKPOINT_LEASE_MS = 16 * 60_000;

/** Another reconcile run of the pair holds the checkpoint: this one stops rather than interleave with it. */
export class CheckpointConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointConflictError';
  }
}

/**
 * The run state as a JSON string in the pair's state table (`pk` = {@link CHECKPOINT_KEY}). Every save is
 * conditional: it takes the checkpoint only if no other holder's lease is still running, and extends this
 * holder's lease, so two invocations (a slow run and the next schedule, say) never write one run's state in
 * turns; the one that loses stops with a {@link CheckpointConflictError}.
 */
export class DynamoCheckpointStore implements CheckpointStore {
  /** This holder's id (one per store: a function container runs one invocation at a time). */
  readonly owner: string;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly stateTable: string,
    private readonly now: () => number = Date.now,
    opts: {
      readonly owner?: string;
      readonly leaseMs?: number;
      /** A fixed end of the lease (epoch ms) instead of `leaseMs` past each save. */
      readonly leaseUntil?: number;
      readonly key?: string;
    } = {},
  ) {
    this.owner = opts.owner ?? randomUUID();
    this.leaseMs = opts.leaseMs ?? CHECKPOINT_LEASE_MS;
    this.leaseUntil = opts.leaseUntil;
    this.key = opts.key ?? CHECKPOINT_KEY;
  }

  private readonly leaseMs: number;
  private readonly leaseUntil: number | undefined;
  /** The checkpoint's `pk`: {@link CHECKPOINT_KEY} or {@link BACKFILL_CHECKPOINT_KEY}. */
  readonly key: string;

  /** The condition of a write that takes or keeps the checkpoint. */
  private held(now: number) {
    return {
      ConditionExpression: 'attribute_not_exists(#owner) OR #owner = :me OR #lease < :now',
      ExpressionAttributeNames: { '#owner': 'owner', '#lease': 'leaseUntil' },
      ExpressionAttributeValues: { ':me': { S: this.owner }, ':now': { N: String(now) } },
    };
  }

  private conflict(err: unknown): never {
    if (nameOf(err) === 'ConditionalCheckFailedException') {
      throw new CheckpointConflictError(
        `another run of this pair holds the checkpoint "${this.key}" in ${this.stateTable} (a holder's lease runs up to ${Math.ceil(CHECKPOINT_LEASE_MS / 60_000)} minutes past its last save); this one stops`,
      );
    }
    throw err;
  }

  async load(): Promise<ReconcileCheckpoint | undefined> {
    const res = await this.client.send(
      new GetItemCommand({ TableName: this.stateTable, Key: { pk: { S: this.key } }, ConsistentRead: true }),
    );
    const json = res.Item?.state?.S;
    return json === undefined ? undefined : (JSON.parse(json) as ReconcileCheckpoint);
  }

  async save(checkpoint: ReconcileCheckpoint): Promise<void> {
    const now = this.now();
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.stateTable,
          Item: {
            pk: { S: this.key },
            state: { S: JSON.stringify(checkpoint) },
            updatedAt: { N: String(now) },
            owner: { S: this.owner },
            leaseUntil: { N: String(this.leaseUntil ?? now + this.leaseMs) },
          },
          ...this.held(now),
        }),
      );
    } catch (err) {
      this.conflict(err);
    }
  }

  /** Deletes the run's checkpoint (the run is over; the next one starts afresh), if this holder still has it. */
  async clear(): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.stateTable,
          Key: { pk: { S: this.key } },
          ...this.held(this.now()),
        }),
      );
    } catch (err) {
      this.conflict(err);
    }
  }

  /** Who holds the checkpoint now (its `owner`), if anyone: what a holder that lost a save asks. */
  async holder(): Promise<string | undefined> {
    const res = await this.client.send(
      new GetItemCommand({ TableName: this.stateTable, Key: { pk: { S: this.key } }, ConsistentRead: true }),
    );
    return res.Item?.owner?.S;
  }

  /**
   * Gives the checkpoint up (its lease ends now) so another holder can continue at once: what a run that
   * stops on purpose (Ctrl-C, the end of an invocation) does. A holder that crashed keeps it until its lease
   * runs out.
   */
  async release(): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.stateTable,
          Key: { pk: { S: this.key } },
          UpdateExpression: 'SET #lease = :zero',
          ConditionExpression: '#owner = :me',
          ExpressionAttributeNames: { '#owner': 'owner', '#lease': 'leaseUntil' },
          ExpressionAttributeValues: { ':me': { S: this.owner }, ':zero': { N: '0' } },
        }),
      );
    } catch (err) {
      // Not ours (any more), or gone: nothing to give up.
      if (nameOf(err) !== 'ConditionalCheckFailedException') throw err;
    }
  }
}

/** The state table key of a pair's latest reconcile run report. */
export const REPORT_KEY = 'reconcile#report#latest';

/** The state table key of a pair's latest backfill report. */
export const BACKFILL_REPORT_KEY = 'backfill#report#latest';

/** Keeps the latest run report. */
export class DynamoReportStore implements ReportStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly stateTable: string,
    private readonly now: () => number = Date.now,
    /** {@link REPORT_KEY} or {@link BACKFILL_REPORT_KEY}. */
    readonly key: string = REPORT_KEY,
  ) {}

  /** The latest report stored, if any. */
  async latest(): Promise<RunReport | undefined> {
    const res = await this.client.send(
      new GetItemCommand({ TableName: this.stateTable, Key: { pk: { S: this.key } }, ConsistentRead: true }),
    );
    const json = res.Item?.report?.S;
    return json === undefined ? undefined : (JSON.parse(json) as RunReport);
  }

  /** Stores the report (`report`: JSON string) with the headline numbers as attributes of their own. */
  async saveLatest(report: RunReport): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.stateTable,
        Item: {
          pk: { S: this.key },
          report: { S: JSON.stringify(report) },
          complete: { BOOL: report.complete },
          checked: { N: String(report.checked) },
          mismatched: { N: String(report.mismatched) },
          repaired: { N: String(report.repaired) },
          consistencyRatio: { N: String(report.consistencyRatio) },
          updatedAt: { N: String(this.now()) },
        },
      }),
    );
  }
}
