/**
 * Reconcile benchmark (`npm run bench -- reconcile`), on one moto this run starts and stops: a source table
 * (us-east-1) and a target table (eu-west-1) seeded with the same items, then a known set of differences
 * made on the target (missing, different and extra items). In the same run, on the same tables:
 * - baseline: a raw parallel Scan of both tables (same segments, page size and concurrency as reconcile),
 *   paginated to the end, nothing else done with the items;
 * - reconcile: runReconcile over the pair, driven in slices with an in-memory checkpoint store as the CLI
 *   drives it (`replicator reconcile`), no read budget, repair off. Its counts must equal the differences
 *   made, exactly, or the benchmark fails.
 * Each is run `BENCH_RECONCILE_REPEATS` times, interleaved, and the fastest run is kept. AWS requests are
 * counted by a middleware on the benchmark's own SDK clients (every attempt, retries included).
 *
 * Settings (environment variables): BENCH_RECONCILE_ITEMS (items in the source table, default 50000),
 * BENCH_RECONCILE_DIFFS (differences made per kind, default 10), BENCH_RECONCILE_SEGMENTS (parallel scan
 * segments per table, default 4), BENCH_RECONCILE_PAGE (items per scan page, default 500, as reconcile's
 * default), BENCH_RECONCILE_SLICE_MS (length of one runReconcile slice, default 2000, as the CLI's),
 * BENCH_RECONCILE_REPEATS (runs of each measurement, default 2), BENCH_RECONCILE_SEED_CALLERS (concurrent
 * BatchWriteItem callers per table while seeding, default 8).
 */
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  ScanCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { fromSdkMap } from '../functions/dynamodb/attributes';
import { itemBytes } from '../functions/dynamodb/checksum';
import { DynamoTableReader } from '../functions/dynamodb/reader';
import { type ReconcileDeps, runReconcile } from '../functions/dynamodb/reconcile';
import type { CheckpointStore, ReconcileCheckpoint } from '../functions/engine/checkpoint';
import { mapLimit } from '../functions/engine/concurrency';
import type { RunReport } from '../functions/engine/reconcile-run';
import { renderTable } from '../src/cli/table';
import { prng } from '../src/cli/workload';
import { type MotoServer, startMoto } from '../src/local/moto';
import { envNumber, nowMs, num, perSecond, ratio, runEnvironment, writeResults } from './common';

const SOURCE_REGION = 'us-east-1';
const TARGET_REGION = 'eu-west-1';
const TABLE = 'orders';
const PAIR = 'bench-reconcile';
const TARGET_ID = `${TARGET_REGION}/${TABLE}`;
const KEY_NAMES = ['pk', 'sk'] as const;
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

const MOTO_NOTE =
  'Note: moto is bound by requests and by its own Python, not by bytes: every Scan page sorts and walks the ' +
  "whole table up to the page's end, and deep-copies each item it returns (slow for nested lists and maps), " +
  'so a page costs more the bigger the table. Local items/s are a property of moto, not of Replicator: read ' +
  'them as ratios to the raw Scan measured in the same run; the portable figure is AWS requests per item.';

/** Settings of the benchmark. */
export interface ReconcileBenchSettings {
  /** Items in the source table. */
  readonly items: number;
  /** Differences made on the target per kind (missing, different, extra). */
  readonly diffsPerKind: number;
  /** Parallel scan segments per table (reconcile's `totalSegments`, and its concurrency). */
  readonly segments: number;
  /** Items per scan page (reconcile's `pageSize`). */
  readonly pageSize: number;
  /** Length of one runReconcile slice, ms. */
  readonly sliceMs: number;
  /** Runs of each measurement; the fastest is kept. */
  readonly repeats: number;
  /** Concurrent BatchWriteItem callers per table while seeding. */
  readonly seedCallers: number;
}

/** One timed pass over the tables. */
export interface PassResult {
  readonly run: number;
  readonly seconds: number;
  /** Raw: items scanned (both tables). Reconcile: items checked (report.checked). */
  readonly items: number;
  readonly itemsPerSecond: number;
  readonly requests: number;
  readonly requestsPerItem: number;
  readonly requestCounts: Record<string, number>;
}

