/**
 * Latency statistics shared by the benchmarks (local/bench) and the resilience tests: one
 * definition of a percentile, so that every p50 and p99 the project prints means the same thing.
 */

/**
 * The nearest-rank percentile `p` (0 to 100) of `sorted`, which must be in ascending order:
 * the smallest value with at least p % of the values at or below it. NaN when empty.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

/** The median of the finite values in `values` (in any order); NaN when there are none. */
export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `n` rounded to `digits` decimal places (0: whole numbers). */
export function round(n: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(n * scale) / scale;
}

/** The usual latency figures of `samples` (in any order; not modified). */
export interface Summary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** p50, p95, p99 and max of `samples`, rounded to `digits` decimal places (default 3). */
export function summarize(samples: readonly number[], digits = 3): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => round(percentile(sorted, p), digits);
  return { p50: at(50), p95: at(95), p99: at(99), max: at(100) };
}
