/**
 * Error classes and the retryable/poison split, whatever the pair type.
 *
 * Retryable errors (throttling, 5xx, network, missing permissions that an operator can fix) are thrown and
 * the message is retried; poison errors (malformed envelopes, writes a target rejects for what they are)
 * go straight to the DLQ with their reason, because retrying them cannot succeed. Each pair type names the
 * errors its service returns for a request that can never succeed ({@link poisonTest}).
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

/**
 * Error names that are poison for every pair type: the engine's own, and what the state table (DynamoDB, for
 * every pair type) answers to a request that can never succeed.
 */
const ENGINE_POISON_NAMES = [
  'MalformedEnvelopeError',
  'PoisonRecordError',
  'ValidationException',
  'SerializationException',
];

/** The name of an error, or undefined. */
export function nameOf(err: unknown): string | undefined {
  return (err as { name?: string } | null)?.name;
}

/** The HTTP status an AWS SDK error carries, or undefined. */
export function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/** Whether an error is poison for every pair type (see ENGINE_POISON_NAMES). */
export function isPoison(err: unknown): boolean {
  if (err instanceof PoisonRecordError) return true;
  const name = nameOf(err);
  return name !== undefined && ENGINE_POISON_NAMES.includes(name);
}

/** A poison test for one pair type: the engine's poison, plus these error names of its service. */
export function poisonTest(serviceNames: readonly string[]): (err: unknown) => boolean {
  const names = new Set(serviceNames);
  return (err) => {
    if (isPoison(err)) return true;
    const name = nameOf(err);
    return name !== undefined && names.has(name);
  };
}

/** A one-line reason for logs and DLQ attributes: the error's name and message, capped. */
export function reasonOf(err: unknown): string {
  const e = err as { name?: string; message?: string } | null;
  const text = `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`;
  return text.length > 1000 ? `${text.slice(0, 997)}...` : text;
}
