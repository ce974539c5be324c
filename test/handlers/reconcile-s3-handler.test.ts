import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  type AttributeValue,
  BatchGetItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEADLINE_MARGIN_MS, type ReconcileSummary } from '../../functions/engine/reconcile-run';
import { parseS3Body, type S3Envelope, s3KeyHash } from '../../functions/s3/envelope';
import { s3Error } from '../helpers/s3-memory-stores';

type Item = Record<string, AttributeValue>;
type Handler = (e: unknown, c: Context) => Promise<ReconcileSummary>;

const s3 = mockClient(S3Client);
const ddb = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);
const addMetric = vi.spyOn(Metrics.prototype, 'addMetric');
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/replicator-datasets';
const STATE = 'replicator-datasets-state';
const SOURCE = 'training-data';
const TARGET_BUCKET = 'training-data-eu';
const TARGET = 'eu-west-1/training-data-eu';
const contextWith = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;
const plentyOfTime = contextWith(600_000);

/** An `s` version of these hex digits (left-padded to 32, as sequencer versions are). */
const sv = (hex: string) => `s${hex.padStart(32, '0')}`;
/** s3-core's LOWEST_S3_VERSION, spelled out so a change to it is noticed here. */
const LOWEST = `s${'0'.repeat(31)}1`;
const md5 = (c: string) => `"${c.repeat(32)}"`;

/**
 * Every variable the handler reads at import time. PREFIX and SUFFIX are empty unless a test sets them
 * (the handler treats '' as unset).
 */
const BASE_ENV: Record<string, string> = {
  PAIR_NAME: 'datasets',
  SOURCE_BUCKET: SOURCE,
  SOURCE_REGION: 'us-east-1',
  AWS_REGION: 'us-east-1',
  STATE_TABLE: STATE,
  QUEUE_URL: QUEUE,
  TARGETS: JSON.stringify([{ id: TARGET, region: 'eu-west-1', bucket: TARGET_BUCKET }]),
  PREFIX: '',
  SUFFIX: '',
  REPAIR: 'true',
  DELETE_EXTRA: 'true',
  READ_RATE: '100000',
  RECHECK_DELAY_MS: '0',
  CHECKSUM_ALGORITHM: 'CRC32',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  // Enabled, so the EMF the run prints can be read back.
  POWERTOOLS_METRICS_DISABLED: 'false',
};

/** Imports a fresh copy of the handler under this environment: it reads its settings once, at import. */
async function loadHandler(env: Record<string, string> = {}): Promise<Handler> {
  vi.resetModules();
  for (const [name, value] of Object.entries({ ...BASE_ENV, ...env })) vi.stubEnv(name, value);
  return ((await import('../../functions/s3/reconcile-handler')) as unknown as { handler: Handler }).handler;
}

/** An object as the fake S3 keeps it: what ListObjectsV2 and HEAD (ChecksumMode ENABLED) return. */
interface FakeObject {
  readonly size: number;
  readonly etag: string;
  readonly crc32?: string;
  readonly checksumType?: string;
  /** The `rep-v` user metadata of a copy Replicator wrote. */
  readonly repV?: string;
}

/** A small fake of S3 behind the mock: objects by bucket, then key. */
let buckets: Map<string, Map<string, FakeObject>>;
/** Keys per ListObjectsV2 page at most (S3 may return fewer than MaxKeys only at the end; the fake, always). */
let pageLimit: number;
/** Milliseconds each ListObjectsV2 call moves the (faked) clock, so a deadline falls at a known page. */
let listTakesMs: number;
/** The state table, keyed by `pk`: checkpoint, report and tombstones. */
let state: Map<string, Item>;

const bucket = (name: string) => {
  const b = buckets.get(name) ?? new Map<string, FakeObject>();
  buckets.set(name, b);
  return b;
};
const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/**
 * The default pair: data/a.csv matches (the target's copy went in parts, so only the checksum can say so),
 * data/b.csv is missing, data/c.csv differs (same size, other CRC32) and data/z.csv is extra.
 */
