/**
 * Summary statistics of a benchmark's samples: percentiles by the nearest-rank method
 * (the p99 of 100 samples is the 99th smallest), rounded for the JSON line.
 *
 * @module
 */

/** Percentiles of a set of samples (same unit as the samples). */
export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Rounds to `digits` decimals (figures are printed, not computed on). */
export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The nearest-rank `q`-quantile (0 < q ≤ 1) of sorted samples; NaN for none. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** p50/p90/p99/max/mean of `samples`, rounded to `digits` decimals; all 0 for no samples. */
export function percentiles(samples: readonly number[], digits = 2): Percentiles {
  if (samples.length === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const sorted = Float64Array.from(samples).sort();
  const arr = Array.from(sorted);
  let sum = 0;
  for (const x of arr) sum += x;
  return {
    count: arr.length,
    p50: round(quantile(arr, 0.5), digits),
    p90: round(quantile(arr, 0.9), digits),
    p99: round(quantile(arr, 0.99), digits),
    max: round(arr[arr.length - 1]!, digits),
    mean: round(sum / arr.length, digits),
  };
}

/** The median of `samples` (NaN for none). */
export function median(samples: readonly number[]): number {
  return quantile([...samples].sort((a, b) => a - b), 0.5);
}

/** Milliseconds elapsed since `start` (a `process.hrtime.bigint()` value). */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}
