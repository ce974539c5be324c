/**
 * The replication envelope (DESIGN.md), whatever the pair type: what capture sends, apply/copy reads and
 * reconcile re-sends, one per source change. A message body is one envelope or a JSON array of envelopes packed
 * together. Pair types fix the shape of `key` and `image` and the kind of `version` (functions/engine/version.ts).
 */
import { en } from 'zod/locales';
// zod/mini, imported as a namespace: its functional API tree-shakes to ~20 KB of a bundle, where the classic
// API (or `import { z }`, an object esbuild cannot shake) is ~440 KB.
import * as z from 'zod/mini';

/** One source change on its way to the targets. `K` is the pair type's key, `I` its image. */
export interface Envelope<K = unknown, I = unknown> {
  readonly v: 1;
  readonly pair: string;
  readonly op: 'put' | 'delete';
  readonly key: K;
  /** The new image; null for deletes, for key-only "fetch" envelopes and for S3 objects (copied server-side). */
  readonly image: I | null;
  /** Sortable: a later change of the same key always sorts after an earlier one (engine/version.ts). */
  readonly version: string;
  /** Region where the change was made. */
  readonly origin: string;
  /** When capture built the envelope (epoch ms). */
  readonly capturedAt: number;
}

/**
 * The fields every envelope schema shares; a pair type adds `key`, `image` and its `version` pattern. A pair type
 * builds its schema on first use, not at module scope, so the functions that never parse an envelope (capture,
 * reconcile, backfill) carry no zod in their bundles.
 */
export function envelopeSchema<K extends z.ZodMiniType, I extends z.ZodMiniType>(parts: {
  readonly key: K;
  readonly image: I;
  readonly version: z.ZodMiniString;
}) {
  // zod/mini loads no locale: English, as classic zod has it, so a dead-letter reason says what was expected.
  // Set here, with the schema, for the same reason (the locale is global and the same for every schema).
  z.config(en());
  return z.object({
    v: z.literal(1),
    pair: z.string().check(z.minLength(1)),
    op: z.enum(['put', 'delete']),
    key: parts.key,
    image: parts.image,
    version: parts.version,
    origin: z.string().check(z.minLength(1)),
    capturedAt: z.number(),
  });
}

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
export function parseEnvelopes<E>(body: string, schema: z.ZodMiniType): E[] {
  let json: unknown;
  try {
    json = parseJsonBody(body);
  } catch (err) {
    throw new MalformedEnvelopeError((err as Error).message);
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

/**
 * A message body parsed as JSON, or an error that says only that it is not JSON and how long it is: JSON.parse's
 * own message quotes the start of the body, which would carry data into dead-letter reasons and log lines.
 */
export function parseJsonBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new Error(`body is not JSON (${byteLength(body)} bytes)`);
  }
}

/** Serialized size of a value in bytes (UTF-8), as SQS counts it. */
export function byteLength(value: unknown): number {
  return Buffer.byteLength(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');
}
