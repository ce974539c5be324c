/**
 * The replication envelope of S3 pairs (DESIGN.md): one per object event, packed into SQS messages exactly
 * like DynamoDB's (a message body is one envelope or a JSON array of them).
 *
 * `key` is the decoded object key plus what the event said about the object; `image` is always null (the
 * copier reads the source object). `version` orders the events of one key:
 * - `s` + the event's sequencer, upper-cased and left-padded with zeros to 32 hex digits. S3 documents that
 *   the sequencers of one key order its events once left-padded to equal length; real S3 always sends one.
 * - `t` + event time (epoch ms, 15 digits) + `.` + (versionId or eTag or ''), when the event has no
 *   sequencer (moto sends none). Millisecond time is the best order such a source offers; the suffix only
 *   breaks ties deterministically.
 * `s` and `t` versions are never compared with each other in practice: a bucket's events either all carry a
 * sequencer (real S3) or none do (moto).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { MalformedEnvelopeError, parseEnvelopes } from './envelope';

/** What an S3 event says about the object it concerns. */
export interface S3ObjectRef {
  /** The decoded object key. */
  readonly key: string;
  readonly size?: number;
  readonly eTag?: string;
  readonly versionId?: string;
  readonly sequencer?: string;
}

/** One S3 object event on its way to the targets. */
export interface S3Envelope {
  readonly v: 1;
  readonly pair: string;
  readonly op: 'put' | 'delete';
  readonly key: S3ObjectRef;
  /** Always null: objects never travel in SQS, the copier copies them server-side. */
  readonly image: null;
  /** Sortable per key: see the file's header. */
  readonly version: string;
  /** Region where the change was made. */
  readonly origin: string;
  /** When capture built the envelope (epoch ms). */
  readonly capturedAt: number;
}

/** User-metadata key holding the envelope version a target object reflects (DESIGN rule 5: `rep-` keys). */
export const REP_VERSION_META = 'rep-v';
/** User-metadata key holding the region where the replicated change was made (rule 4). */
export const REP_ORIGIN_META = 'rep-o';
/** Prefix of every user-metadata key Replicator adds to target objects. */
export const REP_META_PREFIX = 'rep-';

/** Shape of an S3 version string: see the file's header. */
export const S3_VERSION_PATTERN = /^(s[0-9A-F]{32}|t\d{15}\.[\x21-\x7e]*)$/;

const envelopeSchema = z.object({
  v: z.literal(1),
  pair: z.string().min(1),
  op: z.enum(['put', 'delete']),
  key: z.object({
    key: z.string().min(1),
    size: z.number().int().nonnegative().optional(),
    eTag: z.string().optional(),
    versionId: z.string().optional(),
    sequencer: z.string().optional(),
  }),
  image: z.null(),
  version: z.string().regex(S3_VERSION_PATTERN, 'version must be "s<32 hex>" or "t<15-digit ms>.<suffix>"'),
  origin: z.string().min(1),
  capturedAt: z.number(),
});

/** Parses a message body into its S3 envelopes, or throws {@link MalformedEnvelopeError} saying what is wrong. */
export function parseS3Body(body: string): S3Envelope[] {
  return parseEnvelopes<S3Envelope>(body, envelopeSchema);
}

/** The version of an event that has a sequencer: `s` + 32 upper-case hex digits. */
export function sequencerVersion(sequencer: string): string {
  const hex = sequencer.toUpperCase();
  if (!/^[0-9A-F]{1,32}$/.test(hex)) {
    throw new MalformedEnvelopeError(`sequencer must be 1-32 hex digits (given "${sequencer}")`);
  }
  return `s${hex.padStart(32, '0')}`;
}

/** The version of an event without a sequencer: `t` + epoch ms (15 digits) + `.` + a tie-breaker. */
export function timeVersion(eventTimeMs: number, tieBreaker = ''): string {
  if (!Number.isSafeInteger(eventTimeMs) || eventTimeMs < 0) {
    throw new MalformedEnvelopeError(`event time must be a non-negative integer of ms (given ${eventTimeMs})`);
  }
  return `t${String(eventTimeMs).padStart(15, '0')}.${tieBreaker}`;
}

/** Builds an event's version: from its sequencer when it has one, else from its time (see the header). */
export function makeS3Version(event: {
  readonly sequencer?: string;
  readonly eventTimeMs: number;
  readonly versionId?: string;
  readonly eTag?: string;
}): string {
  if (event.sequencer) return sequencerVersion(event.sequencer);
  return timeVersion(event.eventTimeMs, event.versionId ?? event.eTag ?? '');
}

/** The event time (epoch ms) a `t` version carries; undefined for `s` versions, which carry none. */
export function s3VersionTime(version: string): number | undefined {
  return version.startsWith('t') ? Number(version.slice(1, 16)) : undefined;
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
