/**
 * Bounded waiting for tests. Nothing here sleeps to synchronise: {@link EventLog} resolves
 * as soon as a matching event is recorded, and {@link waitFor} re-checks a condition that
 * has no event of its own (a process disappearing, an HTTP resource changing) until it holds
 * or its time bound runs out — the bound is a failure limit, never a timing assertion.
 *
 * @module
 */

/** Thrown when a bounded wait runs out; names what was awaited. */
export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
}

/**
 * Events recorded in order, with waiting: {@link waitFor} looks at the events already
 * recorded first, then at new ones, so no event can be missed between "act" and "wait".
 */
export class EventLog<T> {
  readonly events: T[] = [];
  private waiters = new Set<{ match: (e: T) => boolean; resolve: (e: T) => void; reject: (err: Error) => void }>();
  private closedWith?: Error;

  push(event: T): void {
    this.events.push(event);
    for (const w of [...this.waiters]) {
      if (w.match(event)) {
        this.waiters.delete(w);
        w.resolve(event);
      }
    }
  }

  /** No more events will come (the process exited): pending and later waits fail with `err`. */
  close(err: Error): void {
    this.closedWith = err;
    for (const w of [...this.waiters]) w.reject(err);
    this.waiters.clear();
  }

  /** Events matching `match`, in order. */
  filter(match: (e: T) => boolean): T[] {
    return this.events.filter(match);
  }

  /** The first event (recorded or to come) matching `match`; rejects after `timeoutMs`. */
  waitFor(match: (e: T) => boolean, timeoutMs: number, what = 'an event', after = 0): Promise<T> {
    for (let i = after; i < this.events.length; i++) if (match(this.events[i]!)) return Promise.resolve(this.events[i]!);
    if (this.closedWith) return Promise.reject(new WaitTimeoutError(`${what}: ${this.closedWith.message}`));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const waiter = {
        match,
        resolve: (e: T): void => {
          clearTimeout(timer);
          resolve(e);
        },
        reject: (err: Error): void => {
          clearTimeout(timer);
          reject(new WaitTimeoutError(`${what}: ${err.message}`));
        },
      };
      this.waiters.add(waiter);
    });
  }
}

/**
 * Re-checks `check` until it returns something other than `undefined`/`false`, at most
 * `timeoutMs` (and at most `timeoutMs / intervalMs + 1` checks). For conditions with no event
 * to wait on: a PID gone, a slave's /state showing a task. Errors thrown by `check` count
 * as "not yet" and the last one is reported on timeout.
 */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  opts: { timeoutMs: number; what: string; intervalMs?: number },
): Promise<T> {
  const interval = opts.intervalMs ?? 100;
  const deadline = Date.now() + opts.timeoutMs;
  const maxChecks = Math.ceil(opts.timeoutMs / interval) + 1;
  let lastError: unknown;
  for (let i = 0; i < maxChecks; i++) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, interval));
  }
  const why = lastError ? ` (last error: ${(lastError as Error).message ?? String(lastError)})` : '';
  throw new WaitTimeoutError(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${why}`);
}

/** Resolves with the promise's value, or rejects naming `what` after `timeoutMs`. */
export function withTimeout<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    }),
  ]);
}
