/**
 * `npm run bench [-- NAME...]`: runs the named benchmarks, or every one when none is named.
 * Each benchmark prints its tables and writes `bench/results/<name>.json`.
 */

/** A benchmark: a name and a function that runs it (loaded lazily, so one benchmark's imports stay its own). */
const BENCHMARKS: Record<string, { describe: string; run: () => Promise<void> }> = {
  dynamodb: {
    describe: 'DynamoDB replication on the local cloud (moto) and the capture/apply cores in-process',
    run: async () => (await import('./dynamodb')).runDynamoBenchmark(),
  },
  s3: {
    describe:
      "S3 copies on the local cloud: Replicator's copier vs aws s3 sync and rclone; a large object's multipart copy",
    run: async () => (await import('./s3')).runS3Benchmark(),
  },
  backfill: {
    describe:
      'Deployed backfill jobs of 50,000 day-one items and 5,000 objects on the local cloud, each interrupted by a function timeout, vs a raw Scan and listing',
    run: async () => (await import('./backfill')).runBackfillBenchmark(),
  },
  reconcile: {
    describe: 'DynamoDB reconcile of 50,000 items on the local cloud (moto) vs a raw parallel Scan of the same tables',
    run: async () => (await import('./reconcile')).runReconcileBenchmark(),
  },
  cost: {
    describe:
      'No cloud: $ per million replicated items and per 1,000 objects / per GB from the measured request counts and list prices, beside Global Tables and S3 Replication',
    run: async () => (await import('./cost')).runCostBenchmark(),
  },
  bundles: {
    describe:
      "No cloud: each handler bundled as the stacks bundle it, its bytes and module init vs node -e 0, before and after issue 13's trim",
    run: async () => (await import('./bundles')).runBundlesBenchmark(),
  },
};

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  if (args.includes('--help') || args.includes('-h')) {
    console.log('usage: npm run bench [-- NAME...]\n\nbenchmarks:');
    for (const [name, b] of Object.entries(BENCHMARKS)) console.log(`  ${name.padEnd(12)} ${b.describe}`);
    return;
  }
  const unknown = args.filter((a) => !(a in BENCHMARKS));
  if (unknown.length > 0) {
    throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
  }
  const names = args.length > 0 ? args : Object.keys(BENCHMARKS);
  for (const name of names) {
    console.log(`\n=== benchmark: ${name} ===`);
    await BENCHMARKS[name]!.run();
  }
}

main().then(
  // Clients and timers may keep the event loop alive after the work is done.
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