/** A raw scan pass, with what each table returned. */
export interface RawPassResult extends PassResult {
  readonly sourceItems: number;
  readonly targetItems: number;
  readonly pages: number;
}

/** A reconcile pass, with its report (finding samples left out). */
export interface ReconcilePassResult extends PassResult {
  readonly slices: number;
  readonly report: Omit<RunReport, 'targets'> & { targets: Omit<RunReport['targets'][number], 'samples'>[] };
}

/** A reconcile run found something other than the differences that were made. */
export class ReconcileMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReconcileMismatchError';
  }
}

/** Counts SDK requests by `dynamodb:Action`, every attempt (the middleware sits below the retry step). */
class RequestCounter {
  private readonly counts = new Map<string, number>();

  /** Adds the counting middleware to a client and returns it. */
  attach(client: DynamoDBClient): DynamoDBClient {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const action = (context.commandName ?? 'Unknown').replace(/Command$/, '');
        this.counts.set(`dynamodb:${action}`, (this.counts.get(`dynamodb:${action}`) ?? 0) + 1);
        return next(args);
      },
      { step: 'deserialize', name: 'benchRequestCounter' },
    );
    return client;
  }

  reset(): void {
    this.counts.clear();
  }

  total(): number {
    return [...this.counts.values()].reduce((a, b) => a + b, 0);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort((a, b) => b[1] - a[1]));
  }
}

/** A checkpoint store in memory, as the CLI's. */
class MemoryCheckpointStore implements CheckpointStore {
  private saved?: ReconcileCheckpoint;
  async load(): Promise<ReconcileCheckpoint | undefined> {
    return this.saved;
  }
  async save(cp: ReconcileCheckpoint): Promise<void> {
    this.saved = cp;
  }
}

type Item = Record<string, AttributeValue>;

const STATUSES = ['PENDING', 'PAID', 'PACKED', 'SHIPPED', 'DELIVERED', 'RETURNED'];
const CITIES: [string, string, string][] = [
  ['Dublin', 'IE', 'D02'],
  ['Lisbon', 'PT', '1100-148'],
  ['Seattle', 'US', '98101'],
  ['Osaka', 'JP', '530-0001'],
  ['Lyon', 'FR', '69002'],
  ['Leipzig', 'DE', '04109'],
];
const SKUS = ['TEA-ASSAM-250', 'MUG-STONE-BLU', 'KETTLE-1L-STL', 'FILTER-PAPER-100', 'SPOON-WOOD-2', 'TIN-LOOSE-XL'];
const TAGS = ['gift', 'express', 'first-order', 'subscription', 'b2b', 'fragile'];

/**
 * An order item of ~300–500 bytes: partition key the customer (so items spread over the segments by key
 * hash), sort key the order; lines, a shipping address, tags on some.
 */
function makeOrder(i: number, next: () => number): Item {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  // About five orders per customer.
  const customer = `customer#${String(Math.floor(i / 5)).padStart(6, '0')}`;
  const created = new Date(Date.UTC(2025, 0, 1) + Math.floor(next() * 300 * 86_400_000));
  const lines = Array.from({ length: 1 + Math.floor(next() * 2) }, () => ({
    M: {
      sku: { S: pick(SKUS) },
      qty: { N: String(1 + Math.floor(next() * 4)) },
      unitPrice: { N: (2 + next() * 60).toFixed(2) },
    },
  }));
  const total = lines.reduce((s, l) => s + Number(l.M.qty.N) * Number(l.M.unitPrice.N), 0);
  const [city, country, postcode] = pick(CITIES);
  const item: Item = {
    pk: { S: customer },
    sk: { S: `order#${created.toISOString().slice(0, 10)}#${String(i).padStart(8, '0')}` },
    status: { S: pick(STATUSES) },
    currency: { S: country === 'US' ? 'USD' : country === 'JP' ? 'JPY' : 'EUR' },
    total: { N: total.toFixed(2) },
    createdAt: { S: created.toISOString() },
    updatedAt: { S: new Date(created.getTime() + Math.floor(next() * 86_400_000)).toISOString() },
    lines: { L: lines },
    shipTo: {
      M: {
        street: { S: `${1 + Math.floor(next() * 200)} ${pick(['Harbour', 'Station', 'Mill', 'Park'])} Road` },
        city: { S: city },
        postcode: { S: postcode },
        country: { S: country },
      },
    },
    version: { N: String(1 + Math.floor(next() * 5)) },
  };
  if (next() < 0.4) item.tags = { SS: [...new Set([pick(TAGS), pick(TAGS)])] };
  if (next() < 0.2) item.note = { S: 'Leave it with the neighbour.' };
  return item;
}

