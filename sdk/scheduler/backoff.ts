/**
 * Reconnection backoff arithmetic (pure): exponential growth capped at a maximum, with
 * "equal jitter" so that many schedulers losing the same master do not come back in step.
 *
 * @module
 */

/**
 * The delay before reconnection attempt `attempt` (0-based): half of
 * `min(maxMs, baseMs·2^attempt)` plus a random share of the other half.
 *
 * @param random a number in [0, 1); `Math.random` in production, a constant in tests.
 * @example
 * backoffDelayMs(0, 500, 10_000, () => 0.5) // 375  (250 + 0.5·250)
 * backoffDelayMs(10, 500, 10_000, () => 0)  // 5000 (capped at 10000, half of it fixed)
 */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 52));
  const half = exp / 2;
  return Math.round(half + Math.min(Math.max(random(), 0), 1) * half);
}
