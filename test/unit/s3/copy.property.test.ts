/**
 * DESIGN.md's convergence rules 1-3 for S3 as a property: whatever the delivery order, duplicates, batching
 * and interleaving, every target bucket ends holding exactly the source's final objects.
 *
 * The source evolves while envelopes are delivered (each delivery starts after its event happened, and the
 * source can change between a copy's HEAD and its copy), versioned or not. Three target behaviours, as the
 * copy core's header explains:
 * - real S3 (conditional writes honoured): any interleaving of concurrent batches;
 * - moto (CopyObject conditions ignored, DeleteObject If-Match honoured): a key's puts one at a time and its
 *   deletes one at a time, puts racing deletes, keys interleaved;
 * - no conditions at all: a key's envelopes one at a time, keys interleaved.
 * Failed envelopes are retried afterwards, as re-sends would be.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { objectEventVersion } from '../../../functions/engine/version';
import {
  type BucketTarget,
  type CopyDeps,
  type CopyResult,
  copyEnvelopes,
  copySettingsFromEnv,
  KeyMemory,
} from '../../../functions/s3/copy';
import type { S3Envelope } from '../../../functions/s3/envelope';
import { inBatches } from '../../helpers/delivery';
import { MemoryTombstones } from '../../helpers/memory-stores';
import { MemorySourceBucket, MemoryTargetBucket, type MemoryTargetOptions } from '../../helpers/s3-memory-stores';

const KEYS = ['a', 'dir/b c', 'ü+%'];
const RUNS = Number(process.env.PROPERTY_RUNS ?? 1000);

const opArb = fc.record({
  key: fc.nat(KEYS.length - 1),
  kind: fc.constantFrom('put', 'put', 'delete'),
  value: fc.nat(1000),
});
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

interface SourceEvent {
  readonly index: number;
  readonly envelope: S3Envelope;
  readonly happen: (source: MemorySourceBucket) => void;
}

/** The source's history as events, each with its envelope (as capture would build it from real S3). */
function history(ops: Op[], versioned: boolean): SourceEvent[] {
  return ops.map((op, i) => {
    const key = KEYS[op.key]!;
    // Sequencers of growing length: versions must order them once left-padded.
    const sequencer = (0xf0 + i * 7).toString(16);
    const version = objectEventVersion({ sequencer, eventTimeMs: 0 });
    const base = { v: 1 as const, pair: 'p', image: null, version, origin: 'us-east-1', capturedAt: 0 };
    if (op.kind === 'delete') {
      const marker = versioned ? { versionId: `m${i}` } : {};
      return {
        index: i,
        envelope: { ...base, op: 'delete', key: { key, sequencer, ...marker } },
        happen: (s) => s.remove(key, marker.versionId),
      };
    }
    const data = `${i}:${op.value}`;
    const eTag = createHash('md5').update(data).digest('hex');
    const versionId = versioned ? { versionId: `v${i}` } : {};
    return {
      index: i,
      envelope: { ...base, op: 'put', key: { key, sequencer, eTag, size: data.length, ...versionId } },
      happen: (s) => s.put(key, data, versionId.versionId),
    };
  });
}

function finalState(events: SourceEvent[], versioned: boolean): Map<string, string> {
  const s = new MemorySourceBucket(versioned);
  for (const e of events) e.happen(s);
  return s.currentView();
}

type Mode = 'real-s3' | 'moto' | 'no-conditions';
const TARGET_OPTIONS: Record<Mode, MemoryTargetOptions> = {
  'real-s3': { honourCopyConditions: true, honourDeleteConditions: true },
  moto: { honourCopyConditions: false, honourDeleteConditions: true },
  'no-conditions': { honourCopyConditions: false, honourDeleteConditions: false },
};

/** Groups deliveries into lanes that each run one envelope at a time; lanes run concurrently. */
function lanes(mode: Mode, deliveries: SourceEvent[], batchSizes: number[]): SourceEvent[][] {
  // Each batch is its own lane (applied as one message), so batches run concurrently.
  if (mode === 'real-s3') return inBatches(deliveries, batchSizes);
  const byLane = new Map<string, SourceEvent[]>();
  for (const d of deliveries) {
    const lane = mode === 'moto' ? `${d.envelope.key.key}\n${d.envelope.op}` : d.envelope.key.key;
    byLane.set(lane, [...(byLane.get(lane) ?? []), d]);
  }
  return [...byLane.values()];
}

