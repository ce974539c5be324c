/**
 * The in-process half of the DynamoDB benchmark: the capture and apply cores on one core, no network.
 *
 * Capture runs buildEnvelopes → packMessages → sendMessages over Lambda-sized batches of ~1 KB stream
 * records, with an SQS client whose send() resolves at once. Apply runs applyEnvelopes over batches of
 * 250 envelopes (10 messages × 25, one SQS poll's worth) with stores that resolve at once, so what is
 * measured is the cores' own CPU cost. The baseline beside them is JSON.stringify + JSON.parse of the same
 * records: the floor of any pipeline that serializes each record once.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import { type ApplyDeps, applyEnvelopes, type TableTarget } from '../functions/dynamodb/apply';
import { type AttrMap, fromSdkMap } from '../functions/dynamodb/attributes';
import { buildEnvelopes, type CaptureOptions } from '../functions/dynamodb/capture';
import { parseTableBody, type TableEnvelope } from '../functions/dynamodb/envelope';
import type { TableStore } from '../functions/dynamodb/store';
import { byteLength } from '../functions/engine/envelope';
import { packMessages, sendMessages } from '../functions/engine/queue';
import { PAIR_DEFAULTS } from '../lib/config';
import { type KeyAttribute, makeWorkload, type WorkloadOp } from '../src/cli/pair-types/dynamodb-workload';
import { median, nowMs, perSecond } from './common';

/** Settings of the in-process part. */
export interface CoreSettings {
  /** Stream records (and envelopes) per pass. */
  readonly records: number;
  /** Timed passes of each measurement (the median is reported); one untimed warm-up pass precedes them. */
  readonly repeats: number;
  /** Stream records per capture invocation (Lambda batch size). */
  readonly captureBatchSize: number;
  /** Envelopes packed into one SQS message at most. */
  readonly envelopesPerMessage: number;
  /** Envelopes per apply call (10 SQS messages of 25). */
  readonly applyBatchEnvelopes: number;
  /** Targets the apply core writes each envelope to. */
  readonly targets: number;
  /** Approximate size of each record's new image, bytes. */
  readonly imageBytes: number;
}

/** One measured pipeline stage. */
export interface CoreMeasurement {
  readonly name: string;
  readonly recordsPerSecond: number;
  /** Each timed pass, ms. */
  readonly passesMs: number[];
}

/** What the in-process part found. */
export interface CoreResult {
  readonly settings: CoreSettings;
  readonly recordBytesAvg: number;
  readonly envelopeBytesAvg: number;
  readonly capture: CoreMeasurement & {
    readonly envelopes: number;
    readonly messages: number;
    readonly sqsRequests: number;
    readonly envelopesPerMessage: number;
    readonly sqsRequestsPer1000Records: number;
  };
  readonly apply: CoreMeasurement & { readonly targetWrites: number };
  readonly parseAndApply: CoreMeasurement;
  readonly baseline: CoreMeasurement;
  /** Stage records/s ÷ baseline records/s. */
  readonly ratios: { capture: number; apply: number; parseAndApply: number };
}

const KEYS: KeyAttribute[] = [
  { name: 'pk', type: 'S' },
  { name: 'sk', type: 'S' },
];
const ORIGIN = 'us-east-1';
const START_SECONDS = 1_780_000_000;

/** Pads an image with a `note` attribute so that its JSON is about `bytes` long. */
function padded(image: AttrMap, bytes: number): AttrMap {
  const size = byteLength(image);
  return size >= bytes - 20 ? image : { ...image, note: { S: 'n'.repeat(bytes - size - 20) } };
}

/**
 * Stream records as Lambda delivers them for a NEW_AND_OLD_IMAGES stream: the workload's puts, updates and
 * deletes (inserts, modifies, removes), new images padded to about `imageBytes`. Old images are left out:
 * capture never reads them.
 */
