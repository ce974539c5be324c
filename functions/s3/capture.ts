/**
 * S3 capture core: S3 event notifications (one per SQS message from the events queue) → envelopes → packed
 * SQS messages on the pair queue.
 *
 * Pure logic; packing and sending are the engine's (engine/queue.ts), since an S3 envelope travels exactly
 * like a table's. Capture never reads the source or a target: it only enqueues.
 */
import { byteLength, parseJsonBody } from '../engine/envelope';
import { reasonOf } from '../engine/errors';
import { type CaptureBatch, PACK_HEADROOM, type PackOptions, SQS_MAX_BYTES } from '../engine/queue';
import { objectEventVersion } from '../engine/version';
import { parseEventTime, type S3Envelope, type S3ObjectRef } from './envelope';

/** How S3 capture filters events and builds and packs envelopes. */
export interface S3CaptureOptions extends PackOptions {
  /** Pair name, copied into every envelope. */
  readonly pair: string;
  /** Region of the source bucket: the envelopes' origin. */
  readonly origin: string;
  /** The source bucket: events of any other bucket are skipped. */
  readonly bucket: string;
  /** Only keys starting with this are replicated. @default - every key */
  readonly prefix?: string;
  /** Only keys ending with this are replicated. @default - every key */
  readonly suffix?: string;
  /** Clock (epoch ms). @default - Date.now */
  readonly now?: () => number;
}

/** An envelope with the SQS message (of the events queue) it came from, for partial batch responses. */
export interface CapturedS3Envelope {
  readonly recordId: string;
  readonly envelope: S3Envelope;
  readonly bytes: number;
}

/** One message of the events queue as capture reads it. */
export interface EventMessage {
  readonly messageId: string;
  readonly body: string;
}

/** What capture made of a batch of event messages (skipped: test events, other buckets, outside the filters). */
export type S3CaptureBatch = CaptureBatch<CapturedS3Envelope>;

/** The fields of an S3 event record capture reads (the rest of the notification is ignored). */
interface S3EventRecord {
  readonly eventName?: unknown;
  readonly eventTime?: unknown;
  readonly s3?: {
    readonly bucket?: { readonly name?: unknown };
    readonly object?: {
      readonly key?: unknown;
      readonly size?: unknown;
      readonly eTag?: unknown;
      readonly versionId?: unknown;
      readonly sequencer?: unknown;
    };
  };
}

/**
 * Decodes an object key as S3 event notifications encode it: `+` is a space, the rest is percent-encoded
 * UTF-8. `+` must be replaced before percent-decoding, or a literal plus (sent as `%2B`) would become a
 * space. moto also encodes `/` as `%2F`, which this decodes the same way.
 */
export function decodeS3Key(raw: string): string {
  return decodeURIComponent(raw.replace(/\+/g, ' '));
}

/** What an event name means for replication: a put, a delete, or nothing to replicate. */
export function operationOf(eventName: string): 'put' | 'delete' | undefined {
  const name = eventName.replace(/^s3:/, '');
  if (name.startsWith('ObjectCreated:')) return 'put';
  // Lifecycle expirations are deletes too, should the pair ever subscribe to them.
  if (
    name.startsWith('ObjectRemoved:') ||
    name === 'LifecycleExpiration:Delete' ||
    name === 'LifecycleExpiration:DeleteMarkerCreated'
  )
    return 'delete';
  return undefined;
}

/** Whether a decoded key passes the pair's prefix and suffix filters. */
export function matchesFilters(key: string, opts: Pick<S3CaptureOptions, 'prefix' | 'suffix'>): boolean {
  return key.startsWith(opts.prefix ?? '') && key.endsWith(opts.suffix ?? '');
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new Error(`${field} must be a string (given ${JSON.stringify(value)})`);
  return value;
}

/** Turns one event record into an envelope, or says why it is skipped. Throws if the record is malformed. */
export function envelopeOf(
  record: S3EventRecord,
  opts: S3CaptureOptions,
  capturedAt: number,
): { envelope: S3Envelope } | { skip: string } {
  const eventName = optionalString(record.eventName, 'eventName');
  if (!eventName) throw new Error('record has no eventName');
  const op = operationOf(eventName);
  if (!op) return { skip: `event ${eventName} is not replicated` };
  const bucket = record.s3?.bucket?.name;
  if (bucket !== opts.bucket) return { skip: `event of bucket ${JSON.stringify(bucket)}, not ${opts.bucket}` };
  const object = record.s3?.object;
  const rawKey = optionalString(object?.key, 's3.object.key');
  if (!rawKey) throw new Error('record has no s3.object.key');
  const key = decodeS3Key(rawKey);
  if (!matchesFilters(key, opts)) return { skip: 'key outside the prefix/suffix filters' };
  const size = object?.size;
  if (size !== undefined && (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)) {
    throw new Error(`s3.object.size must be a non-negative integer (given ${JSON.stringify(size)})`);
  }
  const eventTime = optionalString(record.eventTime, 'eventTime');
  if (!eventTime) throw new Error('record has no eventTime');
  const ref: S3ObjectRef = {
    key,
    ...(size !== undefined ? { size } : {}),
    ...pick('eTag', optionalString(object?.eTag, 's3.object.eTag')),
    ...pick('versionId', optionalString(object?.versionId, 's3.object.versionId')),
    ...pick('sequencer', optionalString(object?.sequencer, 's3.object.sequencer')),
  };
  const version = objectEventVersion({ ...ref, eventTimeMs: parseEventTime(eventTime) });
  return {
    envelope: { v: 1, pair: opts.pair, op, key: ref, image: null, version, origin: opts.origin, capturedAt },
  };
}

function pick<K extends string>(name: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: string };
}

/**
 * Turns event messages into envelopes, in order. A message is an S3 notification (`{ Records: [...] }`) or
 * S3's `s3:TestEvent`, which is skipped. A malformed message is invalid as a whole (reported, so SQS retries
 * it and finally moves it to the events queue's DLQ); nothing of it is sent.
 */
export function buildS3Envelopes(messages: readonly EventMessage[], opts: S3CaptureOptions): S3CaptureBatch {
  const now = (opts.now ?? Date.now)();
  const maxBytes = (opts.maxMessageBytes ?? SQS_MAX_BYTES) - PACK_HEADROOM;
  const out: S3CaptureBatch = { envelopes: [], skipped: [], invalid: [] };
  for (const message of messages) {
    const recordId = message.messageId;
    try {
      const json = parseJsonBody(message.body) as { Event?: unknown; Records?: unknown };
      if (json?.Event === 's3:TestEvent') {
        out.skipped.push({ recordId, reason: 's3:TestEvent' });
        continue;
      }
      if (!Array.isArray(json?.Records)) throw new Error('body is neither an S3 notification nor s3:TestEvent');
      const built: CapturedS3Envelope[] = [];
      json.Records.forEach((record: S3EventRecord, i: number) => {
        try {
          const r = envelopeOf(record, opts, now);
          if ('skip' in r) {
            out.skipped.push({ recordId, reason: r.skip });
            return;
          }
          const bytes = byteLength(r.envelope);
          if (bytes > maxBytes) throw new Error(`envelope is ${bytes} bytes, over the ${maxBytes}-byte message limit`);
          built.push({ recordId, envelope: r.envelope, bytes });
        } catch (err) {
          throw new Error(`record ${i}: ${(err as Error).message}`);
        }
      });
      out.envelopes.push(...built);
    } catch (err) {
      out.invalid.push({ recordId, reason: reasonOf(err) });
    }
  }
  return out;
}
