/**
 * DynamoDB benchmark (`npm run bench -- dynamodb`): the capture and apply cores in-process, then the whole
 * path on the local cloud, each beside a baseline measured in the same run. Prints a table per part and
 * writes every figure to bench/results/dynamodb.json.
 *
 * Settings (environment variables): BENCH_RATES (steady offered rates, writes/s, one phase each, default
 * 10,50,100), BENCH_SECONDS (each steady phase's length, default 30), BENCH_BURST (burst writes, default 5000), BENCH_CORE_RECORDS (records
 * through the cores, default 20000), BENCH_RAW_ITEMS (items per raw PutItem baseline run, default 2000),
 * BENCH_DRAIN_TIMEOUT (s a phase may take to converge after its last write, default 600),
 * BENCH_CORE_REPEATS (timed passes per core measurement, default 3), BENCH_BATCH_WINDOW (the pair's
 * options.batchWindowSeconds for the run; default: the config's), BENCH_SKIP_LOCAL=1 (in-process part
 * only), BENCH_VERBOSE=1 (cdk and runtime log lines).
 */
import { join } from 'node:path';
import { ms, renderTable } from '../src/cli/table';
import { envFlag, envNumber, num, ratio, runEnvironment, writeResults } from './common';
import { type CoreResult, runCoreBenchmark } from './dynamodb-core';
import { type LocalResult, type LocalSettings, runLocalBenchmark } from './dynamodb-local';

const MOTO_NOTE =
  "Note: moto's SQS slows with queue depth (each SendMessageBatch/ReceiveMessage walks and copies the queue), " +
  'and moto is bound by requests, not bytes: local items/s are a property of moto, not of Replicator. ' +
  'The portable figure is AWS requests per item.';

/** A rounded number for a right-aligned table cell, `-` when not finite. */
function int(v: number): number | string {
  return Number.isFinite(v) ? Math.round(v) : '-';
}

function printCore(r: CoreResult, print: (l: string) => void): void {
  const s = r.settings;
  print('');
  print(
    `In-process cores, one CPU core, no network: ${num(s.records)} stream records (avg ${num(r.recordBytesAvg)} B, ` +
      `envelopes avg ${num(r.envelopeBytesAvg)} B), capture batches of ${s.captureBatchSize}, ` +
      `apply batches of ${s.applyBatchEnvelopes} envelopes to ${s.targets} targets; median of ${s.repeats} passes`,
  );
  print(
    renderTable(
      ['stage', 'records/s', 'vs baseline', 'detail'],
      [
        [
          r.capture.name,
          Math.round(r.capture.recordsPerSecond),
          ratio(r.ratios.capture),
          `${r.capture.envelopesPerMessage.toFixed(1)} envelopes/message, ${r.capture.sqsRequestsPer1000Records.toFixed(1)} SQS requests per 1,000 records`,
        ],
        [
          r.apply.name,
          Math.round(r.apply.recordsPerSecond),
          ratio(r.ratios.apply),
          `${num(r.apply.targetWrites)} target writes (newest per key in each batch)`,
        ],
        [
          r.parseAndApply.name,
          Math.round(r.parseAndApply.recordsPerSecond),
          ratio(r.ratios.parseAndApply),
          'what the apply handler does per SQS batch',
        ],
        [
          r.baseline.name,
          Math.round(r.baseline.recordsPerSecond),
          ratio(1),
          'floor of any pipeline that serializes each record',
        ],
      ],
    ),
  );
}