async function converges(
  mode: Mode,
  createFirst: boolean,
  versioned: boolean,
  ops: Op[],
  duplicatePicks: number[],
  order: number[],
  batchSizes: number[],
  s: fc.Scheduler,
): Promise<void> {
  const events = history(ops, versioned);
  const yieldPoint = () => s.schedule(Promise.resolve());
  const source = new MemorySourceBucket(versioned, yieldPoint);
  const buckets = [0, 1].map(() => new MemoryTargetBucket(source, { ...TARGET_OPTIONS[mode], yieldPoint }));
  // The first target remembers the keys it saw (as the copy function does), the second does not.
  const targets: BucketTarget[] = buckets.map((bucket, i) => ({
    id: `t${i}`,
    bucket,
    ...(i === 0 ? { seen: new KeyMemory(2) } : {}),
  }));
  const deps: CopyDeps = {
    source,
    tombstones: new MemoryTombstones(yieldPoint),
    settings: { ...copySettingsFromEnv({}), createFirst },
  };

  // The source's history runs step by step, interleaved with the deliveries by the scheduler.
  const happened: Promise<void>[] = [];
  let history$: Promise<void> = Promise.resolve();
  for (const e of events) {
    history$ = history$.then(() => s.schedule(Promise.resolve())).then(() => e.happen(source));
    happened.push(history$);
  }

  // At least once, in any order: every envelope plus duplicates.
  const deliveries = [...events, ...duplicatePicks.map((p) => events[p % events.length]!)]
    .map((d, i) => ({ d, rank: order[i % Math.max(1, order.length)]! * 1000 + i }))
    .sort((a, b) => a.rank - b.rank)
    .map((x) => x.d);

  const failures: { target: BucketTarget; envelope: S3Envelope }[] = [];
  const collect = (result: CopyResult) => {
    for (const [id, r] of result) {
      for (const f of r.failed) {
        expect(f.poison, String(f.error)).toBe(false);
        failures.push({ target: targets.find((t) => t.id === id)!, envelope: f.envelope });
      }
    }
  };
  const runLane = async (lane: SourceEvent[]) => {
    if (mode === 'real-s3') {
      await Promise.all(lane.map((d) => happened[d.index]));
      await s.schedule(Promise.resolve());
      collect(
        await copyEnvelopes(
          lane.map((d) => d.envelope),
          targets,
          deps,
        ),
      );
      return;
    }
    for (const d of lane) {
      await happened[d.index];
      await s.schedule(Promise.resolve());
      collect(await copyEnvelopes([d.envelope], targets, deps));
    }
  };
  await s.waitFor(Promise.all([history$, ...lanes(mode, deliveries, batchSizes).map(runLane)]));

  // Retries, later and one at a time, each restricted to the target it failed on (as re-sends are).
  for (let round = 0; failures.length > 0; round++) {
    expect(round, 'failures left after 5 retry rounds').toBeLessThan(5);
    const retry = failures.splice(0);
    for (const f of retry) await s.waitFor(copyEnvelopes([f.envelope], [f.target], deps).then(collect));
  }
  const expected = finalState(events, versioned);
  for (const b of buckets) expect(b.dataView()).toEqual(expected);
}

const scenario = {
  ops: fc.array(opArb, { minLength: 1, maxLength: 14 }),
  duplicates: fc.array(fc.nat(), { maxLength: 10 }),
  order: fc.array(fc.nat(30), { minLength: 1, maxLength: 24 }),
  batchSizes: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 6 }),
};

describe('S3 copy convergence (property)', () => {
  for (const mode of ['real-s3', 'moto', 'no-conditions'] as const) {
    it(`every target equals the source's final state; no delete is undone (${mode})`, async () => {
      await fc.assert(
        fc.asyncProperty(
          // Create-only copies first are for targets that honour the condition on a copy (S3; moto via the proxy).
          mode === 'real-s3' ? fc.boolean() : fc.constant(false),
          fc.boolean(),
          scenario.ops,
          scenario.duplicates,
          scenario.order,
          scenario.batchSizes,
          fc.scheduler(),
          (createFirst, versioned, ops, duplicates, order, batchSizes, s) =>
            converges(mode, createFirst, versioned, ops, duplicates, order, batchSizes, s),
        ),
        { numRuns: RUNS },
      );
    });
  }
});
