/** What an SDK call came to: `ok`, or the error's HTTP status and name (e.g. `412 PreconditionFailed`). */
export function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (err: { name?: string; $metadata?: { httpStatusCode?: number } }) => `${err.$metadata?.httpStatusCode} ${err.name}`,
  );
}