function seedPair(): void {
  bucket(SOURCE).set('data/a.csv', { size: 10, etag: md5('a'), crc32: 'AAAAAA==' });
  bucket(SOURCE).set('data/b.csv', { size: 20, etag: md5('b'), crc32: 'BBBBBB==' });
  bucket(SOURCE).set('data/c.csv', { size: 30, etag: md5('c'), crc32: 'CCCCCC==' });
  bucket(TARGET_BUCKET).set('data/a.csv', {
    size: 10,
    etag: `"${'e'.repeat(32)}-2"`,
    crc32: 'AAAAAA==',
    checksumType: 'FULL_OBJECT',
    repV: sv('11'),
  });
  bucket(TARGET_BUCKET).set('data/c.csv', { size: 30, etag: md5('d'), crc32: 'DDDDDD==', repV: sv('2A') });
  bucket(TARGET_BUCKET).set('data/z.csv', { size: 5, etag: md5('f'), crc32: 'ZZZZZZ==', repV: sv('3F') });
}

beforeEach(() => {
  s3.reset();
  ddb.reset();
  sqs.reset();
  addMetric.mockClear();
  buckets = new Map();
  state = new Map();
  pageLimit = 1000;
  listTakesMs = 0;
  seedPair();

  s3.on(ListObjectsV2Command).callsFake((input) => {
    if (listTakesMs > 0) vi.setSystemTime(Date.now() + listTakesMs);
    const keys = [...bucket(input.Bucket).keys()]
      .filter((k) => input.Prefix === undefined || k.startsWith(input.Prefix))
      .filter((k) => input.StartAfter === undefined || byUtf8(k, input.StartAfter) > 0)
      .sort(byUtf8);
    const page = keys.slice(0, Math.min(input.MaxKeys ?? 1000, pageLimit));
    return {
      Contents: page.map((Key) => {
        const o = bucket(input.Bucket).get(Key)!;
        return { Key, Size: o.size, ETag: o.etag };
      }),
      IsTruncated: keys.length > page.length,
      KeyCount: page.length,
    };
  });
  s3.on(HeadObjectCommand).callsFake((input) => {
    const o = bucket(input.Bucket).get(input.Key);
    if (!o) throw s3Error('NotFound', 404);
    return {
      ContentLength: o.size,
      ETag: o.etag,
      ...(o.crc32 ? { ChecksumCRC32: o.crc32 } : {}),
      ...(o.checksumType ? { ChecksumType: o.checksumType } : {}),
      Metadata: o.repV ? { 'rep-v': o.repV } : {},
    };
  });

  const pkOf = (key: Item) => key.pk?.S ?? '';
  const onlyState = (table: string) => expect(table).toBe(STATE);
  ddb.on(GetItemCommand).callsFake((input) => {
    onlyState(input.TableName);
    const found = state.get(pkOf(input.Key));
    return found ? { Item: found } : {};
  });
  ddb.on(PutItemCommand).callsFake((input) => {
    onlyState(input.TableName);
    state.set(pkOf(input.Item), input.Item);
    return {};
  });
  ddb.on(DeleteItemCommand).callsFake((input) => {
    onlyState(input.TableName);
    state.delete(pkOf(input.Key));
    return {};
  });
  ddb.on(BatchGetItemCommand).callsFake((input) => {
    const Responses: Record<string, Item[]> = {};
    for (const [name, { Keys }] of Object.entries(input.RequestItems as Record<string, { Keys: Item[] }>)) {
      onlyState(name);
      Responses[name] = Keys.flatMap((k): Item[] => {
        const found = state.get(pkOf(k));
        return found ? [found] : [];
      });
    }
    return { Responses };
  });
  sqs.on(SendMessageBatchCommand).callsFake((input) => ({
    Successful: input.Entries.map((e: { Id: string }) => ({ Id: e.Id, MessageId: `m${e.Id}` })),
    Failed: [],
  }));
});

afterEach(() => {
  vi.useRealTimers();
});

