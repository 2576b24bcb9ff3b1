/**
 * Backoff arithmetic, pure: the master link's jittered registration backoff and the status
 * update manager's doubling retry interval.
 *
 * @module
 */

/**
 * Delay before registration attempt number `attempt` (0-based): a uniformly random value
 * in `[b/2, b]` where `b = min(capMs, baseMs * 2^attempt)`. Jitter spreads the slaves of a
 * failed-over master so they do not all re-register at once (Mesos randomises the same way).
 *
 * @param random a number in [0, 1) (injected for tests; `Math.random()` by default).
 */
export function registrationDelay(attempt: number, baseMs: number, capMs: number, random: number = Math.random()): number {
  const bound = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
  return Math.round(bound / 2 + (bound / 2) * random);
}

/** The next status update retry interval: doubled, capped at `maxMs`. */
export function nextRetryInterval(currentMs: number, maxMs: number): number {
  return Math.min(maxMs, currentMs * 2);
}