/** The source items, the target items (with the differences made) and what reconcile must find. */
interface Dataset {
  readonly source: Item[];
  readonly target: Item[];
  readonly missing: number;
  readonly different: number;
  readonly extra: number;
  readonly avgItemBytes: number;
}

function makeDataset(items: number, perKind: number): Dataset {
  if (items < 3 * perKind) throw new Error(`BENCH_RECONCILE_ITEMS must be at least 3 × diffs (given ${items})`);
  const next = prng(20_251_125);
  const source = Array.from({ length: items }, (_, i) => makeOrder(i, next));
  // Distinct indices spread over the key space: the first `perKind` go missing, the next differ.
  const chosen = new Set<number>();
  while (chosen.size < 2 * perKind) chosen.add(Math.floor(next() * items));
  const picks = [...chosen];
  const missing = new Set(picks.slice(0, perKind));
  const different = new Set(picks.slice(perKind));
  const target: Item[] = [];
  source.forEach((item, i) => {
    if (missing.has(i)) return;
    if (different.has(i)) {
      // A lost update: the target kept an older status and total.
      target.push({ ...item, status: { S: 'PENDING-STALE' }, total: { N: '0.00' } });
      return;
    }
    target.push(item);
  });
  for (let i = 0; i < perKind; i++) target.push(makeOrder(items + i, next));
  const avgItemBytes = source.reduce((n, item) => n + itemBytes(fromSdkMap(item)), 0) / Math.max(1, items);
  return { source, target, missing: perKind, different: perKind, extra: perKind, avgItemBytes };
}

function client(endpoint: string, region: string, counter?: RequestCounter): DynamoDBClient {
  const c = new DynamoDBClient({ region, endpoint, maxAttempts: 3, credentials: CREDENTIALS });
  return counter ? counter.attach(c) : c;
}

async function createTable(c: DynamoDBClient): Promise<void> {
  await c.send(
    new CreateTableCommand({
      TableName: TABLE,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await waitUntilTableExists({ client: c, maxWaitTime: 60 }, { TableName: TABLE });
}

/** Writes items with BatchWriteItem (25 a call) from `callers` concurrent callers; retries unprocessed items. */
async function seed(c: DynamoDBClient, items: readonly Item[], callers: number): Promise<number> {
  const batches: Item[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  let calls = 0;
  await mapLimit(batches, callers, async (batch) => {
    let pending = batch.map((item) => ({ PutRequest: { Item: item } }));
    for (let round = 0; pending.length > 0; round++) {
      if (round > 8) throw new Error(`BatchWriteItem left ${pending.length} item(s) unprocessed after ${round} rounds`);
      calls++;
      const res = await c.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: pending } }));
      pending = (res.UnprocessedItems?.[TABLE] ?? []) as typeof pending;
    }
  });
  return calls;
}

