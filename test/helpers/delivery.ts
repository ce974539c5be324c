/**
 * How the property tests deliver envelopes: at least once (every envelope plus picked duplicates), split
 * into batches of the given sizes (cycled), each batch applied as one message.
 */

/** Every envelope, then the duplicates the picks name (each pick modulo the number of envelopes). */
export function atLeastOnce<E>(envelopes: readonly E[], duplicatePicks: readonly number[]): E[] {
  return [...envelopes, ...duplicatePicks.map((p) => envelopes[p % envelopes.length]!)];
}

/** Splits deliveries into consecutive batches whose sizes cycle through `batchSizes`. */
export function inBatches<E>(deliveries: readonly E[], batchSizes: readonly number[]): E[][] {
  const batches: E[][] = [];
  for (let i = 0, b = 0; i < deliveries.length; b++) {
    const size = batchSizes[b % batchSizes.length]!;
    batches.push(deliveries.slice(i, i + size));
    i += size;
  }
  return batches;
}

/** What a scheduler of fast-check's gives the helper below (its `schedule` and `waitFor`). */
interface Scheduler {
  schedule<T>(task: Promise<T>): Promise<T>;
  waitFor<T>(task: Promise<T>): Promise<T>;
}

/**
 * Applies the batches concurrently, each started when the scheduler picks it (and every store call inside
 * interleaved the same way), and returns every batch's result once all are done.
 */
export async function applyInterleaved<B, R>(
  s: Scheduler,
  batches: readonly B[],
  apply: (batch: B) => Promise<R>,
): Promise<R[]> {
  const running = batches.map((batch) => s.schedule(Promise.resolve(batch)).then(apply));
  await s.waitFor(Promise.all(running));
  return Promise.all(running);
}
