/**
 * Helpers shared by the benchmarks: settings from environment variables, timing, and the results file.
 *
 * Benchmarks are not tests: they print figures and ratios against a baseline measured in the same run, and
 * never compare a wall-clock time with a fixed threshold.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

/** Where each benchmark writes `<name>.json`. */
export const RESULTS_DIR = join(__dirname, 'results');

/** A positive number from the environment, or the default; a malformed value is an error, not ignored. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (given "${raw}")`);
  return n;
}

/** A boolean switch from the environment (`1`, `true`, `yes` are on). */
export function envFlag(name: string): boolean {
  return /^(1|true|yes)$/i.test(process.env[name] ?? '');
}

/** Milliseconds since an arbitrary origin, sub-millisecond precision. */
export function nowMs(): number {
  return performance.now();
}

/** Items per second, or NaN when there is no time to divide by. */
export function perSecond(items: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (items * 1000) / elapsedMs : Number.NaN;
}

/** Median of a list (NaN when empty). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A number for a table cell: thousands separated, `digits` decimals; `-` for NaN. */
export function num(v: number, digits = 0): string {
  if (!Number.isFinite(v)) return '-';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A ratio for a table cell, e.g. `0.42×`. */
export function ratio(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(v < 0.1 ? 3 : 2)}×` : '-';
}

/** What every results file records about the machine and the run. */
export function runEnvironment(): Record<string, unknown> {
  return {
    timestamp: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
  };
}

/** Writes `bench/results/<name>.json` atomically (via a temporary file) and returns its path. */
export function writeResults(name: string, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.json`);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(tmp, path);
  return path;
}

/** Sleeps for `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A Markdown table, columns padded to their widest cell (as the README's tables are). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${widths.map((w, i) => (cells[i] ?? '').padEnd(w)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