function printLocal(r: LocalResult, print: (l: string) => void): void {
  print('');
  print(
    `Local cloud (moto), pair "bench" us-east-1 → 2 targets; local cloud up in ${r.deploySeconds.toFixed(0)} s. ` +
      'Rates: target applies/s = (ReplicatedItems + StaleSkipped over both targets) ÷ (last apply − first write).',
  );
  print(
    renderTable(
      [
        'phase',
        'source writes',
        'write/s',
        'target applies',
        'applies/s',
        'writes repl./s',
        'converge',
        'lag p50',
        'lag p99',
        'deliv. p99',
        'peak queue',
        'req/write',
        'req/apply',
        'status',
      ],
      r.phases.map((p) => [
        p.phase,
        p.sourceWrites,
        int(p.writeRate),
        p.targetApplies,
        int(p.targetAppliesPerSecond),
        int(p.sourceWritesReplicatedPerSecond),
        p.timeToConvergeSeconds === null ? '-' : `${p.timeToConvergeSeconds.toFixed(1)} s`,
        ms(p.lagP50Ms),
        ms(p.lagP99Ms),
        ms(p.deliveryP99Ms),
        p.peakQueueDepth,
        p.requestsPerSourceWrite.toFixed(2),
        p.requestsPerTargetApply.toFixed(2),
        p.converged && p.dlqDepth === 0 ? 'converged' : `NOT CONVERGED (dlq ${p.dlqDepth})`,
      ]),
    ),
  );
  print('');
  print("Where a change waits, hop by hop (p50 / p99 per record, ms; the local runtime's pollers, as Lambda's):");
  const hopNames = [
    'capture stream',
    'capture window',
    'capture invoke',
    'apply queue',
    'apply window',
    'apply invoke',
  ];
  print(
    renderTable(
      ['phase', ...hopNames, 'sum of p50', 'lag p50'],
      r.phases.map((p) => {
        const cell = (name: string) => {
          const h = p.hops.find((x) => `${x.stage} ${x.hop}` === name);
          return h ? `${Math.round(h.p50)} / ${Math.round(h.p99)}` : '-';
        };
        const sum = p.hops.reduce((a, h) => a + h.p50, 0);
        return [p.phase, ...hopNames.map(cell), Math.round(sum), Math.round(p.lagP50Ms)];
      }),
    ),
  );
  print(
    '  stream: write → read by the poller (polls 4×/s when idle); window: read → invoked (the batching window);' +
      ' invoke: the function run; queue: SQS SentTimestamp → received. lag p50 is ReplicationLatency (stream time' +
      ' in whole seconds, so it reads ~0.5 s high on average).',
  );
  for (const p of r.phases) {
    const top = Object.entries(p.requestCounts)
      .slice(0, 8)
      .map(([k, n]) => `${k} ${(n / Math.max(1, p.sourceWrites)).toFixed(2)}`);
    print(`  ${p.phase} requests per source write: ${top.join(', ')}`);
    print(
      `  ${p.phase}: moto carried ${int(p.motoRequestsPerSecond)} requests/s (workload writes + Replicator's) until convergence`,
    );
  }
  print('');
  print(
    renderTable(
      ['baseline: conditional PutItem straight into moto', 'items', 'items/s'],
      r.baseline.map((b) => [`${b.callers} caller${b.callers > 1 ? 's' : ''}`, b.items, int(b.itemsPerSecond)]),
    ),
  );
  print(
    `  replication ÷ raw PutItem (target applies/s ÷ items/s): ${r.ratios
      .map((x) => `${x.phase} vs ${x.vsCallers} caller${x.vsCallers > 1 ? 's' : ''} ${ratio(x.ratio)}`)
      .join(', ')}`,
  );
  print('  (steady phase: bounded by the offered rate, not a capacity figure; the burst phase is)');
  print('  lag = ReplicationLatency (source write → applied): stream timestamps have 1 s resolution, so it reads');
  print('  up to 1 s high; deliv. = DeliveryLatency (capture → applied, ms resolution).');
  print(MOTO_NOTE);
}

/** BENCH_BATCH_WINDOW: whole seconds, 0 included (envNumber takes positive numbers only). */
function batchWindow(): number {
  const text = process.env.BENCH_BATCH_WINDOW ?? '';
  const n = Number(text);
  if (text === '' || !Number.isInteger(n) || n < 0 || n > 300) {
    throw new Error(`BENCH_BATCH_WINDOW must be whole seconds from 0 to 300 (given "${text}")`);
  }
  return n;
}

/** Runs the DynamoDB benchmark. */
export async function runDynamoBenchmark(print: (line: string) => void = (l) => console.log(l)): Promise<void> {
  const local: LocalSettings = {
    configPath: join(__dirname, 'bench.config.json'),
    ...(process.env.BENCH_BATCH_WINDOW !== undefined ? { batchWindowSeconds: batchWindow() } : {}),
    rates: (process.env.BENCH_RATES ?? '10,50,100').split(',').map((r) => {
      const n = Number(r);
      if (!(n > 0)) throw new Error(`BENCH_RATES must be writes/s separated by commas, e.g. 10,50,100 (given ${r})`);
      return n;
    }),
    seconds: envNumber('BENCH_SECONDS', 30),
    burst: Math.round(envNumber('BENCH_BURST', 5000)),
    burstInFlight: 16,
    rawItems: Math.round(envNumber('BENCH_RAW_ITEMS', 2000)),
    rawCallers: 8,
    drainTimeoutSeconds: envNumber('BENCH_DRAIN_TIMEOUT', 600),
  };
  const coreRecords = Math.round(envNumber('BENCH_CORE_RECORDS', 20_000));
  const coreRepeats = Math.round(envNumber('BENCH_CORE_REPEATS', 3));
  const skipLocal = envFlag('BENCH_SKIP_LOCAL');
  const results: Record<string, unknown> = {
    benchmark: 'dynamodb',
    ...runEnvironment(),
    settings: { ...local, coreRecords, coreRepeats, skipLocal },
    notes: [
      MOTO_NOTE,
      'Local rates: targetAppliesPerSecond = (ReplicatedItems + StaleSkipped summed over targets) ÷ (last apply − first source write); timeToConvergeSeconds = first write → queue empty and every target verified equal (1 s polling and the verification scan included).',
      'Requests are those the runtime and the handlers made through the counting proxy from phase start to convergence (idle polling included); workload writes, queue sampling, verification and the baseline go straight to moto and are not counted.',
      'Lag is ReplicationLatency (source write → applied) whose source time comes from the stream record with 1 s resolution; delivery is DeliveryLatency (capture → applied).',
    ],
  };
  const save = () => print(`\nresults written to ${writeResults('dynamodb', results)}`);

  print(`settings: ${JSON.stringify(results.settings)}`);
  print(`running the in-process cores over ${coreRecords} records ...`);
  const core = await runCoreBenchmark({ records: coreRecords, repeats: coreRepeats });
  results.core = core;
  printCore(core, print);

  if (skipLocal) {
    print('\nBENCH_SKIP_LOCAL is set: local cloud part skipped');
    save();
    return;
  }
  print('');
  try {
    const localResult = await runLocalBenchmark(local, print);
    results.local = localResult;
    printLocal(localResult, print);
  } catch (err) {
    results.localError = err instanceof Error ? err.message : String(err);
    save();
    throw err;
  }
  save();
}
