/**
 * The reconcile core's table reader and checkpoint store on DynamoDB: segmented Scan pages, BatchGetItem
 * lookups and consistent GetItem re-reads; the run state as JSON in the pair's state table.
 */
import {
  BatchGetItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { type AttrMap, fromSdkMap, toSdkMap } from '../shared/attributes';
import type { CheckpointStore, ReconcileCheckpoint } from './checkpoint';
import type { ScanPage, TableReader } from './core';

/** BatchGetItem left keys unprocessed round after round (retryable: the run continues next time). */
export class UnprocessedKeysError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnprocessedKeysError';
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One table read for reconciliation. Items keep their `rep:` attributes (checksums ignore them). */
export class DynamoTableReader implements TableReader {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly sleep: (ms: number) => Promise<void> = defaultSleep,
  ) {}

  async scanPage(
    segment: number,
    totalSegments: number,
    startKey: AttrMap | undefined,
    limit: number,
  ): Promise<ScanPage> {
    const res = await this.client.send(
      new ScanCommand({
        TableName: this.table,
        Segment: segment,
        TotalSegments: totalSegments,
        Limit: limit,
        ReturnConsumedCapacity: 'TOTAL',
        ...(startKey ? { ExclusiveStartKey: toSdkMap(startKey) } : {}),
      }),
    );
    const units = res.ConsumedCapacity?.CapacityUnits;
    return {
      items: (res.Items ?? []).map(fromSdkMap),
      ...(res.LastEvaluatedKey ? { lastKey: fromSdkMap(res.LastEvaluatedKey) } : {}),
      ...(units !== undefined ? { consumedUnits: units } : {}),
    };
  }

  async getMany(keys: readonly AttrMap[]): Promise<AttrMap[]> {
    const out: AttrMap[] = [];
    let pending = keys.map(toSdkMap);
    for (let round = 0; pending.length > 0; round++) {
      // Unprocessed keys mean throttling: back off before asking again.
      if (round > 0) await this.sleep(Math.min(1000, 50 * 2 ** round));
      if (round > 8) {
        throw new UnprocessedKeysError(
          `BatchGetItem on ${this.table} left ${pending.length} key(s) after ${round} rounds`,
        );
      }
      const res = await this.client.send(
        new BatchGetItemCommand({ RequestItems: { [this.table]: { Keys: pending } } }),
      );
      for (const item of res.Responses?.[this.table] ?? []) out.push(fromSdkMap(item));
      pending = (res.UnprocessedKeys?.[this.table]?.Keys ?? []) as typeof pending;
    }
    return out;
  }

  async getConsistent(key: AttrMap): Promise<AttrMap | undefined> {
    const res = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: toSdkMap(key), ConsistentRead: true }),
    );
    return res.Item ? fromSdkMap(res.Item) : undefined;
  }
}

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
