/**
 * Typed factories for the S3 half: S3 event notifications as real S3 and moto send them, and S3 envelopes.
 */
import { objectEventVersion } from '../../functions/engine/version';
import type { S3CaptureOptions } from '../../functions/s3/capture';
import type { S3Envelope, S3ObjectRef } from '../../functions/s3/envelope';

let seq = 0x1000;

/** One S3 event record, as in a notification's `Records`. */
export function s3EventRecord(opts: {
  eventName?: string;
  bucket?: string;
  /** The key as S3 encodes it in events (URL-encoded, `+` for space). */
  rawKey: string;
  size?: number;
  eTag?: string;
  versionId?: string;
  sequencer?: string | null;
  eventTime?: string;
}): Record<string, unknown> {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: opts.eventTime ?? '2026-05-20T10:00:00.000Z',
    eventName: opts.eventName ?? 'ObjectCreated:Put',
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'replicator',
      bucket: { name: opts.bucket ?? 'training-data', arn: `arn:aws:s3:::${opts.bucket ?? 'training-data'}` },
      object: {
        key: opts.rawKey,
        ...(opts.size !== undefined ? { size: opts.size } : {}),
        ...(opts.eTag !== undefined ? { eTag: opts.eTag } : {}),
        ...(opts.versionId !== undefined ? { versionId: opts.versionId } : {}),
        ...(opts.sequencer === null ? {} : { sequencer: opts.sequencer ?? (seq++).toString(16).toUpperCase() }),
      },
    },
  };
}

/** A notification body holding these records. */
export function s3Notification(...records: Record<string, unknown>[]): string {
  return JSON.stringify({ Records: records });
}

/** S3's test event, sent when a notification configuration is put. */
export function s3TestEvent(bucket = 'training-data'): string {
  return JSON.stringify({
    Service: 'Amazon S3',
    Event: 's3:TestEvent',
    Time: '2026-05-20T10:00:00.000Z',
    Bucket: bucket,
    RequestId: 'R',
    HostId: 'H',
  });
}

/** A body exactly as moto 5.2.1 sends it (quote_plus keys, no sequencer, no Z on eventTime). */
export const MOTO_PUT_BODY =
  '{"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventTime": "2026-11-25T18:09:34.828125", "eventName": "ObjectCreated:Put", "s3": {"s3SchemaVersion": "1.0", "configurationId": "xDFeg", "bucket": {"name": "training-data", "arn": "arn:aws:s3:::training-data"}, "object": {"key": "a+b%2Fc%2Bd%25e%2F%C3%BC.txt", "size": 11, "eTag": "5eb63bbbe01eeed093cb22bb8f5acdc3"}}}]}';

/** A put or delete envelope of the `datasets` pair. */
export function s3Envelope(
  opts: {
    op?: 'put' | 'delete';
    key?: string;
    ref?: Partial<S3ObjectRef>;
    sequencer?: string;
    origin?: string;
    capturedAt?: number;
  } = {},
): S3Envelope {
  const sequencer = opts.sequencer ?? (seq++).toString(16).toUpperCase();
  const key: S3ObjectRef = { key: opts.key ?? 'datasets/a.bin', sequencer, ...opts.ref };
  return {
    v: 1,
    pair: 'datasets',
    op: opts.op ?? 'put',
    key,
    image: null,
    version: objectEventVersion({ sequencer, eventTimeMs: 0 }),
    origin: opts.origin ?? 'us-east-1',
    capturedAt: opts.capturedAt ?? 1_780_000_000_500,
  };
}

/** The capture options of the tests' S3 pair (`datasets` on `training-data`). */
export const S3_CAPTURE_OPTS: S3CaptureOptions = {
  pair: 'datasets',
  origin: 'us-east-1',
  bucket: 'training-data',
  envelopesPerMessage: 25,
  now: () => 1_780_000_000_999,
};

/** One message of the events queue, as capture reads it. */
export const eventMessage = (body: string, messageId = 'm1') => ({ messageId, body });
