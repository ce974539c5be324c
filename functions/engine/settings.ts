/**
 * The settings every pair type's functions read the same way from their environment (the contract's
 * variables): capture's pair, origin and packing; an applier's queues and attempts; a reconcile run's pair,
 * repair and pace. Each type's deps.ts adds its own (source, targets, filters) on top.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ENV } from '../contract';
import { ReadBudget } from './budget';
import type { CaptureSink } from './capture';
import type { RunMode } from './checkpoint';
import { type Env, numberEnv, optionalEnv, requiredEnv } from './clients';
import { enqueueRepairs } from './queue';
import type { RetryPolicy } from './retry';

/** What every capture function reads. */
export interface CaptureSettings {
  /** Pair name, copied into every envelope. */
  readonly pair: string;
  /** Region where capture runs: the envelopes' origin. */
  readonly origin: string;
  /** Envelopes packed into one SQS message at most. */
  readonly envelopesPerMessage: number;
}

/** Capture's common settings and where it sends. */
export function captureSettings(env: Env, sqs: SQSClient): { settings: CaptureSettings; sink: CaptureSink } {
  const settings: CaptureSettings = {
    pair: requiredEnv(ENV.PAIR_NAME, env),
    origin: requiredEnv(ENV.ORIGIN_REGION, env),
    envelopesPerMessage: numberEnv(ENV.ENVELOPES_PER_MESSAGE, 25, env),
  };
  return { settings, sink: { sqs, queueUrl: requiredEnv(ENV.QUEUE_URL, env), pack: settings } };
}

/** Seconds transient failures are retried when the environment does not say: a day. */
export const DEFAULT_RETRY_FOR_SECONDS = 86_400;

/** What every applier (apply, copy) reads besides its targets: the pair, its queues and its retry policy. */
export function applierSettings(
  env: Env,
  sqs: SQSClient,
): { pair: string; queueUrl: string; dlqUrl: string; retry: RetryPolicy; sqs: SQSClient } {
  return {
    pair: requiredEnv(ENV.PAIR_NAME, env),
    queueUrl: requiredEnv(ENV.QUEUE_URL, env),
    dlqUrl: requiredEnv(ENV.DLQ_URL, env),
    retry: {
      maxAttempts: numberEnv(ENV.MAX_ATTEMPTS, 5, env),
      retryForMs: numberEnv(ENV.RETRY_FOR_SECONDS, DEFAULT_RETRY_FOR_SECONDS, env) * 1000,
    },
    sqs,
  };
}

/** What every reconcile run is set to do (from the function's environment, or the CLI's config). */
export interface ReconcileSettings {
  readonly pair: string;
  readonly sourceRegion: string;
  /** The pair queue, where repairs go; required with `repair`. */
  readonly queueUrl?: string;
  /** Region and name of the pair's state table, whose tombstones tell lost deletes from extras. */
  readonly stateRegion: string;
  readonly stateTable: string;
  readonly repair: boolean;
  readonly deleteExtra: boolean;
  /** Read units (S3: requests) per second over the whole run. */
  readonly readRate: number;
  /** Wait before re-reading suspects, so changes already in the pair queue can land. */
  readonly recheckDelayMs: number;
  /**
   * What the run is for. A backfill is paced by `itemRate` rather than by `readRate` (its reads are in
   * proportion to the items it moves). @default 'reconcile'
   */
  readonly mode?: RunMode;
  /** Source items (objects) per second a backfill moves at most. */
  readonly itemRate?: number;
  /**
   * Times a backfill's page size is halved (at least 25 stays): a job message delivered again after its
   * invocation died (a timeout mid-page) runs smaller pages, so a page that cannot end in an invocation's time
   * does not kill every retry the same way. @default 0
   */
  readonly pageHalvings?: number;
}

/** The read budget of a run: by read units for a reconcile; none for a backfill (paced by items instead). */
export function readBudgetOf(s: Pick<ReconcileSettings, 'mode' | 'readRate'>): { budget?: ReadBudget } {
  return s.mode === 'backfill' ? {} : { budget: new ReadBudget({ readRate: s.readRate }) };
}

/** The smallest page a backfill reads. */
export const MIN_BACKFILL_PAGE = 25;

/**
 * Items per page of a backfill: about one second of one shard's share of the pace (at least 25, at most the
 * type's own page size), so the pages the shards read before the pace first applies stay about a second's
 * worth, and a stop or a timeout redoes little; halved `halvings` times (down to 25) after invocations died.
 */
export function backfillPageSize(itemRate: number, shards: number, max: number, halvings = 0): number {
  const size = Math.min(max, Math.ceil(itemRate / Math.max(1, shards)));
  return Math.max(MIN_BACKFILL_PAGE, Math.floor(size / 2 ** Math.min(16, Math.max(0, halvings))));
}

/**
 * The run options every pair type's deps take the same way: mode, item pace, and a backfill's page size
 * ({@link backfillPageSize}, over `shards` scan segments or key ranges, at most the type's `maxPageSize`,
 * halved `pageHalvings` times).
 */
export function runModeOf(
  s: Pick<ReconcileSettings, 'mode' | 'itemRate' | 'pageHalvings'>,
  paging: { readonly shards: number; readonly maxPageSize: number },
): { mode?: RunMode; itemRate?: number; pageSize?: number } {
  return {
    ...(s.mode !== undefined ? { mode: s.mode } : {}),
    ...(s.itemRate !== undefined ? { itemRate: s.itemRate } : {}),
    ...(s.mode === 'backfill' && s.itemRate !== undefined
      ? { pageSize: backfillPageSize(s.itemRate, paging.shards, paging.maxPageSize, s.pageHalvings) }
      : {}),
  };
}

/** A reconcile function's common settings, from its environment. */
export function reconcileSettingsFromEnv(env: Env): ReconcileSettings {
  return {
    pair: requiredEnv(ENV.PAIR_NAME, env),
    sourceRegion: requiredEnv(ENV.SOURCE_REGION, env),
    queueUrl: requiredEnv(ENV.QUEUE_URL, env),
    stateRegion: requiredEnv('AWS_REGION', env),
    stateTable: requiredEnv(ENV.STATE_TABLE, env),
    repair: optionalEnv(ENV.REPAIR, env) === 'true',
    deleteExtra: optionalEnv(ENV.DELETE_EXTRA, env) === 'true',
    readRate: numberEnv(ENV.READ_RATE, 100, env),
    recheckDelayMs: numberEnv(ENV.RECHECK_DELAY_MS, 5000, env),
  };
}

/**
 * How a run's repairs reach the pair queue (packed, marked as repairs, restricted to one target when one is
 * given), or nothing when the settings name no queue (findings are then only reported).
 */
export function repairEnqueuer(
  s: Pick<ReconcileSettings, 'pair' | 'queueUrl'>,
  sqs: () => SQSClient,
): ((envelopes: readonly unknown[], targetId?: string) => Promise<void>) | undefined {
  const { queueUrl } = s;
  if (!queueUrl) return undefined;
  return async (envelopes, targetId) => {
    await enqueueRepairs(sqs(), queueUrl, envelopes, {
      pair: s.pair,
      ...(targetId !== undefined ? { targetId } : {}),
    });
  };
}

/** The targets a run covers: those of `ids` (all when absent). */
export function onlyTargets<T extends { readonly id: string }>(targets: readonly T[], ids?: readonly string[]): T[] {
  return ids ? targets.filter((t) => ids.includes(t.id)) : [...targets];
}
