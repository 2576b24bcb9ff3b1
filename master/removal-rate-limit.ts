/**
 * Pure: the agent-removal rate limit (Mesos `--agent_removal_rate_limit`, `<N>/<duration>`
 * such as `1/10mins`). Agents that failed their health checks wait in a queue and are
 * released for removal at most N per duration, spaced evenly (one every duration ÷ N, like
 * Mesos's `process::RateLimiter`), so a network blip cannot mark the whole cluster
 * unreachable at once. An agent that comes back while queued is simply taken out of the queue.
 *
 * No timers here: the caller asks {@link RemovalQueue.release} at the time
 * {@link RemovalQueue.nextReleaseAt} names (through the injected Clock).
 *
 * @module
 */
import { AgoraError } from '../sdk/core/errors.js';
import { parseDuration } from '../sdk/core/duration.js';

/** A parsed `<N>/<duration>` rate. */
export interface RemovalRateLimit {
  /** Removals allowed per period (N). */
  permits: number;
  /** The period in ms. */
  periodMs: number;
  /** The text it was parsed from (shown by `/flags`). */
  text: string;
}

/**
 * Parses `<N>/<duration>` (`1/10secs`, `1/10s`, `2/3hrs`). Throws `AGORA_MASTER_BAD_OPTION` with the
 * reason on anything else (no slash, N not a positive integer, a bad or zero duration).
 */
export function parseRemovalRateLimit(text: string): RemovalRateLimit {
  const bad = (why: string): AgoraError => new AgoraError(
    'AGORA_MASTER_BAD_OPTION',
    `agent removal rate limit ${JSON.stringify(text)} is invalid: ${why} (expected <number of agents>/<duration>, e.g. 1/10mins)`,
  );
  if (typeof text !== 'string') throw bad('not a string');
  const parts = text.split('/');
  if (parts.length !== 2) throw bad('expected exactly one "/"');
  const [n, d] = parts as [string, string];
  if (!/^\s*\d+\s*$/.test(n)) throw bad(`${JSON.stringify(n)} is not a whole number of agents`);
  const permits = Number(n);
  if (!Number.isSafeInteger(permits) || permits <= 0) throw bad('the number of agents must be at least 1');
  let periodMs: number;
  try {
    periodMs = parseDuration(d);
  } catch (err) {
    throw new AgoraError('AGORA_MASTER_BAD_OPTION', `agent removal rate limit ${JSON.stringify(text)} is invalid: ${(err as Error).message}`, { cause: err });
  }
  if (!(periodMs > 0)) throw bad('the duration must be positive');
  return { permits, periodMs, text: text.trim() };
}

/**
 * Removals waiting for the rate limit, in arrival order, each with its payload (why the
 * agent is being removed). Without a limit everything queued is released at once.
 */
export class RemovalQueue<T> {
  private readonly queue = new Map<string, T>();
  private lastReleaseAt?: number;

  constructor(readonly limit: RemovalRateLimit | undefined) {}

  /** ms between two releases; 0 without a limit. */
  get intervalMs(): number {
    return this.limit === undefined ? 0 : this.limit.periodMs / this.limit.permits;
  }

  get size(): number {
    return this.queue.size;
  }

  has(id: string): boolean {
    return this.queue.has(id);
  }

  /** Queues a removal; false (nothing changes) when `id` is already queued. */
  enqueue(id: string, payload: T): boolean {
    if (this.queue.has(id)) return false;
    this.queue.set(id, payload);
    return true;
  }

  /** Takes `id` out of the queue (the agent came back); true when it was queued. */
  cancel(id: string): boolean {
    return this.queue.delete(id);
  }

  /**
   * The removals that may go at `now`, oldest first: all of them without a limit, else at
   * most one, and only when a whole interval passed since the previous release.
   */
  release(now: number): Array<[string, T]> {
    if (this.queue.size === 0) return [];
    if (this.limit === undefined) {
      const all = [...this.queue.entries()];
      this.queue.clear();
      return all;
    }
    if (this.lastReleaseAt !== undefined && now - this.lastReleaseAt < this.intervalMs) return [];
    const first = this.queue.entries().next().value as [string, T];
    this.queue.delete(first[0]);
    this.lastReleaseAt = now;
    return [first];
  }

  /** When the next queued removal may be released (undefined when nothing waits). */
  nextReleaseAt(now: number): number | undefined {
    if (this.queue.size === 0) return undefined;
    if (this.limit === undefined || this.lastReleaseAt === undefined) return now;
    return Math.max(now, this.lastReleaseAt + this.intervalMs);
  }
}