/** Runs the handler and returns its summary with the EMF records it printed. */
async function invoke(handler: Handler, context: Context) {
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  });
  try {
    const summary = await handler({}, context);
    const emf = lines
      .flatMap((l) => l.split('\n'))
      .map((l) => l.trim())
      .filter((l) => l.includes('CloudWatchMetrics'))
      .map((l) => JSON.parse(l) as Record<string, unknown> & { _aws: { CloudWatchMetrics: EmfDirective[] } });
    return { summary, emf };
  } finally {
    write.mockRestore();
    log.mockRestore();
  }
}
interface EmfDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string }[];
}

/** Every repair envelope sent, with the `rep-target` attribute of its message. */
const sentRepairs = () =>
  sqs.commandCalls(SendMessageBatchCommand).flatMap((c) => {
    expect(c.args[0].input.QueueUrl).toBe(QUEUE);
    return (c.args[0].input.Entries ?? []).flatMap((e) =>
      parseS3Body(e.MessageBody ?? '').map((envelope) => ({
        target: e.MessageAttributes?.['rep-target']?.StringValue,
        envelope,
      })),
    );
  });
const byKey = (a: { envelope: S3Envelope }, b: { envelope: S3Envelope }) =>
  byUtf8(a.envelope.key.key, b.envelope.key.key);
const storedReport = () => {
  const json = state.get('reconcile#report#latest')?.report?.S;
  return json === undefined ? undefined : JSON.parse(json);
};
const storedCheckpoint = () => {
  const json = state.get('reconcile#checkpoint')?.state?.S;
  return json === undefined ? undefined : JSON.parse(json);
};
const listCalls = (bucketName: string) =>
  s3.commandCalls(ListObjectsV2Command).filter((c) => c.args[0].input.Bucket === bucketName);

