/**
 * The replication envelope (DESIGN.md): what capture sends and apply reads, one per source change.
 *
 * A message body is one envelope or a JSON array of envelopes packed together. A `put` whose `image` is
 * null is a "fetch" envelope: the image was too large for SQS and the applier reads the source instead.
 */
import { z } from 'zod';
import type { AttrMap } from './attributes';

/** One source change on its way to the targets. */
export interface Envelope {
  readonly v: 1;
  readonly pair: string;
  readonly op: 'put' | 'delete';
  readonly key: AttrMap;
  /** The new image (DynamoDB JSON); null for deletes and for fetch envelopes. */
  readonly image: AttrMap | null;
  /** Sortable: a later change of the same key always sorts after an earlier one. */
  readonly version: string;
  /** Region where the change was made. */
  readonly origin: string;
  /** When capture built the envelope (epoch ms). */
  readonly capturedAt: number;
}

/** Shape of a version string: see {@link makeVersion}. */
export const VERSION_PATTERN = /^\d{15}\.\d{40}$/;

const attrMapSchema = z.record(z.string(), z.record(z.string(), z.unknown()));

const envelopeSchema = z.object({
  v: z.literal(1),
  pair: z.string().min(1),
  op: z.enum(['put', 'delete']),
  key: attrMapSchema.refine((k) => Object.keys(k).length > 0, 'key must have at least one attribute'),
  image: attrMapSchema.nullable(),
  version: z.string().regex(VERSION_PATTERN, 'version must be "<15-digit ms>.<40-digit sequence>"'),
  origin: z.string().min(1),
  capturedAt: z.number(),
});

/** A message body that is not an envelope or an array of them. */
export class MalformedEnvelopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedEnvelopeError';
  }
}

/**
 * Parses a message body (one envelope or an array) with a schema, or throws {@link MalformedEnvelopeError}
 * naming the envelope and the field that is wrong.
 */
export function parseEnvelopes<E>(body: string, schema: z.ZodType): E[] {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    throw new MalformedEnvelopeError(`body is not JSON: ${(err as Error).message}`);
  }
  const list = Array.isArray(json) ? json : [json];
  if (list.length === 0) throw new MalformedEnvelopeError('body is an empty array');
  return list.map((item, i) => {
    const r = schema.safeParse(item);
    if (!r.success) {
      const first = r.error.issues[0];
      const where = first ? first.path.join('.') || '(envelope)' : '(envelope)';
      throw new MalformedEnvelopeError(`envelope ${i}: ${where}: ${first?.message ?? 'invalid'}`);
    }
    return r.data as E;
  });
}

/** Parses a message body into its DynamoDB envelopes (see {@link parseEnvelopes}). */
export function parseBody(body: string): Envelope[] {
  return parseEnvelopes<Envelope>(body, envelopeSchema);
}

/**
 * Builds the sortable version of a stream record: approximate creation time (ms, 15 digits) then the
 * sequence number (40 digits). Sequence numbers grow within a key's shard lineage; the time prefix keeps
 * versions ordered across a re-created stream, whose sequence numbers start again.
 */
export function makeVersion(approximateCreationEpochSeconds: number, sequenceNumber: string): string {
  if (!/^\d{1,40}$/.test(sequenceNumber)) {
    throw new MalformedEnvelopeError(`sequence number must be 1-40 digits (given "${sequenceNumber}")`);
  }
  const ms = Math.round(approximateCreationEpochSeconds * 1000);
  return `${String(ms).padStart(15, '0')}.${sequenceNumber.padStart(40, '0')}`;
}

/** The source write time (epoch ms) a version carries. */
export function versionTime(version: string): number {
  return Number(version.slice(0, 15));
}

/** Serialized size of a value in bytes (UTF-8), as SQS counts it. */
export function byteLength(value: unknown): number {
  return Buffer.byteLength(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');
}
