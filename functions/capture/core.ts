/**
 * Capture core: DynamoDB stream records → envelopes → packed SQS messages.
 *
 * Pure logic; the SQS client is passed in. Capture never talks to a target region: it only enqueues, so a
 * target outage makes the queue grow instead of stopping capture.
 */
import type { MessageAttributeValue, SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import {
  type AttributeFilter,
  type AttrMap,
  applyAttributeFilter,
  ORIGIN_ATTR,
  withoutReplicationAttributes,
} from '../shared/attributes';
import { byteLength, type Envelope, makeVersion } from '../shared/envelope';
import { reasonOf } from '../shared/errors';

/** SQS's limit for one message, and for the sum of the messages of one SendMessageBatch call. */
export const SQS_MAX_BYTES = 262_144;
/** Room kept for message attributes and the array's commas when packing envelopes into one message. */
const PACK_HEADROOM = 4_096;

/** How capture builds and packs envelopes. */
export interface CaptureOptions {
  /** Pair name, copied into every envelope. */
  readonly pair: string;
  /** Region of the source table: the envelopes' origin, and the write marker that breaks two-way loops. */
  readonly origin: string;
  /** Attribute allow/deny list of the pair. @default - every attribute is replicated */
  readonly filter?: AttributeFilter;
  /** Envelopes packed into one SQS message at most. */
  readonly envelopesPerMessage: number;
  /** Bytes of one message body at most. @default - SQS's 256 KiB less headroom for attributes */
  readonly maxMessageBytes?: number;
  /** Clock (epoch ms). @default - Date.now */
  readonly now?: () => number;
}

/** What packing needs of an envelope of either pair type: its record id, the envelope, its JSON size. */
export interface Packable {
  readonly recordId: string;
  readonly envelope: unknown;
  readonly bytes: number;
}

/** An envelope with the stream record it came from (its sequence number, for partial batch responses). */
export interface CapturedEnvelope extends Packable {
  readonly recordId: string;
  readonly envelope: Envelope;
  readonly bytes: number;
}

/** What capture made of a batch of stream records. */
export interface CaptureBatch {
  readonly envelopes: CapturedEnvelope[];
  /** Records deliberately not replicated (e.g. writes Replicator itself made), with why. */
  readonly skipped: { recordId: string; reason: string }[];
  /** Records that could not be turned into an envelope (reported as batch item failures). */
  readonly invalid: { recordId: string; reason: string }[];
}

/** One SQS message: a body holding one or more envelopes, and the records those came from. */
export interface PackedMessage {
  readonly body: string;
  readonly bytes: number;
  readonly recordIds: readonly string[];
  readonly envelopeCount: number;
}

/** Turns stream records into envelopes, in stream order. */
export function buildEnvelopes(records: readonly DynamoDBRecord[], opts: CaptureOptions): CaptureBatch {
  const now = (opts.now ?? Date.now)();
  const maxBytes = (opts.maxMessageBytes ?? SQS_MAX_BYTES) - PACK_HEADROOM;
  const out: CaptureBatch = { envelopes: [], skipped: [], invalid: [] };
  for (const record of records) {
    const ddb = record.dynamodb;
    const recordId = ddb?.SequenceNumber ?? record.eventID ?? '';
    try {
      if (!ddb?.Keys || !ddb.SequenceNumber || ddb.ApproximateCreationDateTime === undefined) {
        throw new Error('record has no Keys, SequenceNumber or ApproximateCreationDateTime');
      }
      const key = ddb.Keys as AttrMap;
      const newImage = ddb.NewImage as AttrMap | undefined;
      const replicatedFrom = newImage?.[ORIGIN_ATTR];
      if (
        record.eventName !== 'REMOVE' &&
        replicatedFrom &&
        'S' in replicatedFrom &&
        replicatedFrom.S !== opts.origin
      ) {
        // Written by Replicator on behalf of another region: sending it back would loop (rule 4).
        out.skipped.push({ recordId, reason: `replicated write from ${replicatedFrom.S}` });
        continue;
      }
      const version = makeVersion(ddb.ApproximateCreationDateTime, ddb.SequenceNumber);
      let envelope: Envelope;
      if (record.eventName === 'REMOVE') {
        envelope = {
          v: 1,
          pair: opts.pair,
          op: 'delete',
          key,
          image: null,
          version,
          origin: opts.origin,
          capturedAt: now,
        };
      } else if (record.eventName === 'INSERT' || record.eventName === 'MODIFY') {
        // No NewImage means the stream does not carry new images: send a fetch envelope and let apply read it.
        const image = newImage
          ? applyAttributeFilter(withoutReplicationAttributes(newImage), Object.keys(key), opts.filter)
          : null;
        envelope = { v: 1, pair: opts.pair, op: 'put', key, image, version, origin: opts.origin, capturedAt: now };
      } else {
        throw new Error(`unknown eventName ${JSON.stringify(record.eventName)}`);
      }
      let bytes = byteLength(envelope);
      if (bytes > maxBytes && envelope.image !== null) {
        // Too large for one SQS message: send the key only, the applier reads the source (DESIGN.md).
        envelope = { ...envelope, image: null };
        bytes = byteLength(envelope);
      }
      if (bytes > maxBytes) throw new Error(`key alone is ${bytes} bytes, over the ${maxBytes}-byte message limit`);
      out.envelopes.push({ recordId, envelope, bytes });
    } catch (err) {
      out.invalid.push({ recordId, reason: reasonOf(err) });
    }
  }
  return out;
}

/**
 * Packs envelopes into as few messages as the limits allow, keeping stream order. A message holds at most
 * `envelopesPerMessage` envelopes and `maxMessageBytes` bytes; a lone envelope travels as an object, several
 * as a JSON array.
 */
export function packMessages(envelopes: readonly Packable[], opts: CaptureOptions): PackedMessage[] {
  const maxBytes = (opts.maxMessageBytes ?? SQS_MAX_BYTES) - PACK_HEADROOM;
  const messages: PackedMessage[] = [];
  let current: Packable[] = [];
  let currentBytes = 2;
  const flush = () => {
    if (current.length === 0) return;
    const body =
      current.length === 1 ? JSON.stringify(current[0]!.envelope) : JSON.stringify(current.map((c) => c.envelope));
    messages.push({
      body,
      bytes: byteLength(body),
      recordIds: current.map((c) => c.recordId),
      envelopeCount: current.length,
    });
    current = [];
    currentBytes = 2;
  };
  for (const e of envelopes) {
    if (current.length >= opts.envelopesPerMessage || currentBytes + e.bytes + 1 > maxBytes) flush();
    current.push(e);
    currentBytes += e.bytes + 1;
  }
  flush();
  return messages;
}

/** Groups messages into SendMessageBatch calls: 10 entries and 256 KiB in all at most per call. */
export function planBatches(messages: readonly PackedMessage[]): PackedMessage[][] {
  const batches: PackedMessage[][] = [];
  let current: PackedMessage[] = [];
  let bytes = 0;
  for (const m of messages) {
    if (current.length === 10 || (current.length > 0 && bytes + m.bytes > SQS_MAX_BYTES - PACK_HEADROOM)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += m.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** What sending a batch of messages achieved. */
export interface SendResult {
  readonly sentMessages: number;
  readonly sentEnvelopes: number;
  readonly requests: number;
  /** Records whose envelopes could not be enqueued, each with the reason. */
  readonly failed: { recordId: string; reason: string }[];
}

/** Sends packed messages with SendMessageBatch; reports the records of every message that was not accepted. */
export async function sendMessages(
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly PackedMessage[],
  /** Message attributes of every message (e.g. `rep-target` for a repair meant for one target). */
  attributes?: Record<string, MessageAttributeValue>,
): Promise<SendResult> {
  const result: SendResult = { sentMessages: 0, sentEnvelopes: 0, requests: 0, failed: [] };
  const batches = planBatches(messages);
  await Promise.all(
    batches.map(async (batch) => {
      const entries: SendMessageBatchRequestEntry[] = batch.map((m, i) => ({
        Id: String(i),
        MessageBody: m.body,
        ...(attributes ? { MessageAttributes: attributes } : {}),
      }));
      (result as { requests: number }).requests++;
      try {
        const res = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
        const failedIds = new Map((res.Failed ?? []).map((f) => [f.Id, `${f.Code}: ${f.Message ?? ''}`]));
        batch.forEach((m, i) => {
          const reason = failedIds.get(String(i));
          if (reason !== undefined) {
            for (const recordId of m.recordIds) result.failed.push({ recordId, reason });
          } else {
            (result as { sentMessages: number }).sentMessages++;
            (result as { sentEnvelopes: number }).sentEnvelopes += m.envelopeCount;
          }
        });
      } catch (err) {
        const reason = reasonOf(err);
        for (const m of batch) for (const recordId of m.recordIds) result.failed.push({ recordId, reason });
      }
    }),
  );
  return result;
}
