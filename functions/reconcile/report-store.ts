/**
 * Where a finished reconcile run leaves its traces in the pair's state table: the latest run report (as
 * JSON under {@link REPORT_KEY}), and no checkpoint, so the next scheduled invocation starts a new run.
 */
import { DeleteItemCommand, type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { RunReport } from './core';
import { CHECKPOINT_KEY } from './dynamo-reader';

/** The state table key of a pair's latest reconcile run report. */
export const REPORT_KEY = 'reconcile#report#latest';

/** Keeps the latest run report and clears the checkpoint of a finished run. */
export class DynamoReportStore {
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
