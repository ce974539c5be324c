/**
 * `replicator backfill PAIR`: copies the source table's existing items through the normal apply path.
 *
 * Parallel segmented scans turn every item into a put envelope, packed and sent to the pair's queue like
 * capture does, so every convergence rule holds: an item's backfill version is one second older than the
 * moment it was read, so any change made after the read (whose stream version is at least that moment)
 * wins over the backfilled copy, and an older change loses to it. Each segment's position is checkpointed
 * in the pair's state table after every page; a run that stops resumes where it was unless --restart.
 */
import {
  DeleteItemCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { pairResourceNames } from '../../../functions/contract';
import { fromSdkMap } from '../../../functions/dynamodb/attributes';
import { keyOf } from '../../../functions/dynamodb/checksum';
import { buildRepairEnvelopes } from '../../../functions/dynamodb/repair';
import { byteLength } from '../../../functions/engine/envelope';
import { packMessages, sendMessages } from '../../../functions/engine/queue';
import type { DynamoPairConfig } from '../../../lib/config';

/** Options of {@link backfill}. */
export interface BackfillOptions {
  readonly pair: DynamoPairConfig;
  readonly sourceRegion: string;
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
  /** Parallel scan segments. @default 4 */
  readonly segments?: number;
  /** Items per Scan page. @default 500 */
  readonly pageSize?: number;
  /** Forget checkpoints of an earlier run and start over. @default false */
  readonly restart?: boolean;
  /** Called after every page with the items sent so far and the table's approximate item count. */
  readonly onProgress?: (sent: number, approxTotal: number) => void;
  /** Clock (epoch ms). @default - Date.now */
  readonly now?: () => number;
}

/** What a backfill did. */
export interface BackfillResult {
  readonly items: number;
  readonly messages: number;
  readonly requests: number;
  /** Segments an earlier run had left part-way, continued here. */
  readonly resumedSegments: number;
  /** Segments an earlier run had finished: skipped (every segment, when the backfill was already complete). */
  readonly doneSegments: number;
  /** The segments of the run. */
  readonly segments: number;
}

const checkpointKey = (segments: number, segment: number) => ({ pk: { S: `backfill#${segments}#${segment}` } });

/** Runs (or resumes) a backfill of one pair. Throws if any envelope could not be enqueued. */
export async function backfill(o: BackfillOptions): Promise<BackfillResult> {
  const now = o.now ?? Date.now;
  const segments = o.segments ?? 4;
  const names = pairResourceNames(o.pair.name);
  const stateTable = names.stateTable;
  const queueUrl = (await o.sqs.send(new GetQueueUrlCommand({ QueueName: names.queue }))).QueueUrl!;
  const described = await o.dynamo.send(new DescribeTableCommand({ TableName: o.pair.source.table }));
  const keyNames = (described.Table?.KeySchema ?? []).map((k) => k.AttributeName!);
  const approxTotal = described.Table?.ItemCount ?? 0;
  const result = { items: 0, messages: 0, requests: 0, resumedSegments: 0, doneSegments: 0, segments };

  await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      const ck = checkpointKey(segments, segment);
      if (o.restart) await o.dynamo.send(new DeleteItemCommand({ TableName: stateTable, Key: ck }));
      const saved = (await o.dynamo.send(new GetItemCommand({ TableName: stateTable, Key: ck, ConsistentRead: true })))
        .Item;
      if (saved?.done?.BOOL) {
        result.doneSegments++;
        return;
      }
      let startKey = saved?.lastKey?.S ? JSON.parse(saved.lastKey.S) : undefined;
      if (startKey) result.resumedSegments++;
      do {
        const page = await o.dynamo.send(
          new ScanCommand({
            TableName: o.pair.source.table,
            Segment: segment,
            TotalSegments: segments,
            Limit: o.pageSize ?? 500,
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        );
        // One second before the read: whatever changes after the read sorts after this copy (as repairs do).
        const items = (page.Items ?? []).map(fromSdkMap);
        const built = buildRepairEnvelopes(
          items.flatMap((item) => {
            const key = keyOf(item, keyNames);
            return key ? [{ kind: 'missing' as const, key, sourceItem: item }] : [];
          }),
          { pair: o.pair.name, origin: o.sourceRegion, keyNames, filter: o.pair.filter, readAt: now() },
        );
        const envelopes = built.map((envelope) => ({
          recordId: JSON.stringify(envelope.key),
          envelope,
          bytes: byteLength(envelope),
        }));
        const messages = packMessages(envelopes, { envelopesPerMessage: 25 });
        const sent = await sendMessages(o.sqs, queueUrl, messages);
        if (sent.failed.length > 0) {
          throw new Error(
            `backfill of ${o.pair.name}: ${sent.failed.length} item(s) not enqueued (${sent.failed[0]?.reason}); run again to resume`,
          );
        }
        result.items += envelopes.length;
        result.messages += sent.sentMessages;
        result.requests += sent.requests + 1;
        startKey = page.LastEvaluatedKey;
        await o.dynamo.send(
          new PutItemCommand({
            TableName: stateTable,
            Item: {
              ...ck,
              ...(startKey ? { lastKey: { S: JSON.stringify(startKey) } } : {}),
              done: { BOOL: startKey === undefined },
              updatedAt: { N: String(now()) },
            },
          }),
        );
        o.onProgress?.(result.items, approxTotal);
      } while (startKey);
    }),
  );
  return result;
}
