/**
 * The table reader of DynamoDB pairs' reconcile: segmented Scan pages, BatchGetItem lookups and consistent
 * GetItem re-reads.
 */
import {
  BatchGetItemCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { realSleep } from '../engine/concurrency';
import { type AttrMap, fromSdkMap, toSdkMap } from './attributes';
import type { ScanPage, TableReader } from './reconcile';

/** BatchGetItem left keys unprocessed round after round (retryable: the run continues next time). */
export class UnprocessedKeysError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnprocessedKeysError';
  }
}

/** One table read for reconciliation. Items keep their `rep:` attributes (checksums ignore them). */
export class DynamoTableReader implements TableReader {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly sleep: (ms: number) => Promise<void> = realSleep,
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

  async approximateCount(): Promise<number | undefined> {
    return (await this.client.send(new DescribeTableCommand({ TableName: this.table }))).Table?.ItemCount;
  }
}
