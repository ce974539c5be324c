/**
 * Key ranges of a bucket for parallel listing. S3 lists one key range at a time (ListObjectsV2 from a start
 * key, in UTF-8 byte order), so a listing of millions of objects is parallel only if it is split by key.
 * Where to split is found by skip-scan: one request with `MaxKeys=1` after `p + c + U+10FFFF` finds the next
 * character that follows `p` in some key, so the distinct branches under a prefix cost one request each,
 * whatever the number of objects. Branches are refined level by level until there are enough of them (or a
 * request cap is reached), then grouped into contiguous ranges.
 *
 * Correctness does not depend on the split: the ranges partition the whole key space whatever the bounds
 * are (segment `i` covers the keys after `bounds[i - 1]` up to and including `bounds[i]`); a poor split only
 * makes one range longer than the others.
 */

/** The one request shard discovery makes: the first key under `prefix` after `startAfter`. */
export type FirstKeyAfter = (prefix: string, startAfter: string | undefined) => Promise<string | undefined>;

/** Options of {@link discoverBounds}. */
export interface DiscoverOptions {
  /** Ranges wanted; the result has at most `shards - 1` bounds. */
  readonly shards: number;
  /** Requests spent at most. @default 256 */
  readonly maxRequests?: number;
  /** Branches found per range wanted before the refinement stops (more balance for more requests). @default 4 */
  readonly branchesPerShard?: number;
}

/** The highest code point: `p + c + MAX_CHAR` sorts after every key starting with `p + c` (bar keys holding it). */
const MAX_CHAR = '\u{10FFFF}';

/** The first code point of `s` after `from` (a whole surrogate pair, not half of one). */
function charAt(s: string, from: number): string | undefined {
  const cp = s.codePointAt(from);
  return cp === undefined ? undefined : String.fromCodePoint(cp);
}

/**
 * The distinct one-character extensions of `p` that keys have (`p + c` for each next character `c`), in key
 * order; undefined when `spend` refuses the first request (partial lists are kept).
 */
async function branchesOf(
  p: string,
  prefix: string,
  firstKeyAfter: FirstKeyAfter,
  spend: () => boolean,
): Promise<string[] | undefined> {
  const out: string[] = [];
  let after: string | undefined = p === prefix ? undefined : p;
  for (;;) {
    if (!spend()) return out.length > 0 ? out : undefined;
    const key = await firstKeyAfter(p, after);
    if (key === undefined || !key.startsWith(p)) return out;
    const c = charAt(key, p.length);
    if (c === undefined) {
      // The key is `p` itself: look past it.
      after = key;
      continue;
    }
    const branch = p + c;
    if (out.at(-1) === branch) {
      // A key holding MAX_CHAR right after the branch came back: step past it, key by key.
      after = key;
      continue;
    }
    out.push(branch);
    after = branch + MAX_CHAR;
  }
}

/**
 * Bounds that split the keys under `prefix` into at most `shards` ranges of about as many branches each.
 * Returns fewer bounds (down to none) for a bucket with few distinct keys.
 */
export async function discoverBounds(
  prefix: string,
  firstKeyAfter: FirstKeyAfter,
  o: DiscoverOptions,
): Promise<string[]> {
  if (o.shards <= 1) return [];
  let left = o.maxRequests ?? 256;
  const spend = () => left-- > 0;
  const wanted = o.shards * (o.branchesPerShard ?? 4);
  let frontier = [prefix];
  for (let depth = 0; depth < 64 && frontier.length < wanted; depth++) {
    const next: string[] = [];
    let grew = false;
    for (const p of frontier) {
      const branches = left > 0 ? await branchesOf(p, prefix, firstKeyAfter, spend) : undefined;
      if (branches === undefined || branches.length === 0) {
        next.push(p);
        continue;
      }
      if (branches.length > 1 || branches[0] !== p) grew = true;
      next.push(...branches);
    }
    frontier = next;
    if (!grew || left <= 0) break;
  }
  if (frontier.length < 2) return [];
  // Group the branches into `shards` contiguous runs; each run's range ends where the next run's first
  // branch starts (a bound is "up to and including", and every key of that branch sorts after it).
  const n = Math.min(o.shards, frontier.length);
  const bounds: string[] = [];
  for (let i = 1; i < n; i++) {
    const first = frontier[Math.floor((i * frontier.length) / n)]!;
    bounds.push(lastBefore(first));
  }
  const bytes = (k: string) => Buffer.from(k, 'utf8');
  return [...new Set(bounds)].sort((a, b) => Buffer.compare(bytes(a), bytes(b)));
}

/**
 * A bound just before `branch`: the range that ends at it holds every key that sorts before `branch`, and
 * the next range (keys after it) starts with `branch` itself. `branch` minus its last character, followed by
 * that character's predecessor and MAX_CHAR, sorts after every key below `branch` that is not `branch`'s
 * own parent followed by MAX_CHAR.
 */
function lastBefore(branch: string): string {
  const chars = Array.from(branch);
  const last = chars.pop()!;
  const cp = last.codePointAt(0)!;
  const parent = chars.join('');
  // The parent itself (a key equal to it) sorts before every extension of it.
  if (cp === 0) return parent;
  // Skip the surrogate range: it is not a code point a key can hold.
  const prev = cp - 1 >= 0xd800 && cp - 1 <= 0xdfff ? 0xd7ff : cp - 1;
  return `${parent}${String.fromCodePoint(prev)}${MAX_CHAR}`;
}

/** Where a key lies in a range, 0 to 1, by its first bytes past what the range's ends share (an estimate). */
export function positionIn(key: string, lo: string | undefined, hi: string | undefined, prefix: string): number {
  const from = Buffer.from(lo ?? prefix, 'utf8');
  const to =
    hi !== undefined ? Buffer.from(hi, 'utf8') : Buffer.concat([Buffer.from(prefix, 'utf8'), Buffer.from([0xff])]);
  const at = Buffer.from(key, 'utf8');
  let common = 0;
  while (common < from.length && common < to.length && from[common] === to[common]) common++;
  const num = (b: Buffer) => {
    let v = 0;
    for (let i = 0; i < 6; i++) v = v * 256 + (b[common + i] ?? 0);
    return v;
  };
  const a = num(from);
  const z = num(to);
  if (z <= a) return 0;
  return Math.min(1, Math.max(0, (num(at) - a) / (z - a)));
}
