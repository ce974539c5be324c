/**
 * S3's side of the retryable/poison split (engine/errors.ts holds the engine's), and the errors that
 * are not failures at all: a source object that is gone (a stale event) and a lost conditional write (decide
 * again).
 */
import { nameOf, poisonTest, statusOf } from '../engine/errors';

/**
 * A copy whose target does not match its source (size or checksum). Retryable: the bad copy is removed and
 * the envelope retried until its attempts run out, then dead-lettered with this reason.
 */
export class IntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrityError';
  }
}

/** The source object changed while its parts were being copied (UploadPartCopy's source condition failed). */
export class SourceChangedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceChangedError';
  }
}

/** Whether an S3 (or envelope) error is poison: retrying the same envelope cannot help. */
export const isS3Poison = poisonTest([
  'InvalidArgument',
  'InvalidRequest',
  'InvalidStorageClass',
  'InvalidTag',
  'InvalidObjectState',
  'KeyTooLongError',
  'MetadataTooLarge',
  'EntityTooLarge',
  'MalformedXML',
]);

/**
 * Whether a copy failed because its source object (or the event's version of it) no longer exists, or
 * changed under a multipart copy. CopyObject and UploadPartCopy name the missing source NoSuchKey or
 * NoSuchVersion; a missing bucket is NoSuchBucket and stays an error.
 */
export function isSourceGone(err: unknown): boolean {
  const name = nameOf(err);
  return name === 'NoSuchKey' || name === 'NoSuchVersion' || err instanceof SourceChangedError;
}

/** Whether a HEAD found nothing: 404 (HEAD responses have no body, so the SDK names them NotFound). */
export function isNotFound(err: unknown): boolean {
  const name = nameOf(err);
  return name === 'NotFound' || name === 'NoSuchKey' || name === 'NoSuchVersion' || statusOf(err) === 404;
}

/**
 * Whether a conditional write (If-Match / If-None-Match) lost: the target changed since it was read.
 * 409 ConditionalRequestConflict is S3's answer to two conditional writes racing on one key.
 */
export function isConditionLost(err: unknown): boolean {
  const name = nameOf(err);
  return name === 'PreconditionFailed' || name === 'ConditionalRequestConflict' || statusOf(err) === 412;
}
