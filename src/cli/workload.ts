/**
 * What every pair type's demo workload stands on: a seeded PRNG (so a workload can be replayed) and a steady
 * offered rate. The workloads themselves are the pair types' (pair-types/<type>-workload.ts).
 */

/** A small seeded PRNG (mulberry32), so a workload can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs ops at a steady offered rate (ops/s) with at most `maxInFlight` writes outstanding; calls
 * `onDone` after each. Returns the achieved duration (ms).
 */
export async function runAtRate<Op>(
  ops: readonly Op[],
  rate: number,
  send: (op: Op) => Promise<void>,
  opts: { maxInFlight?: number; onDone?: (done: number) => void } = {},
): Promise<number> {
  const start = Date.now();
  const inFlight = new Set<Promise<void>>();
  let done = 0;
  for (let i = 0; i < ops.length; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    while (inFlight.size >= (opts.maxInFlight ?? 16)) await Promise.race(inFlight);
    const p: Promise<void> = send(ops[i]!).then(() => {
      inFlight.delete(p);
      opts.onDone?.(++done);
    });
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  return Date.now() - start;
}
