/**
 * Event source pollers: what the Lambda service does for an event source mapping, done locally against
 * the local cloud — read a DynamoDB stream or an SQS queue, build the event exactly as Lambda does, invoke
 * the function, and act on its (partial batch) response.
 */
import { randomUUID } from 'node:crypto';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  type _Record as DynamoDbStreamRecord,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type AttributeValue as StreamAttributeValue,
} from '@aws-sdk/client-dynamodb-streams';
import {
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { FunctionInfo, MappingInfo } from './discovery';
import { passesFilters, sqsFilterView } from './event-filter';
import type { InvocationOutcome } from './function-pool';
import type { HopRecorder } from './hops';

/** What a poller needs from the runtime. */
export interface PollerDeps {
  readonly mapping: MappingInfo;
  readonly fn: FunctionInfo;
  /** Invokes the mapped function. */
  readonly invoke: (event: unknown) => Promise<InvocationOutcome>;
  /** An SQS client for a region (on-failure destinations, queue sources). */
  readonly sqs: (region: string) => SQSClient;
  readonly log: (line: string) => void;
  /** Where records wait, hop by hop (see hops.ts). @default - not recorded */
  readonly hops?: HopRecorder;
}

/**
 * Where a stream mapping stands: per shard, the sequence number of the last record it is done with (delivered,
 * filtered out or sent to the on-failure destination). Lambda keeps this with the mapping across updates of
 * the function; a runtime that takes over from another starts from it (see {@link DynamoDbStreamPoller}).
 */
export type StreamPosition = Readonly<Record<string, string>>;

/** A running poller. */
export interface Poller {
  start(): void;
  /** Stops polling and resolves once the current batch is done (or `graceMs` passed). */
  stop(graceMs?: number): Promise<void>;
}

/** Lambda's DynamoDB stream record as the function receives it (JSON shapes, epoch-second dates). */
export interface LambdaDynamoDbRecord {
  eventID?: string;
  eventName?: string;
  eventVersion?: string;
  eventSource: 'aws:dynamodb';
  awsRegion: string;
  dynamodb: Record<string, unknown> & { SequenceNumber?: string; ApproximateCreationDateTime?: number };
  eventSourceARN: string;
  userIdentity?: { type?: string; principalId?: string };
}

const IDLE_POLL_MS = 250;
const MAX_BACKOFF_MS = 5_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Backoff after the n-th consecutive error: 250 ms doubling to 5 s. */
function backoff(n: number): number {
  return Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.max(0, n - 1));
}

/** Converts a DynamoDB Streams attribute value from the SDK (binary as bytes) to Lambda's JSON (base64). */
export function toLambdaAttributeValue(value: StreamAttributeValue): unknown {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaAttributeValue) };
  return value;
}

function toLambdaImage(image: Record<string, StreamAttributeValue> | undefined): Record<string, unknown> | undefined {
  if (image === undefined) return undefined;
  return Object.fromEntries(Object.entries(image).map(([k, v]) => [k, toLambdaAttributeValue(v)]));
}

/** Builds one record of a DynamoDBStreamEvent from a GetRecords record, as Lambda does. */
export function toLambdaDynamoDbRecord(
  record: DynamoDbStreamRecord,
  region: string,
  streamArn: string,
): LambdaDynamoDbRecord {
  const d = record.dynamodb ?? {};
  const created = d.ApproximateCreationDateTime;
  const dynamodb: LambdaDynamoDbRecord['dynamodb'] = {
    // Lambda passes the stream's epoch seconds, rounded down; the SDK parsed them into a Date.
    ...(created !== undefined ? { ApproximateCreationDateTime: Math.floor(created.getTime() / 1000) } : {}),
    Keys: toLambdaImage(d.Keys),
    ...(d.NewImage !== undefined ? { NewImage: toLambdaImage(d.NewImage) } : {}),
    ...(d.OldImage !== undefined ? { OldImage: toLambdaImage(d.OldImage) } : {}),
    SequenceNumber: d.SequenceNumber,
    SizeBytes: d.SizeBytes,
    StreamViewType: d.StreamViewType,
  };
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion,
    eventSource: 'aws:dynamodb',
    // moto always says us-east-1 here; Lambda says the stream's region.
    awsRegion: region,
    dynamodb,
    eventSourceARN: streamArn,
    ...(record.userIdentity !== undefined
      ? { userIdentity: { type: record.userIdentity.Type, principalId: record.userIdentity.PrincipalId } }
      : {}),
  };
}