/** Scans one segment to its end; returns items and pages. */
async function scanSegment(
  c: DynamoDBClient,
  segment: number,
  total: number,
  limit: number,
): Promise<{ items: number; pages: number }> {
  let items = 0;
  let pages = 0;
  let startKey: Item | undefined;
  do {
    const res = await c.send(
      new ScanCommand({
        TableName: TABLE,
        Segment: segment,
        TotalSegments: total,
        Limit: limit,
        ReturnConsumedCapacity: 'TOTAL',
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    items += res.Items?.length ?? 0;
    pages++;
    startKey = res.LastEvaluatedKey;
  } while (startKey !== undefined);
  return { items, pages };
}

interface Clients {
  readonly source: DynamoDBClient;
  readonly target: DynamoDBClient;
  readonly counter: RequestCounter;
}

/** Baseline: every segment of both tables scanned, `segments` at a time (as reconcile schedules them). */
async function rawScan(clients: Clients, s: ReconcileBenchSettings, run: number): Promise<RawPassResult> {
  clients.counter.reset();
  const units = [
    ...Array.from({ length: s.segments }, (_, segment) => ({ side: 'source' as const, segment })),
    ...Array.from({ length: s.segments }, (_, segment) => ({ side: 'target' as const, segment })),
  ];
  let sourceItems = 0;
  let targetItems = 0;
  let pages = 0;
  const t0 = nowMs();
  await mapLimit(units, s.segments, async (u) => {
    const r = await scanSegment(
      u.side === 'source' ? clients.source : clients.target,
      u.segment,
      s.segments,
      s.pageSize,
    );
    if (u.side === 'source') sourceItems += r.items;
    else targetItems += r.items;
    pages += r.pages;
  });
  const elapsed = nowMs() - t0;
  const items = sourceItems + targetItems;
  const requests = clients.counter.total();
  return {
    run,
    seconds: elapsed / 1000,
    items,
    itemsPerSecond: perSecond(items, elapsed),
    requests,
    requestsPerItem: requests / Math.max(1, items),
    requestCounts: clients.counter.snapshot(),
    sourceItems,
    targetItems,
    pages,
  };
}

/** runReconcile over the pair to completion, in slices of `sliceMs`, as `replicator reconcile` runs it. */
async function reconcile(clients: Clients, s: ReconcileBenchSettings, run: number): Promise<ReconcilePassResult> {
  clients.counter.reset();
  const deps: ReconcileDeps = {
    pair: PAIR,
    origin: SOURCE_REGION,
    keyNames: KEY_NAMES,
    source: new DynamoTableReader(clients.source, TABLE),
    targets: [{ id: TARGET_ID, reader: new DynamoTableReader(clients.target, TABLE) }],
    store: new MemoryCheckpointStore(),
    totalSegments: s.segments,
    pageSize: s.pageSize,
    repair: false,
  };
  let slices = 0;
  let report: RunReport;
  const t0 = nowMs();
  for (;;) {
    slices++;
    const r = await runReconcile(deps, { deadlineMs: Date.now() + s.sliceMs });
    report = r.report;
    if (r.complete) break;
  }
  const elapsed = nowMs() - t0;
  const requests = clients.counter.total();
  return {
    run,
    seconds: elapsed / 1000,
    items: report.checked,
    itemsPerSecond: perSecond(report.checked, elapsed),
    requests,
    requestsPerItem: requests / Math.max(1, report.checked),
    requestCounts: clients.counter.snapshot(),
    slices,
    report: { ...report, targets: report.targets.map(({ samples: _samples, ...t }) => t) },
  };
}

/** Throws unless the scan saw every item of both tables. */
function checkRaw(r: RawPassResult, data: Dataset): void {
  if (r.sourceItems !== data.source.length || r.targetItems !== data.target.length) {
    throw new ReconcileMismatchError(
      `raw scan run ${r.run} read ${r.sourceItems} source and ${r.targetItems} target items ` +
        `(expected ${data.source.length} and ${data.target.length})`,
    );
  }
}

/** Throws unless reconcile found exactly the differences that were made, and nothing in flight. */
function checkReconcile(r: ReconcilePassResult, data: Dataset): void {
  const t = r.report.targets.find((x) => x.target === TARGET_ID);
  const expected = {
    matched: data.source.length - data.missing - data.different,
    missing: data.missing,
    different: data.different,
    extra: data.extra,
    inFlight: 0,
    repaired: 0,
  };
  const got = t
    ? {
        matched: t.matched,
        missing: t.missing,
        different: t.different,
        extra: t.extra,
        inFlight: t.inFlight,
        repaired: t.repaired,
      }
    : undefined;
  if (!r.report.complete || JSON.stringify(got) !== JSON.stringify(expected)) {
    throw new ReconcileMismatchError(
      `reconcile run ${r.run} (complete: ${r.report.complete}) found ${JSON.stringify(got)}; ` +
        `the target was made to differ by ${JSON.stringify(expected)}`,
    );
  }
}

function best<T extends PassResult>(runs: readonly T[]): T {
  return runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

function motoVersion(): string {
  // moto_server has no --version; ask the Python that has moto (the pyenv shim's, on these machines).
  const r = spawnSync('python3', ['-c', 'import moto; print(moto.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

function requestsLine(counts: Record<string, number>, items: number): string {
  return Object.entries(counts)
    .map(([k, n]) => `${k} ${num(n)} (${(n / Math.max(1, items)).toFixed(4)}/item)`)
    .join(', ');
}

/** Runs the reconcile benchmark. */
export async function runReconcileBenchmark(print: (line: string) => void = (l) => console.log(l)): Promise<void> {
  const settings: ReconcileBenchSettings = {
    items: Math.round(envNumber('BENCH_RECONCILE_ITEMS', 50_000)),
    diffsPerKind: Math.round(envNumber('BENCH_RECONCILE_DIFFS', 10)),
    segments: Math.round(envNumber('BENCH_RECONCILE_SEGMENTS', 4)),
    pageSize: Math.round(envNumber('BENCH_RECONCILE_PAGE', 500)),
    sliceMs: envNumber('BENCH_RECONCILE_SLICE_MS', 2000),
    repeats: Math.round(envNumber('BENCH_RECONCILE_REPEATS', 2)),
    seedCallers: Math.round(envNumber('BENCH_RECONCILE_SEED_CALLERS', 8)),
  };
  const startedAt = nowMs();
  const results: Record<string, unknown> = {
    benchmark: 'reconcile',
    ...runEnvironment(),
    motoVersion: motoVersion(),
    settings,
    notes: [
      MOTO_NOTE,
      `Tables: ${TABLE} in ${SOURCE_REGION} (source) and ${TARGET_REGION} (target), key pk (S) + sk (S), on one moto_server started by this run.`,
      'Raw scan: every segment of both tables scanned to its end with the same segment count, page size and concurrency (segments at a time, source segments first) as reconcile; items/s = items returned by both tables ÷ wall time.',
      'Reconcile: runReconcile to completion in slices of sliceMs with an in-memory checkpoint store (as `replicator reconcile`), no read budget, repair off; items/s = report.checked ÷ wall time (checked = matched + missing + different + extra, about the source table once).',
      "ratio.itemsPerSecond = reconcile items/s ÷ raw scan items/s as defined above: the raw scan counts each table's items (≈ 2 × items), reconcile counts each compared item once, so reconcile at the speed of the scans alone would show ≈ 0.5. ratio.wallTime = raw scan seconds ÷ reconcile seconds (the same two tables read in both).",
      'Requests are counted by a middleware on the SDK clients of each pass (every attempt, retries included); seeding is not counted. The fastest of the repeats is kept for each measurement; runs are interleaved (raw, reconcile, raw, ...).',
    ],
  };
  const save = () => print(`\nresults written to ${writeResults('reconcile', results)}`);
  print(`settings: ${JSON.stringify(settings)}`);

  const motoLog = join(tmpdir(), `bench-reconcile-moto-${process.pid}.log`);
  let moto: MotoServer | undefined;
  try {
    const t0 = nowMs();
    const data = makeDataset(settings.items, settings.diffsPerKind);
    print(
      `generated ${num(data.source.length)} source / ${num(data.target.length)} target items ` +
        `(avg ${num(data.avgItemBytes)} B) in ${((nowMs() - t0) / 1000).toFixed(1)} s`,
    );
    moto = await startMoto({ logFile: motoLog });
    print(`moto_server pid ${moto.pid} on ${moto.endpoint} (log ${motoLog})`);
    results.moto = { pid: moto.pid };

    const counter = new RequestCounter();
    const clients: Clients = {
      source: client(moto.endpoint, SOURCE_REGION, counter),
      target: client(moto.endpoint, TARGET_REGION, counter),
      counter,
    };
    await Promise.all([createTable(clients.source), createTable(clients.target)]);
    print(`seeding both tables with BatchWriteItem, ${settings.seedCallers} callers per table ...`);
    const s0 = nowMs();
    const seedClients = [client(moto.endpoint, SOURCE_REGION), client(moto.endpoint, TARGET_REGION)] as const;
    const [sourceCalls, targetCalls] = await Promise.all([
      seed(seedClients[0], data.source, settings.seedCallers),
      seed(seedClients[1], data.target, settings.seedCallers),
    ]);
    const seedMs = nowMs() - s0;
    const seeded = data.source.length + data.target.length;
    results.seed = {
      sourceItems: data.source.length,
      targetItems: data.target.length,
      avgItemBytes: data.avgItemBytes,
      batchWriteCalls: sourceCalls + targetCalls,
      seconds: seedMs / 1000,
      itemsPerSecond: perSecond(seeded, seedMs),
    };
    results.injected = { missing: data.missing, different: data.different, extra: data.extra };
    print(
      `seeded ${num(seeded)} items in ${(seedMs / 1000).toFixed(1)} s (${num(perSecond(seeded, seedMs))} items/s, ` +
        `${num(sourceCalls + targetCalls)} BatchWriteItem calls); target made to differ by ` +
        `${data.missing} missing, ${data.different} different, ${data.extra} extra`,
    );

    const raws: RawPassResult[] = [];
    const recs: ReconcilePassResult[] = [];
    for (let run = 1; run <= settings.repeats; run++) {
      const raw = await rawScan(clients, settings, run);
      checkRaw(raw, data);
      raws.push(raw);
      print(
        `  run ${run}: raw scan      ${num(raw.items)} items in ${raw.seconds.toFixed(1)} s ` +
          `(${num(raw.itemsPerSecond)} items/s, ${num(raw.requests)} requests)`,
      );
      const rec = await reconcile(clients, settings, run);
      recs.push(rec);
      print(
        `  run ${run}: reconcile     ${num(rec.items)} items checked in ${rec.seconds.toFixed(1)} s ` +
          `(${num(rec.itemsPerSecond)} items/s, ${num(rec.requests)} requests, ${rec.slices} slices)`,
      );
      checkReconcile(rec, data);
      // Written after every run, so a long run that is stopped early still leaves its figures.
      results.raw = { runs: raws };
      results.reconcile = { runs: recs };
      writeResults('reconcile', results);
    }
    const raw = best(raws);
    const rec = best(recs);
    const ratios = {
      itemsPerSecond: rec.itemsPerSecond / raw.itemsPerSecond,
      wallTime: raw.seconds / rec.seconds,
      requestsPerItem: rec.requestsPerItem / raw.requestsPerItem,
    };
    results.raw = { best: raw, runs: raws };
    results.reconcile = { best: rec, runs: recs };
    results.ratio = ratios;
    results.totalSeconds = (nowMs() - startedAt) / 1000;

    const t = rec.report.targets[0]!;
    print('');
    print(
      `Reconcile vs raw parallel Scan, ${num(settings.items)} items (avg ${num(data.avgItemBytes)} B), ` +
        `${settings.segments} segments per table, pages of ${settings.pageSize}; best of ${settings.repeats} runs each`,
    );
    print(
      renderTable(
        ['measurement', 'items', 'seconds', 'items/s', 'vs baseline', 'requests', 'requests/item', 'detail'],
        [
          [
            'raw parallel Scan, source + target',
            raw.items,
            raw.seconds.toFixed(1),
            Math.round(raw.itemsPerSecond),
            ratio(1),
            raw.requests,
            raw.requestsPerItem.toFixed(4),
            `${raw.pages} pages`,
          ],
          [
            'runReconcile, no budget, repair off',
            rec.items,
            rec.seconds.toFixed(1),
            Math.round(rec.itemsPerSecond),
            ratio(ratios.itemsPerSecond),
            rec.requests,
            rec.requestsPerItem.toFixed(4),
            `${t.missing} missing, ${t.different} different, ${t.extra} extra (as made); ${rec.slices} slices`,
          ],
        ],
      ),
    );
    print(`  raw requests: ${requestsLine(raw.requestCounts, raw.items)}`);
    print(`  reconcile requests: ${requestsLine(rec.requestCounts, rec.items)}`);
    print(
      `  reconcile ÷ raw: items/s ${ratio(ratios.itemsPerSecond)} (raw counts both tables' items, reconcile each ` +
        `compared item once), wall time ${ratio(ratios.wallTime)} (raw s ÷ reconcile s), requests/item ` +
        `${ratio(ratios.requestsPerItem)}`,
    );
    print(`  total run time ${(results.totalSeconds as number).toFixed(0)} s`);
    print(MOTO_NOTE);
  } catch (err) {
    results.error = err instanceof Error ? err.message : String(err);
    save();
    throw err;
  } finally {
    if (moto) {
      print(`stopping moto_server pid ${moto.pid} ...`);
      await moto.stop();
    }
  }
  save();
}
