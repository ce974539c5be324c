/**
 * Capture of DynamoDB pairs: stream records → envelopes (packed and sent by the engine's queue module).
 *
 * Pure logic. Capture never talks to a target region: it only enqueues, so a target outage makes the queue
 * grow instead of stopping capture.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { byteLength } from '../engine/envelope';
import { reasonOf } from '../engine/errors';
import { type CaptureBatch, PACK_HEADROOM, type PackOptions, SQS_MAX_BYTES } from '../engine/queue';
import { streamVersion } from '../engine/version';
import {
  type AttributeFilter,
  type AttrMap,
  applyAttributeFilter,
  ORIGIN_ATTR,
  withoutReplicationAttributes,
} from './attributes';
import type { TableEnvelope } from './envelope';

/** How capture builds and packs envelopes. */
export interface CaptureOptions extends PackOptions {
  /** Pair name, copied into every envelope. */
  readonly pair: string;
  /** Region of the source table: the envelopes' origin, and the write marker that breaks two-way loops. */
  readonly origin: string;
  /** Attribute allow/deny list of the pair. @default - every attribute is replicated */
  readonly filter?: AttributeFilter;
  /** Clock (epoch ms). @default - Date.now */
  readonly now?: () => number;
}

/** An envelope with the stream record it came from (its sequence number, for partial batch responses). */
export interface CapturedEnvelope {
  readonly recordId: string;
  readonly envelope: TableEnvelope;
  readonly bytes: number;
}

/** Turns stream records into envelopes, in stream order. */
export function buildEnvelopes(
  records: readonly DynamoDBRecord[],
  opts: CaptureOptions,
): CaptureBatch<CapturedEnvelope> {
  const now = (opts.now ?? Date.now)();
  const maxBytes = (opts.maxMessageBytes ?? SQS_MAX_BYTES) - PACK_HEADROOM;
  const out: CaptureBatch<CapturedEnvelope> = { envelopes: [], skipped: [], invalid: [] };
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
      const version = streamVersion(ddb.ApproximateCreationDateTime, ddb.SequenceNumber);
      let envelope: TableEnvelope;
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
