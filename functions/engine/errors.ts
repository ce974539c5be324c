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

/** Network error codes of Node and the SDK that mean no response came: the request may be retried. */
const NO_RESPONSE: Record<string, string> = {
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ECONNREFUSED: 'connection refused',
  ECONNABORTED: 'connection aborted',
  ETIMEDOUT: 'timeout',
  ESOCKETTIMEDOUT: 'timeout',
  EAI_AGAIN: 'name lookup failed',
  ENOTFOUND: 'name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** Error names that mean the service is unavailable or throttling, whatever the service. */
const TRANSIENT_NAMES = new Set([
  'DeadlineExceededError',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'SlowDown',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
  'InternalError',
  'InternalFailure',
  'TransactionInProgressException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'AccessDenied',
  'AccessDeniedException',
  'ExpiredToken',
  'ExpiredTokenException',
  'CredentialsProviderError',
  'UnknownError',
  'Unknown',
  'CircuitOpenError',
]);

function codeOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  const code = e?.code ?? e?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Whether a failure is about the service or the network rather than the data: throttling, 5xx, timeouts, no
 * response, access denied (a role may still be propagating). Such failures are retried for as long as the
 * pair's `retryFor` allows (engine/retry.ts).
 */
export function isTransient(err: unknown): boolean {
  const code = codeOf(err);
  if (code !== undefined && code in NO_RESPONSE) return true;
  const status = statusOf(err);
  if (status !== undefined && (status >= 500 || status === 429 || status === 403)) return true;
  const name = nameOf(err);
  return name !== undefined && TRANSIENT_NAMES.has(name);
}

/**
 * A one-line account of an error for logs and DLQ reasons: the error code and HTTP status the service sent,
 * or what happened where no response came ("connection reset", "timeout"), and the message, capped. Never
 * the SDK's bare "Unknown: UnknownError", which says nothing of what failed.
 */
export function errorSummary(err: unknown): string {
  const code = codeOf(err);
  const status = statusOf(err);
  const name = nameOf(err);
  const message = (err as { message?: string } | null)?.message ?? String(err);
  let text: string;
  if (code !== undefined && code in NO_RESPONSE) text = `${NO_RESPONSE[code]} (${code}): no response`;
  else if (name === 'TimeoutError') text = `timeout: ${message}`;
  else if (name === undefined || name === 'UnknownError' || name === 'Unknown' || name === 'Error') {
    text = status !== undefined ? `HTTP ${status} without an error code` : `${name ?? 'Error'}: ${message}`;
    if (status !== undefined && message && message !== 'UnknownError' && message !== 'Unknown') text += `: ${message}`;
  } else text = `${name}${status !== undefined ? ` (HTTP ${status})` : ''}: ${message}`;
  return text.length > 900 ? `${text.slice(0, 897)}...` : text;
}