/**
 * Index of the first failed record of a batch after an invocation, or -1 when the batch succeeded.
 * A thrown error, or a partial batch response naming an empty/unknown identifier, fails the whole
 * batch (index 0), as in Lambda; otherwise the lowest failed position counts.
 */
export function firstFailedIndex(
  outcome: InvocationOutcome,
  identifiers: readonly string[],
  reportBatchItemFailures: boolean,
): number {
  if (!outcome.ok) return 0;
  if (!reportBatchItemFailures) return -1;
  const failures = (outcome.result as { batchItemFailures?: unknown } | null)?.batchItemFailures;
  if (failures === undefined || failures === null) return -1;
  if (!Array.isArray(failures)) return 0;
  let first = -1;
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const index = typeof id === 'string' && id !== '' ? identifiers.indexOf(id) : -1;
    if (index < 0) return 0;
    if (first < 0 || index < first) first = index;
  }
  return first;
}

/** The local cloud has no queue for an ARN. */
export class QueueNotFoundError extends Error {
  constructor(arn: string) {
    super(`no queue URL for ${arn}`);
    this.name = 'QueueNotFoundError';
  }
}

/** Queue URL of an SQS ARN, asked from the local cloud. */
export async function queueUrlOf(sqs: (region: string) => SQSClient, arn: string): Promise<string> {
  const [, , , region, account, name] = arn.split(':');
  const out = await sqs(region ?? 'us-east-1').send(
    new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }),
  );
  if (out.QueueUrl === undefined) throw new QueueNotFoundError(arn);
  return out.QueueUrl;
}

