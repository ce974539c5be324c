/** The CLI side of `replicator backfill`: target selection, the progress line and the summary. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../../functions/engine/reconcile-run';
import { parseConfig } from '../../../lib/config';
import {
  formatBytes,
  formatDuration,
  progressLine,
  renderBackfillSummary,
  selectTargets,
} from '../../../src/cli/backfill';
import { CliError, EXIT } from '../../../src/cli/errors';

const config = parseConfig(JSON.parse(readFileSync(`${__dirname}/../../../replication.config.json`, 'utf8')));
const orders = config.pairs[0]!;

describe('selectTargets', () => {
  it('takes every target by default, an id as given, or a region with one target', () => {
    const ids = orders.targets.map((t) => `${t.region}/${'table' in t ? t.table : ''}`);
    expect(selectTargets(orders, undefined)).toEqual(ids);
    expect(selectTargets(orders, [ids[0]!])).toEqual([ids[0]]);
    expect(selectTargets(orders, [orders.targets[0]!.region])).toEqual([ids[0]]);
  });

  it('names the value and lists the targets when one is not the pair’s', () => {
    let err: unknown;
    try {
      selectTargets(orders, ['mars-north-1']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).message).toBe(`--target "mars-north-1" is not a target of pair "${orders.name}"`);
    expect((err as CliError).exitCode).toBe(EXIT.USAGE);
    expect((err as CliError).hint).toMatch(/^give one of: /);
  });
});

describe('progress and summary', () => {
  it('formats bytes and durations as people read them', () => {
    expect(formatBytes(812)).toBe('812 B');
    expect(formatBytes(4_200_000)).toBe('4.2 MB');
    expect(formatDuration(45_000)).toBe('45s');
    expect(formatDuration(725_000)).toBe('12m05s');
    expect(formatDuration(12_000_000)).toBe('3h20m');
  });

  it('shows bar, share, objects, bytes, enqueued, rate and ETA on one line', () => {
    const line = progressLine(
      { fraction: 0.5, read: 1000, bytes: 2_500_000, enqueued: 900, ratePerSecond: 250.4, etaMs: 4000 },
      'objects',
      10,
    );
    expect(line).toBe('[#####.....]  50%  1000 objects, 2.5 MB, 900 enqueued, 250/s, ETA 4s');
    expect(
      progressLine({ fraction: 0, read: 0, bytes: 0, enqueued: 0, ratePerSecond: 0, etaMs: undefined }, 'items', 4),
    ).toBe('[....]   0%  0 items, 0 enqueued, 0/s, ETA -');
  });

  it('sums up per target: listed, already equal, enqueued, skipped by the filter', () => {
    const report = {
      targets: [{ target: 'eu-west-1/b', checked: 10, inFlight: 1, skipped: 2, matched: 6, repaired: 4, bytes: 3000 }],
    } as unknown as RunReport;
    expect(renderBackfillSummary(report, 'objects').split('\n')).toEqual([
      'target       listed objects  already equal  enqueued  skipped by filter  bytes listed',
      '-----------  --------------  -------------  --------  -----------------  ------------',
      'eu-west-1/b              13              6         4                  2  3.0 KB',
    ]);
  });
});
