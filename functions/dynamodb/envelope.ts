/**
 * The envelope of DynamoDB pairs: `key` and `image` in AttributeValue JSON, a stream version. A `put` whose
 * `image` is null is a "fetch" envelope: the image was too large for SQS and the applier reads the source.
 */
import * as z from 'zod/mini';
import { type Envelope, envelopeSchema, parseEnvelopes } from '../engine/envelope';
import { STREAM_VERSION_PATTERN } from '../engine/version';
import type { AttrMap } from './attributes';

/** One table change on its way to the targets. */
export type TableEnvelope = Envelope<AttrMap, AttrMap>;

/** An item or key in AttributeValue JSON: attribute name → `{ <type>: value }`. */
function attrMapSchema() {
  return z.record(z.string(), z.record(z.string(), z.unknown()));
}

let schema: z.ZodMiniType | undefined;

/** The table envelope's schema, built on first use (engine/envelope.ts `envelopeSchema`). */
function tableSchema(): z.ZodMiniType {
  schema ??= envelopeSchema({
    key: attrMapSchema().check(z.refine((k) => Object.keys(k).length > 0, 'key must have at least one attribute')),
    image: z.nullable(attrMapSchema()),
    version: z.string().check(z.regex(STREAM_VERSION_PATTERN, 'version must be "<15-digit ms>.<40-digit sequence>"')),
  });
  return schema;
}

/** Parses a message body into its table envelopes, or throws MalformedEnvelopeError saying what is wrong. */
export function parseTableBody(body: string): TableEnvelope[] {
  return parseEnvelopes<TableEnvelope>(body, tableSchema());
}
