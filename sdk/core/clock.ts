/**
 * The one injected clock. Every timer in Agora (heartbeats, offer timeouts, filters,
 * backoff, failover timeouts) goes through a Clock so tests can run on virtual time.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Runs `fn` every `ms` milliseconds until cancelled. */
  setInterval(fn: () => void, ms: number): TimerHandle;
}

/**
 * The wall clock. Timers are unref'd so that they never keep a process alive alone.
 *
 * A delay of 0 or less (or NaN) runs at the end of the current event-loop turn, with
 * `setImmediate`, in the order set: Node's `setTimeout` waits at least 1 ms, and on the
 * master's hot paths (an allocation pass asked for when resources are freed, with nothing to
 * wait for) that millisecond was most of the time from a finished task to its resources'
 * next offer (bench `offers`: p50 0.66–0.76 → 0.18–0.29 ms).
 *
 * That immediate stays ref'd: it cannot keep a process alive past the turn it runs in, and
 * an unref'd one does not stop the event loop from blocking in its wait for I/O. Set from a
 * timer callback on a quiet process (the master's filter-expiry timer asking for an
 * allocation pass), an unref'd immediate ran only when some unrelated socket or timer woke
 * the loop: declined resources came back seconds after their filter expired.
 */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    if (!(ms > 0)) {
      const i = setImmediate(fn);
      return { cancel: () => clearImmediate(i) };
    }
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    const t = setInterval(fn, Math.max(1, ms));
    t.unref();
    return { cancel: () => clearInterval(t) };
  }
}

export const systemClock: Clock = new SystemClock();
