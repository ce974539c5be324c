/**
 * The reconcile run's state in the pair's state table, whatever the pair type: the checkpoint of a run in
 * progress (JSON under {@link CHECKPOINT_KEY}) and the latest finished run's report (under {@link REPORT_KEY});
 * a finished run clears its checkpoint, so the next scheduled invocation starts a new run.
 */
import { DeleteItemCommand, type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { CheckpointStore, ReconcileCheckpoint } from './checkpoint';
import type { ReportStore, RunReport } from './reconcile-run';

/** The state table key of a pair's reconcile checkpoint. */
export const CHECKPOINT_KEY = 'reconcile#checkpoint';

/** The run state as a JSON string in the pair's state table (`pk` = {@link CHECKPOINT_KEY}). */
export class DynamoCheckpointStore implements CheckpointStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly stateTable: string,
    private readonly now: () => number = Date.now,
  ) {}

  async load(): Promise<ReconcileCheckpoint | undefined> {
    const res = await this.client.send(
      new GetItemCommand({ TableName: this.stateTable, Key: { pk: { S: CHECKPOINT_KEY } }, ConsistentRead: true }),
    );
    const json = res.Item?.state?.S;
    return json === undefined ? undefined : (JSON.parse(json) as ReconcileCheckpoint);
  }

  async save(checkpoint: ReconcileCheckpoint): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.stateTable,
        Item: {
          pk: { S: CHECKPOINT_KEY },
          state: { S: JSON.stringify(checkpoint) },
          updatedAt: { N: String(this.now()) },
        },
      }),
    );
  }
}

/** The state table key of a pair's latest reconcile run report. */
export const REPORT_KEY = 'reconcile#report#latest';

/** Keeps the latest run report and clears the checkpoint of a finished run. */
export class DynamoReportStore implements ReportStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly stateTable: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Stores the report (`report`: JSON string) with the headline numbers as attributes of their own. */
  async saveLatest(report: RunReport): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.stateTable,
        Item: {
          pk: { S: REPORT_KEY },
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

  /** Deletes the run's checkpoint (the run is over; the next one starts afresh). */
  async clearCheckpoint(): Promise<void> {
    await this.client.send(new DeleteItemCommand({ TableName: this.stateTable, Key: { pk: { S: CHECKPOINT_KEY } } }));
  }
}
