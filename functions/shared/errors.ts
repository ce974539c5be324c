/**
 * Error classes and the retryable/poison split.
 *
 * Retryable errors (throttling, 5xx, network, missing permissions that an operator can fix) are thrown and
 * the message is retried; poison errors (malformed envelopes, writes a target rejects for what they are)
 * go straight to the DLQ with their reason, because retrying them cannot succeed.
 */

/** A record that can never be applied as it is; it goes to the DLQ with this reason. */
export class PoisonRecordError extends Error {
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'PoisonRecordError';
  }
}

/** A failure worth retrying (the message is retried until its attempts run out). */
export class RetryableApplyError extends Error {
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'RetryableApplyError';
  }
}

/** Error names DynamoDB returns for a write that will never succeed as it is. */
const POISON_NAMES = new Set([
  'ValidationException',
  'SerializationException',
  'MalformedEnvelopeError',
  'PoisonRecordError',
  'ItemCollectionSizeLimitExceededException',
]);

/** Whether an error is poison (retrying the same record cannot help). */
export function isPoison(err: unknown): boolean {
  if (err instanceof PoisonRecordError) return true;
  const name = (err as { name?: string } | null)?.name;
  return name !== undefined && POISON_NAMES.has(name);
}

/** A one-line reason for logs and DLQ attributes: the error's name and message, capped. */
export function reasonOf(err: unknown): string {
  const e = err as { name?: string; message?: string } | null;
  const text = `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`;
  return text.length > 1000 ? `${text.slice(0, 997)}...` : text;
}