function isoSeconds(date: Date | undefined): string | undefined {
  return date?.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

interface ShardState {
  readonly shardId: string;
  readonly parentShardId: string | undefined;
  iterator: string | undefined;
  /** Read but not yet done with, in sequence order. */
  buffer: DynamoDbStreamRecord[];
  /** When the oldest buffered record was read (for the batching window). */
  bufferedSince: number | undefined;
  /** The shard has no more records (NextShardIterator was null). */
  closed: boolean;
  lastReadSequence: string | undefined;
  /** The last record done with: delivered (or filtered out, or sent to the destination). */
  doneSequence: string | undefined;
  /** Where the first iterator starts: the mapping's position for shards there at start, else TRIM_HORIZON. */
  readonly startAt: 'TRIM_HORIZON' | 'LATEST';
}

/** Counters of a stream mapping. */
export interface StreamPollerStats {
  batches: number;
  recordsDelivered: number;
  recordsToDestination: number;
  retries: number;
}

/**
 * Polls a DynamoDB stream for one mapping: per shard in order (a child shard after its parent), batch
 * size and batching window, filters, partial batch responses, bisect on error, retry and record age
 * limits, and on-failure destinations (SQS).
 *
 * Bisect splits do not count as retries: a batch is halved until the failing record is alone, which is
 * then retried MaximumRetryAttempts times before it goes to the destination, so the records around it
 * still flow.
 */
export class DynamoDbStreamPoller implements Poller {
  /** Counters since start. */
  readonly stats: StreamPollerStats = { batches: 0, recordsDelivered: 0, recordsToDestination: 0, retries: 0 };
  private readonly shards = new Map<string, ShardState>();
  private stopping = false;
  private loop: Promise<void> | undefined;
  private lastShardRefresh = 0;
  private destinationUrl: string | undefined;
  /** When the poller first read each buffered record (for the hop breakdown). */
  private readonly readAt = new WeakMap<DynamoDbStreamRecord, number>();

  /**
   * @param resumeAfter where an earlier poller of the same mapping stopped ({@link position}): its shards are
   *   read after the records it was done with, as Lambda's mapping goes on from its checkpoint; other shards
   *   start where the mapping's starting position says.
   */
  constructor(
    private readonly deps: PollerDeps,
    private readonly streams: DynamoDBStreamsClient,
    private readonly resumeAfter: StreamPosition = {},
  ) {}

  /** Where this mapping stands, for a poller that takes over from this one once it has stopped. */
  position(): StreamPosition {
    const out: Record<string, string> = { ...this.resumeAfter };
    for (const shard of this.shards.values())
      if (shard.doneSequence !== undefined) out[shard.shardId] = shard.doneSequence;
    return out;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    if (this.loop !== undefined) await Promise.race([this.loop, sleep(graceMs)]);
  }

  private get label(): string {
    return `[${this.deps.fn.functionName} ← ${this.deps.mapping.eventSourceArn.split('/').slice(-3)[0]} stream]`;
  }

  private async run(): Promise<void> {
    let errors = 0;
    while (!this.stopping) {
      try {
        if (Date.now() - this.lastShardRefresh > 10_000) await this.refreshShards();
        let worked = false;
        for (const shard of this.shards.values()) {
          if (this.stopping) break;
          if (!this.readyToRead(shard)) continue;
          worked = (await this.step(shard)) || worked;
        }
        errors = 0;
        if (!worked) await sleep(IDLE_POLL_MS);
      } catch (err) {
        errors += 1;
        this.deps.log(`${this.label} poll error (retrying in ${backoff(errors)} ms): ${(err as Error).message}`);
        await sleep(backoff(errors));
      }
    }
  }

  /** A child shard waits until its parent is read to the end. */
  private readyToRead(shard: ShardState): boolean {
    if (shard.closed && shard.buffer.length === 0) return false;
    const parent = shard.parentShardId === undefined ? undefined : this.shards.get(shard.parentShardId);
    return parent === undefined || (parent.closed && parent.buffer.length === 0);
  }

  private async refreshShards(): Promise<void> {
    const firstTime = this.shards.size === 0;
    let exclusiveStartShardId: string | undefined;
    do {
      const out = await this.streams.send(
        new DescribeStreamCommand({
          StreamArn: this.deps.mapping.eventSourceArn,
          ExclusiveStartShardId: exclusiveStartShardId,
        }),
      );
      for (const shard of out.StreamDescription?.Shards ?? []) {
        if (shard.ShardId === undefined || this.shards.has(shard.ShardId)) continue;
        const resumed = this.resumeAfter[shard.ShardId];
        this.shards.set(shard.ShardId, {
          shardId: shard.ShardId,
          parentShardId: shard.ParentShardId,
          iterator: undefined,
          buffer: [],
          bufferedSince: undefined,
          closed: false,
          lastReadSequence: resumed,
          doneSequence: resumed,
          // Shards that appear later are read from their start, whatever the starting position.
          startAt: firstTime && this.deps.mapping.startingPosition === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON',
        });
      }
      exclusiveStartShardId = out.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId !== undefined);
    this.lastShardRefresh = Date.now();
  }

  /** Reads more records if the buffer is short, then processes one batch if it is ready. */
  private async step(shard: ShardState): Promise<boolean> {
    const { batchSize, maximumBatchingWindowSeconds: window } = this.deps.mapping;
    let read = 0;
    if (!shard.closed && shard.buffer.length < batchSize) read = await this.read(shard);
    if (shard.buffer.length === 0) return read > 0;
    const waited = Date.now() - (shard.bufferedSince ?? Date.now());
    const ready = shard.buffer.length >= batchSize || window === 0 || waited >= window * 1000 || shard.closed;
    if (!ready) return read > 0;
    const batch = shard.buffer.slice(0, batchSize);
    const finished = await this.processBatch(shard, batch);
    if (!finished) return true;
    shard.doneSequence = batch[batch.length - 1]?.dynamodb?.SequenceNumber ?? shard.doneSequence;
    shard.buffer.splice(0, batch.length);
    shard.bufferedSince = shard.buffer.length > 0 ? Date.now() : undefined;
    return true;
  }

  private async read(shard: ShardState): Promise<number> {
    if (shard.iterator === undefined) shard.iterator = await this.newIterator(shard);
    let out: GetRecordsCommandOutput;
    try {
      out = await this.streams.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: 1000 }));
    } catch (err) {
      if ((err as Error).name === 'ExpiredIteratorException') {
        shard.iterator = undefined;
        return 0;
      }
      throw err;
    }
    shard.iterator = out.NextShardIterator ?? undefined;
    if (shard.iterator === undefined) shard.closed = true;
    for (const record of out.Records ?? []) {
      shard.lastReadSequence = record.dynamodb?.SequenceNumber ?? shard.lastReadSequence;
      const lambdaRecord = toLambdaDynamoDbRecord(record, this.deps.mapping.region, this.deps.mapping.eventSourceArn);
      // Filtered-out records are consumed without an invocation, as Lambda does (done with at once when
      // nothing before them waits).
      if (!passesFilters(this.deps.mapping.filterPatterns, lambdaRecord)) {
        if (shard.buffer.length === 0) shard.doneSequence = record.dynamodb?.SequenceNumber ?? shard.doneSequence;
        continue;
      }
      if (shard.buffer.length === 0) shard.bufferedSince = Date.now();
      this.readAt.set(record, Date.now());
      shard.buffer.push(record);
    }
    return out.Records?.length ?? 0;
  }

  private async newIterator(shard: ShardState): Promise<string | undefined> {
    const type = shard.lastReadSequence !== undefined ? 'AFTER_SEQUENCE_NUMBER' : shard.startAt;
    const out = await this.streams.send(
      new GetShardIteratorCommand({
        StreamArn: this.deps.mapping.eventSourceArn,
        ShardId: shard.shardId,
        ShardIteratorType: type,
        ...(type === 'AFTER_SEQUENCE_NUMBER' ? { SequenceNumber: shard.lastReadSequence } : {}),
      }),
    );
    return out.ShardIterator;
  }

  /**
   * Delivers a batch until every record succeeded or went to the on-failure destination. Returns false
   * if stopped before that.
   */
  private async processBatch(shard: ShardState, batch: DynamoDbStreamRecord[]): Promise<boolean> {
    const { mapping } = this.deps;
    const pending: { records: DynamoDbStreamRecord[]; attempts: number }[] = [{ records: batch, attempts: 0 }];
    while (pending.length > 0) {
      if (this.stopping) return false;
      const item = pending[0]!;
      if (mapping.maximumRecordAgeSeconds >= 0) {
        const limit = Date.now() - mapping.maximumRecordAgeSeconds * 1000;
        const expired = item.records.filter((r) => (r.dynamodb?.ApproximateCreationDateTime?.getTime() ?? 0) < limit);
        if (expired.length > 0) {
          await this.toDestination(shard, expired, 'RecordAgeExceeded', item.attempts, undefined);
          item.records = item.records.filter((r) => !expired.includes(r));
          if (item.records.length === 0) pending.shift();
          continue;
        }
      }
      const event = {
        Records: item.records.map((r) => toLambdaDynamoDbRecord(r, mapping.region, mapping.eventSourceArn)),
      };
      const invokedAt = Date.now();
      if (item.attempts === 0) this.recordWaits(item.records, invokedAt);
      const outcome = await this.deps.invoke(event);
      this.deps.hops?.add(this.deps.fn.functionName, 'invoke', Date.now() - invokedAt, item.records.length);
      item.attempts += 1;
      this.stats.batches += 1;
      const sequenceNumbers = item.records.map((r) => r.dynamodb?.SequenceNumber ?? '');
      const failed = firstFailedIndex(outcome, sequenceNumbers, mapping.reportBatchItemFailures);
      this.stats.recordsDelivered += failed < 0 ? item.records.length : failed;
      if (failed < 0) {
        pending.shift();
        continue;
      }
      if (!outcome.ok) {
        this.deps.log(`${this.label} ${outcome.error.errorType}: ${outcome.error.errorMessage}`);
      }
      // Checkpoint before the first failed record; the rest is retried.
      const remaining = item.records.slice(failed);
      if (mapping.bisectBatchOnFunctionError && remaining.length > 1) {
        const half = Math.ceil(remaining.length / 2);
        pending.splice(
          0,
          1,
          { records: remaining.slice(0, half), attempts: 0 },
          { records: remaining.slice(half), attempts: 0 },
        );
        continue;
      }
      item.records = remaining;
      if (mapping.maximumRetryAttempts >= 0 && item.attempts > mapping.maximumRetryAttempts) {
        await this.toDestination(shard, remaining, 'RetryAttemptsExhausted', item.attempts, outcome);
        pending.shift();
        continue;
      }
      this.stats.retries += 1;
      await sleep(Math.min(2_000, 100 * 2 ** (item.attempts - 1)));
    }
    return true;
  }

  /** The stream and window hops of records about to be delivered the first time. */
  private recordWaits(records: readonly DynamoDbStreamRecord[], invokedAt: number): void {
    const hops = this.deps.hops;
    if (hops === undefined) return;
    const fn = this.deps.fn.functionName;
    for (const r of records) {
      const readAt = this.readAt.get(r) ?? invokedAt;
      const created = r.dynamodb?.ApproximateCreationDateTime?.getTime();
      if (created !== undefined) hops.add(fn, 'stream', readAt - created);
      hops.add(fn, 'window', invokedAt - readAt);
    }
  }

  /** Sends Lambda's on-failure record for `records` to the destination (SQS), or logs that they are dropped. */
  private async toDestination(
    shard: ShardState,
    records: DynamoDbStreamRecord[],
    condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded',
    attempts: number,
    last: InvocationOutcome | undefined,
  ): Promise<void> {
    const { mapping, fn } = this.deps;
    this.stats.recordsToDestination += records.length;
    const first = records[0]?.dynamodb;
    const lastRecord = records[records.length - 1]?.dynamodb;
    const body = {
      requestContext: {
        requestId: last?.requestId ?? randomUUID(),
        functionArn: fn.functionArn,
        condition,
        approximateInvokeCount: attempts,
      },
      responseContext: {
        statusCode: 200,
        executedVersion: '$LATEST',
        ...(last !== undefined && !last.ok ? { functionError: 'Unhandled' } : {}),
      },
      version: '1.0',
      timestamp: new Date().toISOString(),
      DDBStreamBatchInfo: {
        shardId: shard.shardId,
        startSequenceNumber: first?.SequenceNumber,
        endSequenceNumber: lastRecord?.SequenceNumber,
        approximateArrivalOfFirstRecord: isoSeconds(first?.ApproximateCreationDateTime),
        approximateArrivalOfLastRecord: isoSeconds(lastRecord?.ApproximateCreationDateTime),
        batchSize: records.length,
        streamArn: mapping.eventSourceArn,
      },
    };
    const destination = mapping.onFailureDestination;
    const range = `${first?.SequenceNumber}..${lastRecord?.SequenceNumber}`;
    if (destination === undefined) {
      this.deps.log(
        `${this.label} ${condition}: dropped ${records.length} record(s) ${range} (no on-failure destination)`,
      );
      return;
    }
    if (!destination.startsWith('arn:aws:sqs:')) {
      this.deps.log(
        `${this.label} ${condition}: destination ${destination} is not supported locally (only SQS); dropped ${range}`,
      );
      return;
    }
    for (let attempt = 1; ; attempt += 1) {
      try {
        this.destinationUrl ??= await queueUrlOf(this.deps.sqs, destination);
        const region = destination.split(':')[3] ?? mapping.region;
        await this.deps
          .sqs(region)
          .send(new SendMessageCommand({ QueueUrl: this.destinationUrl, MessageBody: JSON.stringify(body) }));
        this.deps.log(`${this.label} ${condition}: ${records.length} record(s) ${range} sent to ${destination}`);
        return;
      } catch (err) {
        // Never lose the failure record: retry until it is sent or the runtime stops.
        if (this.stopping) throw err;
        this.deps.log(`${this.label} on-failure send failed (attempt ${attempt}): ${(err as Error).message}`);
        await sleep(backoff(attempt));
      }
    }
  }
}