describe('S3 reconcile handler, repairing and deleting extras', () => {
  let handler: Handler;
  beforeAll(async () => {
    handler = await loadHandler({ REPAIR: 'true', DELETE_EXTRA: 'true' });
  });

  it('finishes a run: repairs per target, publishes per (Pair, Target), stores the report, clears the checkpoint', async () => {
    const { summary, emf } = await invoke(handler, plentyOfTime);

    expect(summary).toMatchObject({
      pair: 'datasets',
      complete: true,
      pages: 1,
      invocations: 1,
      checked: 4,
      mismatched: 3,
      repaired: 3,
      consistencyRatio: 0.25,
    });
    expect(summary.targets).toEqual([
      {
        target: TARGET,
        checked: 4,
        missing: 1,
        extra: 1,
        different: 1,
        lostDeletes: 0,
        repaired: 3,
        consistencyRatio: 0.25,
      },
    ]);

    // Suspects are settled by HEAD with checksums on both sides.
    for (const b of [SOURCE, TARGET_BUCKET]) {
      expect(s3).toHaveReceivedCommandWith(HeadObjectCommand, {
        Bucket: b,
        Key: 'data/c.csv',
        ChecksumMode: 'ENABLED',
      });
    }
    // Tombstones are read for the extra z (is it a lost delete? no tombstone: a true extra), then for the
    // puts b and c (their repair versions).
    const tombReads = ddb
      .commandCalls(BatchGetItemCommand)
      .map((c) => (c.args[0].input.RequestItems?.[STATE]?.Keys ?? []).map((k) => k.pk?.S).sort());
    expect(tombReads).toEqual([
      [`s3tomb#${s3KeyHash('data/z.csv')}`],
      [`s3tomb#${s3KeyHash('data/b.csv')}`, `s3tomb#${s3KeyHash('data/c.csv')}`].sort(),
    ]);

    const sent = sentRepairs().sort(byKey);
    expect(sent.map((s) => s.target)).toEqual([TARGET, TARGET, TARGET]);
    const base = { v: 1, pair: 'datasets', image: null, origin: 'us-east-1', capturedAt: expect.any(Number) };
    expect(sent.map((s) => s.envelope)).toEqual([
      // Missing, no tombstone: the lowest version, pinned to the source's size and ETag as HEAD gave them.
      { ...base, op: 'put', key: { key: 'data/b.csv', size: 20, eTag: md5('b') }, version: LOWEST },
      // Different: keeps its target's rep-v (the copier re-copies an equal version that does not verify).
      { ...base, op: 'put', key: { key: 'data/c.csv', size: 30, eTag: md5('c') }, version: sv('2A') },
      // Extra: deleted just past its target's rep-v.
      { ...base, op: 'delete', key: { key: 'data/z.csv' }, version: sv('40') },
    ]);

    // One record per target, then the pair's ReconcileRuns (what the overdue alarm watches).
    expect(emf).toHaveLength(2);
    expect(emf[1]).toMatchObject({ Pair: 'datasets', ReconcileRuns: 1 });
    expect(emf[1]!._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['Pair']]);
    const record = emf[0]!;
    expect(record._aws.CloudWatchMetrics).toHaveLength(1);
    expect(record._aws.CloudWatchMetrics[0]!.Namespace).toBe('Replicator');
    expect(record._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['Pair', 'Target']]);
    expect(record).not.toHaveProperty('service');
    expect(record).toMatchObject({
      Pair: 'datasets',
      Target: TARGET,
      ReconcileChecked: 4,
      ReconcileMismatched: 3,
      ReconcileMissing: 1,
      ReconcileExtra: 1,
      ReconcileRepaired: 3,
      ConsistencyRatio: 0.25,
    });
    expect(record.ConsistencyRatio).toBeLessThan(1);

    expect(ddb).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: STATE,
      Item: expect.objectContaining({ pk: { S: 'reconcile#report#latest' } }),
    });
    expect(storedReport()).toMatchObject({ pair: 'datasets', complete: true, checked: 4, mismatched: 3, repaired: 3 });
    expect(storedReport().targets[0].samples).toEqual({
      missing: [{ key: { S: 'data/b.csv' } }],
      extra: [{ key: { S: 'data/z.csv' } }],
      different: [{ key: { S: 'data/c.csv' } }],
    });
    expect(ddb).toHaveReceivedCommandWith(DeleteItemCommand, {
      TableName: STATE,
      Key: { pk: { S: 'reconcile#checkpoint' } },
    });
    expect(state.has('reconcile#checkpoint')).toBe(false);
  });

  it("puts a missing object just past its key's tombstone, and a different one past a newer tombstone", async () => {
    for (const [key, version] of [
      ['data/b.csv', sv('7')],
      ['data/c.csv', sv('50')],
    ] as const) {
      const pk = `s3tomb#${s3KeyHash(key)}`;
      state.set(pk, { pk: { S: pk }, version: { S: version } });
    }

    await invoke(handler, plentyOfTime);

    const versions = Object.fromEntries(sentRepairs().map((s) => [s.envelope.key.key, s.envelope.version]));
    expect(versions).toEqual({ 'data/b.csv': sv('8'), 'data/c.csv': sv('51'), 'data/z.csv': sv('40') });
  });

  it('saves a checkpoint and stops when the run does not fit the invocation, then continues from it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    pageLimit = 1;
    // Both listings of the first chunk take 1.2 s together: the next chunk would end past the deadline.
    listTakesMs = 600;

    const first = await invoke(handler, contextWith(DEADLINE_MARGIN_MS + 1000));

    expect(first.summary).toMatchObject({ complete: false, pages: 1, invocations: 1, checked: 1, mismatched: 0 });
    expect(storedCheckpoint()).toMatchObject({
      pair: 'datasets',
      invocations: 1,
      scans: { [`target:${TARGET}`]: [{ done: false, lastKey: { key: { S: 'data/a.csv' } } }] },
    });
    expect(storedCheckpoint()).not.toHaveProperty('finishedAt');
    expect(first.emf).toEqual([]);
    expect(addMetric).not.toHaveBeenCalled();
    expect(storedReport()).toBeUndefined();
    expect(ddb).not.toHaveReceivedCommand(DeleteItemCommand);
    expect(sqs).not.toHaveReceivedCommand(SendMessageBatchCommand);

    listTakesMs = 0;
    s3.resetHistory();
    const second = await invoke(handler, plentyOfTime);

    // Both listings resume after the checkpoint's key.
    expect(listCalls(SOURCE)[0]?.args[0].input.StartAfter).toBe('data/a.csv');
    expect(listCalls(TARGET_BUCKET)[0]?.args[0].input.StartAfter).toBe('data/a.csv');
    expect(second.summary).toMatchObject({ complete: true, invocations: 2, checked: 4, mismatched: 3, repaired: 3 });
    expect(second.emf).toHaveLength(2);
    expect(storedReport()).toMatchObject({ complete: true, invocations: 2 });
    expect(state.has('reconcile#checkpoint')).toBe(false);
  });
});

