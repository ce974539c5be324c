/**
 * Integrity of S3 copies: what a HEAD says of an object's bytes, and the one rule that decides whether a copy
 * matches its source (used by the copier after every copy and by reconcile for every suspect).
 */

/** Checksum algorithms a copy can ask S3 to compute (CHECKSUM_ALGORITHM). */
export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;
/** A checksum algorithm a copy can ask S3 to compute. */
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** What HeadObject (ChecksumMode ENABLED) says about an object's bytes. */
export interface ObjectIntegrity {
  readonly size: number;
  /** As S3 returns it (quoted or not). */
  readonly etag: string;
  /** Stored checksums by algorithm (base64; composite ones may end in `-N`). */
  readonly checksums: Partial<Record<ChecksumAlgorithm, string>>;
  /** FULL_OBJECT or COMPOSITE; absent when S3 (or moto) does not say. */
  readonly checksumType?: string;
  /** ServerSideEncryption header (AES256, aws:kms, …); absent when unencrypted. */
  readonly sse?: string;
}

/** The outcome of comparing a target object with its source. */
export type IntegrityCheck =
  | { readonly status: 'verified'; readonly by: 'checksum' | 'etag' }
  /** Sizes match but nothing else could be compared: counted as UnverifiedCopies. */
  | { readonly status: 'unverified' }
  | { readonly status: 'mismatch'; readonly reason: string };

/** Strips an ETag's quotes (S3 quotes them in headers, not in events). */
export function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/"/g, '').toLowerCase();
}

/** Whether an ETag is a multipart one ("<md5 of part md5s>-<parts>"): never comparable with a single-part one. */
export function isMultipartEtag(etag: string): boolean {
  return /-\d+$/.test(normalizeEtag(etag));
}

/**
 * An object's full-object checksum of this algorithm, or undefined when it has none that is comparable.
 * A composite checksum (of part checksums) depends on the part layout, so it never is. Real S3 marks it
 * with ChecksumType COMPOSITE and a `-N` suffix; moto drops the suffix and the type, so a checksum of an
 * object with a multipart ETag and no explicit FULL_OBJECT type is treated as composite too.
 */
export function fullObjectChecksum(o: ObjectIntegrity, algorithm: ChecksumAlgorithm): string | undefined {
  const value = o.checksums[algorithm];
  if (!value || value.includes('-')) return undefined;
  if (o.checksumType === 'COMPOSITE') return undefined;
  if (o.checksumType === undefined && isMultipartEtag(o.etag)) return undefined;
  return value;
}

/** ETags are MD5 digests of the data only for single-part objects stored in plain text or with SSE-S3. */
function etagIsMd5(o: ObjectIntegrity): boolean {
  return !isMultipartEtag(o.etag) && (o.sse === undefined || o.sse === 'AES256');
}

/**
 * Compares a copy with its source: sizes always; then the full-object checksum of the requested algorithm
 * when both have one; else the ETags when both are MD5 digests (single-part, unencrypted or SSE-S3). When
 * neither can be compared — the source was uploaded without a checksum of this algorithm (or in parts with
 * a composite one) and one side's ETag is not an MD5 — only the size was checked: `unverified`, counted by
 * the caller, never silently passed off as verified.
 */
export function verifyCopy(
  source: ObjectIntegrity,
  target: ObjectIntegrity,
  algorithm: ChecksumAlgorithm,
): IntegrityCheck {
  if (source.size !== target.size) {
    return { status: 'mismatch', reason: `size ${target.size} on the target, ${source.size} on the source` };
  }
  const s = fullObjectChecksum(source, algorithm);
  const t = fullObjectChecksum(target, algorithm);
  if (s !== undefined && t !== undefined) {
    return s === t
      ? { status: 'verified', by: 'checksum' }
      : { status: 'mismatch', reason: `${algorithm} ${t} on the target, ${s} on the source` };
  }
  if (etagIsMd5(source) && etagIsMd5(target)) {
    return normalizeEtag(source.etag) === normalizeEtag(target.etag)
      ? { status: 'verified', by: 'etag' }
      : { status: 'mismatch', reason: `ETag ${target.etag} on the target, ${source.etag} on the source` };
  }
  return { status: 'unverified' };
}