/** Lambda's SQS message attribute shape. */
export interface LambdaSqsMessageAttribute {
  stringValue?: string;
  binaryValue?: string;
  stringListValues: string[];
  binaryListValues: string[];
  dataType: string;
}

/** System attributes Lambda passes to the function when the queue has them. */
const SQS_EVENT_ATTRIBUTES = [
  'ApproximateReceiveCount',
  'SentTimestamp',
  'SenderId',
  'ApproximateFirstReceiveTimestamp',
  'AWSTraceHeader',
  'SequenceNumber',
  'MessageGroupId',
  'MessageDeduplicationId',
  'DeadLetterQueueSourceArn',
];

/** Builds one record of an SQSEvent from a received message, as Lambda does. */
export function toLambdaSqsRecord(message: Message, queueArn: string): Record<string, unknown> {
  const attributes: Record<string, string> = {};
  for (const name of SQS_EVENT_ATTRIBUTES) {
    const value = message.Attributes?.[name as keyof typeof message.Attributes];
    if (value !== undefined) attributes[name] = value;
  }
  const messageAttributes: Record<string, LambdaSqsMessageAttribute> = {};
  for (const [name, attr] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      ...(attr.StringValue !== undefined ? { stringValue: attr.StringValue } : {}),
      ...(attr.BinaryValue !== undefined ? { binaryValue: Buffer.from(attr.BinaryValue).toString('base64') } : {}),
      stringListValues: attr.StringListValues ?? [],
      binaryListValues: (attr.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
      dataType: attr.DataType ?? 'String',
    };
  }
  return {
    messageId: message.MessageId,
    receiptHandle: message.ReceiptHandle,
    body: message.Body ?? '',
    attributes,
    messageAttributes,
    md5OfBody: message.MD5OfBody,
    ...(message.MD5OfMessageAttributes !== undefined ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(':')[3],
  };
}

/** Attempts of a DeleteMessageBatch before its messages are left to their visibility timeout. */
const DELETE_ATTEMPTS = 5;

/** Counters of a queue mapping. */
export interface SqsPollerStats {
  batches: number;
  messagesDeleted: number;
  messagesFailed: number;
  messagesFiltered: number;
}

/**
 * Polls an SQS queue for one mapping with `workers` concurrent pollers: ReceiveMessage (batch size,
 * batching window, long polls of 1 s), invoke, DeleteMessageBatch of what succeeded, and nothing for what
 * failed: as with Lambda, a failed message comes back once its visibility timeout (the queue's, or what the
 * function set with ChangeMessageVisibility) has passed. Tests that need fast retries give their queues short
 * visibility timeouts; the runtime has no special case. Redrive to the queue's DLQ after maxReceiveCount is
 * moto's own, on receive.
 */
export class SqsPoller implements Poller {
  /** Counters since start. */
  readonly stats: SqsPollerStats = { batches: 0, messagesDeleted: 0, messagesFailed: 0, messagesFiltered: 0 };
  private stopping = false;
  private loops: Promise<void>[] = [];
  private queueUrl: string | undefined;
  private readonly queueRegion: string;

  constructor(
    private readonly deps: PollerDeps,
    private readonly workers: number,
  ) {
    this.queueRegion = deps.mapping.eventSourceArn.split(':')[3] ?? deps.mapping.region;
  }

  start(): void {
    if (this.loops.length > 0) return;
    const workers = Math.max(1, Math.min(this.workers, this.deps.mapping.maximumConcurrency ?? this.workers));
    for (let i = 0; i < workers; i += 1) this.loops.push(this.run(i));
  }

  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    await Promise.race([Promise.all(this.loops), sleep(graceMs)]);
  }

  private get label(): string {
    return `[${this.deps.fn.functionName} ← ${this.deps.mapping.eventSourceArn.split(':').pop()}]`;
  }

  private async run(worker: number): Promise<void> {
    let errors = 0;
    while (!this.stopping) {
      try {
        await this.step();
        errors = 0;
      } catch (err) {
        errors += 1;
        this.deps.log(
          `${this.label} poller ${worker} error (retrying in ${backoff(errors)} ms): ${(err as Error).message}`,
        );
        await sleep(backoff(errors));
      }
    }
  }

  private async step(): Promise<void> {
    const { mapping } = this.deps;
    const sqs = this.deps.sqs(this.queueRegion);
    this.queueUrl ??= await queueUrlOf(this.deps.sqs, mapping.eventSourceArn);
    const queueUrl = this.queueUrl;
    const messages: Message[] = [];
    const receivedAt: number[] = [];
    const windowEnds = Date.now() + mapping.maximumBatchingWindowSeconds * 1000;
    do {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.max(1, Math.min(10, mapping.batchSize - messages.length)),
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      messages.push(...(out.Messages ?? []));
      while (receivedAt.length < messages.length) receivedAt.push(Date.now());
    } while (!this.stopping && messages.length < mapping.batchSize && Date.now() < windowEnds);
    if (messages.length === 0) return;

    const records = messages.map((m) => toLambdaSqsRecord(m, mapping.eventSourceArn));
    const kept: number[] = [];
    const filtered: Message[] = [];
    records.forEach((record, i) => {
      if (passesFilters(mapping.filterPatterns, sqsFilterView(record as { body: string }))) kept.push(i);
      else filtered.push(messages[i]!);
    });
    // Lambda deletes messages that no filter matches.
    if (filtered.length > 0) {
      await this.deleteMessages(queueUrl, filtered);
      this.stats.messagesFiltered += filtered.length;
    }
    if (kept.length === 0) return;
    const batch = kept.map((i) => messages[i]!);
    const invokedAt = Date.now();
    const hops = this.deps.hops;
    const fn = this.deps.fn.functionName;
    for (const i of kept) {
      const sent = Number(messages[i]!.Attributes?.SentTimestamp);
      // A message delivered again waited its visibility timeout: that is a retry, not the queue's hop.
      const first = Number(messages[i]!.Attributes?.ApproximateReceiveCount ?? 1) === 1;
      if (first && Number.isFinite(sent)) hops?.add(fn, 'queue', receivedAt[i]! - sent);
      hops?.add(fn, 'window', invokedAt - receivedAt[i]!);
    }
    const outcome = await this.deps.invoke({ Records: kept.map((i) => records[i]) });
    hops?.add(fn, 'invoke', Date.now() - invokedAt, kept.length);
    this.stats.batches += 1;
    const failedIds = this.failedIds(outcome, batch);
    if (!outcome.ok) this.deps.log(`${this.label} ${outcome.error.errorType}: ${outcome.error.errorMessage}`);
    const succeeded = batch.filter((m) => !failedIds.has(m.MessageId ?? ''));
    const failed = batch.filter((m) => failedIds.has(m.MessageId ?? ''));
    if (succeeded.length > 0) await this.deleteMessages(queueUrl, succeeded);
    // What failed stays invisible until its visibility timeout passes, then SQS delivers it again.
    this.stats.messagesFailed += failed.length;
  }

  /** Message ids to leave on the queue: all of them on an error or an invalid partial response. */
  private failedIds(outcome: InvocationOutcome, batch: Message[]): Set<string> {
    const ids = batch.map((m) => m.MessageId ?? '');
    const first = firstFailedIndex(outcome, ids, this.deps.mapping.reportBatchItemFailures);
    if (first < 0) return new Set();
    if (!outcome.ok) return new Set(ids);
    const failures = (outcome.result as { batchItemFailures?: { itemIdentifier?: string }[] }).batchItemFailures ?? [];
    const named = new Set(failures.map((f) => f.itemIdentifier ?? ''));
    // An identifier that is not in the batch fails the whole batch (firstFailedIndex then says 0).
    return first === 0 && ![...named].every((id) => ids.includes(id)) ? new Set(ids) : named;
  }

  /**
   * Deletes messages as Lambda does after a successful invocation, retrying what fails (the whole call, or the
   * entries SQS reports failed) a few times with backoff: a message whose delete is lost comes back after its
   * visibility timeout and is applied again.
   */
  private async deleteMessages(queueUrl: string, messages: Message[]): Promise<void> {
    const sqs = this.deps.sqs(this.queueRegion);
    for (let i = 0; i < messages.length; i += 10) {
      let pending = messages.slice(i, i + 10);
      for (let attempt = 1; pending.length > 0; attempt += 1) {
        const entries = pending.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle }));
        let failedIds: Set<string>;
        try {
          const out = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
          this.stats.messagesDeleted += out.Successful?.length ?? 0;
          failedIds = new Set((out.Failed ?? []).map((f) => f.Id ?? ''));
          for (const failure of out.Failed ?? []) {
            this.deps.log(`${this.label} delete failed (attempt ${attempt}): ${failure.Code} ${failure.Message}`);
          }
        } catch (err) {
          this.deps.log(`${this.label} delete failed (attempt ${attempt}): ${(err as Error).message}`);
          failedIds = new Set(entries.map((e) => e.Id));
        }
        pending = pending.filter((_, j) => failedIds.has(String(j)));
        if (pending.length === 0 || attempt >= DELETE_ATTEMPTS) break;
        await sleep(backoff(attempt));
      }
    }
  }
}
