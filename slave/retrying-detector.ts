/**
 * A leader detector that keeps trying to open its ZooKeeper detector: a slave started
 * while ZooKeeper is unreachable still starts (its executors of a previous run need its
 * HTTP endpoint to re-subscribe), reports "no leader" meanwhile, and follows the masters as
 * soon as ZooKeeper answers — as a Mesos agent does, whose detector retries forever.
 *
 * @module
 */
import type { Clock, TimerHandle } from '../sdk/core/clock.js';
import type { LeaderDetector } from '../sdk/core/leadership.js';
import type { Logger } from '../sdk/core/log.js';
import type { OpenedDetector } from '../sdk/scheduler/leader.js';
import { registrationDelay } from './backoff.js';

export interface RetryingDetectorOptions {
  /** Opens (connects and starts) the real detector; rejects when ZooKeeper cannot be reached. */
  open(): Promise<OpenedDetector>;
  clock: Clock;
  logger: Logger;
  /** Jittered exponential backoff between attempts. */
  backoffMs: number;
  backoffMaxMs: number;
}

/** {@link LeaderDetector} over a detector that is opened, with retries, in the background. */
export class RetryingDetector implements LeaderDetector {
  private opened: OpenedDetector | undefined;
  private unsubscribeOpened: (() => void) | undefined;
  private readonly listeners = new Set<(leaderData: string | undefined) => void>();
  private retryTimer: TimerHandle | undefined;
  private attempt = 0;
  private stopped = false;

  constructor(private readonly o: RetryingDetectorOptions) {}

  /** Makes the first attempt; resolves whether it succeeded or not (later ones run on the clock). */
  async start(): Promise<void> {
    await this.tryOpen();
  }

  /** True once the real detector is open. */
  get connected(): boolean {
    return this.opened !== undefined;
  }

  current(): string | undefined {
    return this.opened?.detector.current();
  }

  onChange(listener: (leaderData: string | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  waitForLeader(timeoutMs: number): Promise<string> {
    const now = this.current();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise<string>((resolve, reject) => {
      const timer = this.o.clock.setTimeout(() => {
        off();
        reject(new Error(`no leading master within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onChange((data) => {
        if (data === undefined) return;
        timer.cancel();
        off();
        resolve(data);
      });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.unsubscribeOpened?.();
    await this.opened?.close();
  }

  private async tryOpen(): Promise<void> {
    let opened: OpenedDetector;
    try {
      opened = await this.o.open();
    } catch (err) {
      if (this.stopped) return;
      const delayMs = registrationDelay(this.attempt++, this.o.backoffMs, this.o.backoffMaxMs);
      this.o.logger.warn({ err: (err as Error).message, retry_in_ms: delayMs }, 'cannot follow the leading master through ZooKeeper; retrying');
      this.retryTimer = this.o.clock.setTimeout(() => {
        this.retryTimer = undefined;
        void this.tryOpen();
      }, delayMs);
      return;
    }
    if (this.stopped) {
      await opened.close();
      return;
    }
    if (this.attempt > 0) this.o.logger.info({ attempts: this.attempt + 1 }, 'following the leading master through ZooKeeper');
    this.opened = opened;
    this.unsubscribeOpened = opened.detector.onChange((data) => this.emit(data));
    const leader = opened.detector.current();
    if (leader !== undefined) this.emit(leader);
  }

  private emit(data: string | undefined): void {
    for (const listener of [...this.listeners]) listener(data);
  }
}
