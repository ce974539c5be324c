/**
 * Versions: the sortable strings that order the changes of one key (DESIGN.md's envelope `version`), and the
 * one place that builds and compares them. Every kind sorts by plain code-unit order, which is also the order
 * DynamoDB's conditions (`#v < :v`) use, since versions hold only ASCII:
 * - stream versions (DynamoDB): `<15-digit ms>.<40-digit sequence number>`;
 * - object event versions (S3): `s<32 hex>` from the event's sequencer, or `t<15-digit ms>.<tie-breaker>` when
 *   the event has none (moto). A bucket's events either all carry a sequencer (real S3) or none do;
 * - read versions (backfill, repair of tables): a stream version one second before a read, so every change made
 *   after the read sorts after it.
 */
import { MalformedEnvelopeError } from './envelope';

/** Shape of a stream version (DynamoDB): see {@link streamVersion}. */
export const STREAM_VERSION_PATTERN = /^\d{15}\.\d{40}$/;

/** Shape of an object event version (S3): see {@link objectEventVersion}. */
export const OBJECT_VERSION_PATTERN = /^(s[0-9A-F]{32}|t\d{15}\.[\x21-\x7e]*)$/;

/** Orders two versions: negative when `a` is older, 0 when equal, positive when `a` is newer. */
export function compareVersions(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** Whether `a` is strictly newer than `b` (`b` undefined: nothing to beat). */
export function isNewer(a: string, b: string | undefined): boolean {
  return b === undefined || compareVersions(a, b) > 0;
}

/**
 * The version of a stream record: approximate creation time (ms, 15 digits) then the sequence number (40
 * digits). Sequence numbers grow within a key's shard lineage; the time prefix keeps versions ordered across a
 * re-created stream, whose sequence numbers start again.
 */
export function streamVersion(approximateCreationEpochSeconds: number, sequenceNumber: string): string {
  if (!/^\d{1,40}$/.test(sequenceNumber)) {
    throw new MalformedEnvelopeError(`sequence number must be 1-40 digits (given "${sequenceNumber}")`);
  }
  const ms = Math.round(approximateCreationEpochSeconds * 1000);
  return `${String(ms).padStart(15, '0')}.${sequenceNumber.padStart(40, '0')}`;
}

/**
 * The version of a copy of the source read at `readAtMs` (backfill, reconcile repair of tables): one second
 * before the read, so any change made after the read (whose stream version is at least that moment) wins
 * over the copy, and an older one loses to it.
 */
export function readVersion(readAtMs: number): string {
  return streamVersion(Math.floor(readAtMs / 1000) - 1, '0');
}

/** The version of an object event that has a sequencer: `s` + 32 upper-case hex digits. */
export function sequencerVersion(sequencer: string): string {
  const hex = sequencer.toUpperCase();
  if (!/^[0-9A-F]{1,32}$/.test(hex)) {
    throw new MalformedEnvelopeError(`sequencer must be 1-32 hex digits (given "${sequencer}")`);
  }
  return `s${hex.padStart(32, '0')}`;
}

/** The version of an object event without a sequencer: `t` + epoch ms (15 digits) + `.` + a tie-breaker. */
export function timeVersion(eventTimeMs: number, tieBreaker = ''): string {
  if (!Number.isSafeInteger(eventTimeMs) || eventTimeMs < 0) {
    throw new MalformedEnvelopeError(`event time must be a non-negative integer of ms (given ${eventTimeMs})`);
  }
  return `t${String(eventTimeMs).padStart(15, '0')}.${tieBreaker}`;
}

/**
 * The version of an object event: from its sequencer when it has one (S3 documents that the sequencers of one
 * key order its events once left-padded to equal length), else from its time, the versionId or eTag breaking ties.
 */
export function objectEventVersion(event: {
  readonly sequencer?: string;
  readonly eventTimeMs: number;
  readonly versionId?: string;
  readonly eTag?: string;
}): string {
  if (event.sequencer) return sequencerVersion(event.sequencer);
  return timeVersion(event.eventTimeMs, event.versionId ?? event.eTag ?? '');
}

/** The lowest object version: any real event's version sorts after it. */
export const LOWEST_OBJECT_VERSION = `s${'0'.repeat(31)}1`;

/** The object version just after `version`: still before any version a later real event gets. */
export function nextObjectVersion(version: string): string {
  if (version.startsWith('s')) {
    const next = BigInt(`0x${version.slice(1)}`) + 1n;
    return `s${next.toString(16).toUpperCase().padStart(32, '0')}`;
  }
  // `t<ms>.<suffix>`: the next millisecond sorts after every suffix of this one.
  return `t${String(Number(version.slice(1, 16)) + 1).padStart(15, '0')}.`;
}

/**
 * The source write time (epoch ms) a version carries: a stream version's and a `t` version's time; undefined
 * for an `s` version, whose sequencer carries none.
 */
export function versionTime(version: string): number | undefined {
  if (version.startsWith('t')) return Number(version.slice(1, 16));
  if (version.startsWith('s')) return undefined;
  return Number(version.slice(0, 15));
}