describe('S3 reconcile handler with PREFIX and SUFFIX', () => {
  let handler: Handler;
  beforeAll(async () => {
    handler = await loadHandler({ PREFIX: 'data/', SUFFIX: '.csv', REPAIR: 'true', DELETE_EXTRA: 'false' });
  });

  it('lists only under the prefix and ignores keys without the suffix', async () => {
    bucket(SOURCE).set('logs/app.csv', { size: 1, etag: md5('1') });
    bucket(SOURCE).set('data/readme.txt', { size: 2, etag: md5('2') });
    bucket(TARGET_BUCKET).set('data/notes.txt', { size: 3, etag: md5('3') });

    const { summary } = await invoke(handler, plentyOfTime);

    for (const b of [SOURCE, TARGET_BUCKET]) {
      expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, { Bucket: b, Prefix: 'data/' });
    }
    expect(summary).toMatchObject({ complete: true, checked: 4, mismatched: 3 });
    // The extra z is only reported: DELETE_EXTRA is off.
    expect(summary.targets).toEqual([
      {
        target: TARGET,
        checked: 4,
        missing: 1,
        extra: 1,
        different: 1,
        lostDeletes: 0,
        repaired: 2,
        consistencyRatio: 0.25,
      },
    ]);
    const heads = s3.commandCalls(HeadObjectCommand).map((c) => c.args[0].input.Key);
    expect(heads).not.toContain('data/readme.txt');
    expect(heads).not.toContain('data/notes.txt');
    expect(heads).not.toContain('logs/app.csv');
    expect(
      sentRepairs()
        .map((s) => `${s.envelope.op} ${s.envelope.key.key}`)
        .sort(),
    ).toEqual(['put data/b.csv', 'put data/c.csv']);
  });
});

describe('S3 reconcile handler without repair', () => {
  let handler: Handler;
  beforeAll(async () => {
    handler = await loadHandler({ REPAIR: 'false', DELETE_EXTRA: 'true' });
  });

  it('counts and reports the findings and sends nothing; it reads tombstones only to tell lost deletes from extras', async () => {
    const { summary, emf } = await invoke(handler, plentyOfTime);

    expect(summary).toMatchObject({ complete: true, checked: 4, mismatched: 3, repaired: 0, consistencyRatio: 0.25 });
    expect(summary.targets).toEqual([
      {
        target: TARGET,
        checked: 4,
        missing: 1,
        extra: 1,
        different: 1,
        lostDeletes: 0,
        repaired: 0,
        consistencyRatio: 0.25,
      },
    ]);
    expect(sqs).not.toHaveReceivedCommand(SendMessageBatchCommand);
    expect(ddb).toHaveReceivedCommandTimes(BatchGetItemCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(BatchGetItemCommand, {
      RequestItems: {
        [STATE]: expect.objectContaining({ Keys: [{ pk: { S: `s3tomb#${s3KeyHash('data/z.csv')}` } }] }),
      },
    });
    expect(emf).toHaveLength(2);
    expect(emf[0]).toMatchObject({ ReconcileMismatched: 3, ReconcileRepaired: 0 });
    expect(storedReport()).toMatchObject({ complete: true, mismatched: 3, repaired: 0 });
  });
});
