/**
 * Re-subscription backoff (pure). Mesos's executor library waits a random time up to
 * `MESOS_SUBSCRIPTION_BACKOFF_MAX` before each attempt; we grow the ceiling exponentially
 * from {@link INITIAL_BACKOFF_MS} to that maximum and pick uniformly below it ("full jitter"),
 * so a slave that restarts is not hit by all its executors at once.
 *
 * @module
 */

/** Ceiling of the first retry's delay. */
export const INITIAL_BACKOFF_MS = 100;

/**
 * Delay before re-subscription attempt number `attempt` (0-based).
 *
 * @example
 * ```ts
 * subscriptionBackoffMs(0, 2000, Math.random); // in [0, 100)
 * subscriptionBackoffMs(10, 2000, () => 0.5);  // 1000
 * ```
 */
export function subscriptionBackoffMs(attempt: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, INITIAL_BACKOFF_MS * 2 ** Math.min(attempt, 30));
  return Math.floor(ceiling * Math.min(Math.max(random(), 0), 1));
}
