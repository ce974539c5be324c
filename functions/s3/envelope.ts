/**
 * The replication envelope of S3 pairs (DESIGN.md): one per object event, packed into SQS messages exactly
 * like a table's (a message body is one envelope or a JSON array of them).
 *
 * `key` is the decoded object key plus what the event said about the object; `image` is always null (the
 * copier reads the source object). `version` is an object event version (engine/version.ts): `s` + the
 * event's sequencer, or `t` + event time + a tie-breaker when the event has none (moto sends none).
 */
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { type Envelope, envelopeSchema, MalformedEnvelopeError, parseEnvelopes } from '../engine/envelope';
import { OBJECT_VERSION_PATTERN } from '../engine/version';

/** What an S3 event says about the object it concerns. */
export interface S3ObjectRef {
  /** The decoded object key. */
  readonly key: string;
  readonly size?: number;
  readonly eTag?: string;
  readonly versionId?: string;
  readonly sequencer?: string;
}

/** One S3 object event on its way to the targets; `image` is always null (objects are copied server-side). */
export type S3Envelope = Envelope<S3ObjectRef, never>;

/** User-metadata key holding the envelope version a target object reflects (DESIGN rule 5: `rep-` keys). */
export const REP_VERSION_META = 'rep-v';
/** User-metadata key holding the region where the replicated change was made (rule 4). */
export const REP_ORIGIN_META = 'rep-o';
/**
 * User-metadata key holding the source object's ETag (unquoted) a target copy was made from: what `wait` asks
 * a target, since a multipart copy's own ETag differs from its source's.
 */
export const REP_ETAG_META = 'rep-e';
/** User-metadata key holding the source object's LastModified (epoch ms) a target copy was made from. */
export const REP_MODIFIED_META = 'rep-m';
/** Prefix of every user-metadata key Replicator adds to target objects. */
export const REP_META_PREFIX = 'rep-';

let schema: z.ZodMiniType | undefined;

/** The S3 envelope's schema, built on first use (engine/envelope.ts `envelopeSchema`). */
function s3Schema(): z.ZodMiniType {
  schema ??= envelopeSchema({
    key: z.object({
      key: z.string().check(z.minLength(1)),
      size: z.optional(z.int().check(z.nonnegative())),
      eTag: z.optional(z.string()),
      versionId: z.optional(z.string()),
      sequencer: z.optional(z.string()),
    }),
    image: z.null(),
    version: z
      .string()
      .check(z.regex(OBJECT_VERSION_PATTERN, 'version must be "s<32 hex>" or "t<15-digit ms>.<suffix>"')),
  });
  return schema;
}

/** Parses a message body into its S3 envelopes, or throws {@link MalformedEnvelopeError} saying what is wrong. */
export function parseS3Body(body: string): S3Envelope[] {
  return parseEnvelopes<S3Envelope>(body, s3Schema());
}

/**
 * Parses an S3 event time. moto writes it without a zone ("2026-01-01T10:00:00.123456"), which
 * `Date.parse` would read as local time: a time without a zone is UTC here, as S3 means it.
 */
export function parseEventTime(text: string): number {
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(text) ? text : `${text}Z`;
  const ms = Date.parse(zoned);
  if (Number.isNaN(ms)) throw new MalformedEnvelopeError(`eventTime is not an ISO 8601 time (given "${text}")`);
  return ms;
}

/** A short, fixed-length id of an object key, safe as a DynamoDB partition key whatever the key's length. */
export function s3KeyHash(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('base64url');
}
