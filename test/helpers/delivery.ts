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