export function makeStreamRecords(n: number, imageBytes: number): DynamoDBRecord[] {
  const ops: WorkloadOp[] = makeWorkload({ ops: n, keys: KEYS, bigItem: false, seed: 7 });
  const current = new Map<string, AttrMap>();
  return ops.map((op, i) => {
    const key = fromSdkMap(op.kind === 'put' ? { pk: op.item.pk!, sk: op.item.sk! } : op.key);
    const k = JSON.stringify(key);
    let eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
    let newImage: AttrMap | undefined;
    if (op.kind === 'delete') {
      eventName = 'REMOVE';
      current.delete(k);
    } else {
      const before = current.get(k);
      eventName = before ? 'MODIFY' : 'INSERT';
      const base = op.kind === 'put' ? fromSdkMap(op.item) : { ...(before ?? key), qty: { N: String(i) } };
      newImage = padded(base, imageBytes);
      current.set(k, newImage);
    }
    const sequenceNumber = String(1e20 + i * 100);
    return {
      eventID: `ev-${i}`,
      eventName,
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: ORIGIN,
      eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/bench/stream/2026-01-01T00:00:00.000',
      dynamodb: {
        ApproximateCreationDateTime: START_SECONDS + i / 1000,
        Keys: key as never,
        NewImage: newImage as never,
        SequenceNumber: sequenceNumber,
        SizeBytes: byteLength(newImage ?? key),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    } satisfies DynamoDBRecord;
  });
}

/** An SQS client whose every send() resolves at once with no failures; counts the calls. */
function stubSqs(): { client: SQSClient; calls: () => number } {
  let calls = 0;
  const client = {
    send: async () => {
      calls++;
      return { Successful: [], Failed: [] };
    },
  } as unknown as SQSClient;
  return { client, calls: () => calls };
}

/** A target whose conditional writes all succeed at once. */
class NoopTarget implements TableStore {
  writes = 0;
  async putIfNewer(): Promise<'applied'> {
    this.writes++;
    return 'applied';
  }
  async deleteIfOlder(): Promise<'applied'> {
    this.writes++;
    return 'applied';
  }
  async deleteIfVersion(): Promise<void> {
    this.writes++;
  }
}

function applyDeps(targetCount: number): { deps: ApplyDeps; targets: TableTarget[]; writes: () => number } {
  const stores = Array.from({ length: targetCount }, () => new NoopTarget());
  const targets = stores.map((store, i) => ({ id: `target-${i}`, store }));
  const deps: ApplyDeps = {
    tombstones: { record: async () => undefined, newest: async () => new Map() },
    source: { get: async () => undefined },
  };
  return { deps, targets, writes: () => stores.reduce((s, t) => s + t.writes, 0) };
}

/** Runs `pass` once untimed, then `repeats` times timed; returns the pass times (ms). */
async function timed(repeats: number, pass: () => Promise<void> | void): Promise<number[]> {
  await pass();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = nowMs();
    await pass();
    times.push(nowMs() - t0);
  }
  return times;
}

