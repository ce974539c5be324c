/**
 * The envelope of DynamoDB pairs: `key` and `image` in AttributeValue JSON, a stream version. A `put` whose
 * `image` is null is a "fetch" envelope: the image was too large for SQS and the applier reads the source.
 */
import { z } from 'zod';
import { type Envelope, envelopeSchema, parseEnvelopes } from '../engine/envelope';
import { STREAM_VERSION_PATTERN } from '../engine/version';
import type { AttrMap } from './attributes';

/** One table change on its way to the targets. */
export type TableEnvelope = Envelope<AttrMap, AttrMap>;

const attrMapSchema = z.record(z.string(), z.record(z.string(), z.unknown()));

const schema = envelopeSchema({
  key: attrMapSchema.refine((k) => Object.keys(k).length > 0, 'key must have at least one attribute'),
  image: attrMapSchema.nullable(),
  version: z.string().regex(STREAM_VERSION_PATTERN, 'version must be "<15-digit ms>.<40-digit sequence>"'),
});

/** Parses a message body into its table envelopes, or throws MalformedEnvelopeError saying what is wrong. */
export function parseTableBody(body: string): TableEnvelope[] {
  return parseEnvelopes<TableEnvelope>(body, schema);
}
