/**
 * The invocation's own deadline, for the functions that apply envelopes (DynamoDB apply, S3 copy).
 *
 * Lambda ends an invocation at its timeout, whatever it is doing: a batch whose writes hang on a slow or
 * unreachable target would be cut off mid-way, its messages left to come back after the queue's visibility
 * timeout (six function timeouts), and the next invocation would find the same target just as slow. Instead the
 * apply handler sets a deadline a margin before Lambda's ({@link deadlineFor}) and every target, source and state
 * table client races it ({@link withInvocationDeadline}): a request still unanswered at the deadline, or sent
 * after it, fails with {@link DeadlineExceededError}, a transient error. Its envelopes then fail like any other,
 * are re-sent with a short backoff (engine/queue.ts), and the invocation returns its partial batch response in
 * time. A request cut off this way may still land on the target: every write is version-guarded, so its retry
 * finds it applied (rule 3). The SQS client is not raced: re-sends and dead letters go out after the deadline,
 * within the margin.
 *
 * One deadline per container: Lambda runs one invocation at a time in it (so does the local runtime's worker).
 */

/** A request abandoned because the invocation's deadline passed: transient, never the target's fault. */
export class DeadlineExceededError extends Error {
  constructor(message = 'the invocation reached its deadline before the request was answered') {
    super(message);
    this.name = 'DeadlineExceededError';
  }
}

/** Commands that clean up after a failure and must run even past the deadline. */
const EXEMPT = new Set(['AbortMultipartUploadCommand']);

let deadlineAt = Number.POSITIVE_INFINITY;

/** Sets the deadline (epoch ms) of the invocation now running; `undefined` clears it. */
export function setInvocationDeadline(atMs: number | undefined): void {
  deadlineAt = atMs ?? Number.POSITIVE_INFINITY;
}

/**
 * The deadline of an invocation with `remainingMs` left: a tenth of it before Lambda's, at least 1 s and at most
 * 5 s, which leaves the re-sends and the partial batch response the time they need.
 */
export function deadlineFor(nowMs: number, remainingMs: number): number {
  const margin = Math.min(5_000, Math.max(1_000, remainingMs / 10));
  return nowMs + remainingMs - margin;
}

/** Any SDK v3 client, as far as its middleware goes. */
interface MiddlewareClient {
  readonly middlewareStack: {
    add(
      middleware: (
        next: (args: unknown) => Promise<unknown>,
        context: { readonly commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: { step: 'initialize'; name: string; priority: 'high' },
    ): void;
  };
}

/**
 * Makes every request of `client` (its retries included) race the invocation's deadline: past it, a request
 * fails at once, and one still unanswered when it passes fails then. Returns the client.
 */
export function withInvocationDeadline<C>(client: C): C {
  (client as unknown as MiddlewareClient).middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== undefined && EXEMPT.has(context.commandName)) return next(args);
      const left = deadlineAt - Date.now();
      if (left === Number.POSITIVE_INFINITY) return next(args);
      const what = context.commandName?.replace(/Command$/, '') ?? 'request';
      if (left <= 0) throw new DeadlineExceededError(`${what} not sent: the invocation reached its deadline`);
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new DeadlineExceededError(`${what} abandoned: the invocation reached its deadline`)),
          left,
        );
      });
      try {
        return await Promise.race([next(args), expired]);
      } finally {
        clearTimeout(timer);
      }
    },
    { step: 'initialize', name: 'replicatorInvocationDeadline', priority: 'high' },
  );
  return client;
}
