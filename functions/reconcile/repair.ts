/**
 * Repair: re-enqueue the source's current state through the normal apply path, so every convergence rule
 * still holds (DESIGN.md). Like `replicator backfill`, a repair put carries a version one second older
 * than the moment the source was read: any change made after the read sorts after it and wins, any older
 * one loses. Extra target items become deletes only when the pair allows it (`deleteExtra`).
 */
import type { MessageAttributeValue, SQSClient } from '@aws-sdk/client-sqs';
import { type Packable, packMessages, sendMessages } from '../capture/core';
import {
  type AttributeFilter,
  type AttrMap,
  applyAttributeFilter,
  canonicalKey,
  withoutReplicationAttributes,
} from '../shared/attributes';
import { byteLength, type Envelope, makeVersion } from '../shared/envelope';
import { REPAIR_ATTR, TARGET_ATTR } from '../shared/messages';
import type { S3Envelope } from '../shared/s3-envelope';

/** Envelopes larger than this travel as key-only fetch envelopes (the applier reads the source). */
const MAX_ENVELOPE_BYTES = 250_000;

/** A confirmed difference that repair can act on. */
export type RepairFinding =
  | { readonly kind: 'missing' | 'different'; readonly key: AttrMap; readonly sourceItem: AttrMap }
  | { readonly kind: 'extra'; readonly key: AttrMap };

/** How repair envelopes are built. */
export interface RepairOptions {
  readonly pair: string;
  /** Source region: the envelopes' origin. */
  readonly origin: string;
  readonly keyNames: readonly string[];
  /** The pair's attribute filter. @default - every attribute */
  readonly filter?: AttributeFilter;
  /** Delete target items the source does not have. @default false - extra items are only reported */
  readonly deleteExtra?: boolean;
  /** When the source was read (epoch ms): the version is one second before it. */
  readonly readAt: number;
  /** capturedAt of the envelopes (epoch ms). @default - readAt */
  readonly capturedAt?: number;
}

/** The version of a repair envelope for a source read at `readAt` (as backfill does). */
export function repairVersion(readAt: number): string {
  return makeVersion(Math.floor(readAt / 1000) - 1, '0');
}

/**
 * Turns findings into envelopes: one put per missing/different key (several targets missing the same key
 * share it: the pair queue feeds every target), one delete per extra key when `deleteExtra` is on.
 */
export function buildRepairEnvelopes(findings: readonly RepairFinding[], opts: RepairOptions): Envelope[] {
  const version = repairVersion(opts.readAt);
  const capturedAt = opts.capturedAt ?? opts.readAt;
  const seen = new Set<string>();
  const out: Envelope[] = [];
  for (const f of findings) {
    if (f.kind === 'extra' && !opts.deleteExtra) continue;
    const id = `${f.kind === 'extra' ? 'delete' : 'put'}:${canonicalKey(f.key)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    if (f.kind === 'extra') {
      out.push({
        v: 1,
        pair: opts.pair,
        op: 'delete',
        key: f.key,
        image: null,
        version,
        origin: opts.origin,
        capturedAt,
      });
      continue;
    }
    const image = applyAttributeFilter(withoutReplicationAttributes(f.sourceItem), opts.keyNames, opts.filter);
    let envelope: Envelope = {
      v: 1,
      pair: opts.pair,
      op: 'put',
      key: f.key,
      image,
      version,
      origin: opts.origin,
      capturedAt,
    };
    if (byteLength(envelope) > MAX_ENVELOPE_BYTES) envelope = { ...envelope, image: null };
    out.push(envelope);
  }
  return out;
}

/** Some repair envelopes could not be enqueued (retryable: the page is checked again next time). */
export class RepairEnqueueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RepairEnqueueError';
  }
}

/**
 * Sends repair envelopes to the pair's queue as capture does (packed, SendMessageBatch), marked as repairs
 * (`rep-repair`: no ReplicationLatency is recorded for them) and, when given, restricted to one target.
 * Throws {@link RepairEnqueueError} if any was not accepted.
 */
export async function enqueueRepairs(
  sqs: SQSClient,
  queueUrl: string,
  envelopes: readonly (Envelope | S3Envelope)[],
  opts: {
    readonly pair: string;
    readonly origin: string;
    readonly envelopesPerMessage?: number;
    /** Restrict the messages to this one target (`rep-target`). @default - every target of the pair */
    readonly targetId?: string;
  },
): Promise<{ messages: number; requests: number }> {
  if (envelopes.length === 0) return { messages: 0, requests: 0 };
  // Record ids only count the envelopes a failed send lost.
  const captured: Packable[] = envelopes.map((envelope, i) => ({
    recordId: String(i),
    envelope,
    bytes: byteLength(envelope),
  }));
  const messages = packMessages(captured, {
    pair: opts.pair,
    origin: opts.origin,
    envelopesPerMessage: opts.envelopesPerMessage ?? 25,
  });
  const attributes: Record<string, MessageAttributeValue> = {
    [REPAIR_ATTR]: { DataType: 'String', StringValue: 'true' },
    ...(opts.targetId !== undefined ? { [TARGET_ATTR]: { DataType: 'String', StringValue: opts.targetId } } : {}),
  };
  const sent = await sendMessages(sqs, queueUrl, messages, attributes);
  if (sent.failed.length > 0) {
    throw new RepairEnqueueError(
      `reconcile of ${opts.pair}: ${sent.failed.length} repair envelope(s) not enqueued (${sent.failed[0]?.reason})`,
    );
  }
  return { messages: sent.sentMessages, requests: sent.requests };
}