function measurement(name: string, records: number, passesMs: number[]): CoreMeasurement {
  return { name, recordsPerSecond: perSecond(records, median(passesMs)), passesMs: passesMs.map((t) => +t.toFixed(2)) };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs the in-process part. */
export async function runCoreBenchmark(opts: { records: number; repeats?: number }): Promise<CoreResult> {
  const settings: CoreSettings = {
    records: opts.records,
    repeats: opts.repeats ?? 3,
    captureBatchSize: PAIR_DEFAULTS.captureBatchSize,
    envelopesPerMessage: PAIR_DEFAULTS.envelopesPerMessage,
    applyBatchEnvelopes: PAIR_DEFAULTS.applyBatchSize * PAIR_DEFAULTS.envelopesPerMessage,
    targets: 2,
    imageBytes: 1024,
  };
  const records = makeStreamRecords(settings.records, settings.imageBytes);
  const recordBatches = chunks(records, settings.captureBatchSize);
  const captureOpts: CaptureOptions = {
    pair: 'bench',
    origin: ORIGIN,
    envelopesPerMessage: settings.envelopesPerMessage,
  };

  // Capture: one Lambda invocation per batch of stream records.
  const sqs = stubSqs();
  let envelopes: TableEnvelope[] = [];
  let bodies: string[] = [];
  let sent = { envelopes: 0, messages: 0, requests: 0 };
  const capturePass = async () => {
    const callsBefore = sqs.calls();
    const passEnvelopes: TableEnvelope[] = [];
    const passBodies: string[] = [];
    let messages = 0;
    let sentEnvelopes = 0;
    for (const batch of recordBatches) {
      const built = buildEnvelopes(batch, captureOpts);
      const packed = packMessages(built.envelopes, captureOpts);
      const res = await sendMessages(sqs.client, 'https://sqs.local/bench', packed);
      if (res.failed.length > 0 || built.invalid.length > 0) throw new Error('capture failed records in the benchmark');
      messages += res.sentMessages;
      sentEnvelopes += res.sentEnvelopes;
      for (const e of built.envelopes) passEnvelopes.push(e.envelope);
      for (const m of packed) passBodies.push(m.body);
    }
    envelopes = passEnvelopes;
    bodies = passBodies;
    sent = { envelopes: sentEnvelopes, messages, requests: sqs.calls() - callsBefore };
  };
  const captureTimes = await timed(settings.repeats, capturePass);

  // Apply: one call per 250 envelopes, to two targets.
  const envelopeBatches = chunks(envelopes, settings.applyBatchEnvelopes);
  let targetWrites = 0;
  const applyTimes = await timed(settings.repeats, async () => {
    const { deps, targets, writes } = applyDeps(settings.targets);
    for (const batch of envelopeBatches) await applyEnvelopes(batch, targets, deps);
    targetWrites = writes();
  });

  // Apply as the handler does it: parse (and validate) the message bodies first, 10 messages a call.
  const bodyBatches = chunks(bodies, PAIR_DEFAULTS.applyBatchSize);
  const parseApplyTimes = await timed(settings.repeats, async () => {
    const { deps, targets } = applyDeps(settings.targets);
    for (const batch of bodyBatches) await applyEnvelopes(batch.flatMap(parseTableBody), targets, deps);
  });

  // Baseline: serialize and parse each record once.
  let sink = 0;
  const baselineTimes = await timed(settings.repeats, () => {
    for (const r of records) sink += (JSON.parse(JSON.stringify(r)) as DynamoDBRecord).eventID!.length;
  });
  if (sink === 0) throw new Error('baseline did nothing');

  const n = settings.records;
  const capture = measurement('capture core (build + pack + send)', n, captureTimes);
  const apply = measurement(`apply core (${settings.targets} targets)`, n, applyTimes);
  const parseAndApply = measurement(`parse bodies + apply core (${settings.targets} targets)`, n, parseApplyTimes);
  const baseline = measurement('baseline: JSON.stringify + JSON.parse', n, baselineTimes);
  return {
    settings,
    recordBytesAvg: Math.round(records.reduce((s, r) => s + byteLength(r), 0) / n),
    envelopeBytesAvg: Math.round(envelopes.reduce((s, e) => s + byteLength(e), 0) / Math.max(1, envelopes.length)),
    capture: {
      ...capture,
      envelopes: sent.envelopes,
      messages: sent.messages,
      sqsRequests: sent.requests,
      envelopesPerMessage: sent.envelopes / Math.max(1, sent.messages),
      sqsRequestsPer1000Records: (sent.requests * 1000) / n,
    },
    apply: { ...apply, targetWrites },
    parseAndApply,
    baseline,
    ratios: {
      capture: capture.recordsPerSecond / baseline.recordsPerSecond,
      apply: apply.recordsPerSecond / baseline.recordsPerSecond,
      parseAndApply: parseAndApply.recordsPerSecond / baseline.recordsPerSecond,
    },
  };
}
