/**
 * Named timers over the injected Clock: setting a key replaces (cancels) its previous timer,
 * so a framework or agent never has two failover/removal timers, and `cancelAll` on close
 * leaves nothing behind.
 *
 * @module
 */
import type { Clock, TimerHandle } from '../sdk/core/clock.js';

/** Largest delay a Node timer accepts (2^31 − 1 ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export class Timers {
  private readonly handles = new Map<string, TimerHandle>();

  constructor(private readonly clock: Clock) {}

  /**
   * Runs `fn` once after `ms`, replacing any timer under `key`. Delays beyond what a JS
   * timer holds (~24.8 days, e.g. a week-long failover timeout × 4) are chained.
   */
  timeout(key: string, ms: number, fn: () => void): void {
    this.cancel(key);
    const step = Math.min(Math.max(0, ms), MAX_TIMER_MS);
    const handle = this.clock.setTimeout(() => {
      if (this.handles.get(key) !== handle) return;
      this.handles.delete(key);
      if (ms > MAX_TIMER_MS) this.timeout(key, ms - MAX_TIMER_MS, fn);
      else fn();
    }, step);
    this.handles.set(key, handle);
  }

  /** Runs `fn` every `ms`, replacing any timer under `key`. */
  interval(key: string, ms: number, fn: () => void): void {
    this.cancel(key);
    this.handles.set(key, this.clock.setInterval(fn, ms));
  }

  has(key: string): boolean {
    return this.handles.has(key);
  }

  cancel(key: string): void {
    const h = this.handles.get(key);
    if (h !== undefined) {
      h.cancel();
      this.handles.delete(key);
    }
  }

  cancelAll(): void {
    for (const h of this.handles.values()) h.cancel();
    this.handles.clear();
  }
}
