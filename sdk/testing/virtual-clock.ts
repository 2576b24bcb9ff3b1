/**
 * A {@link Clock} whose time moves only when a test says so. Timers fire in deadline order
 * (ties in the order they were set), so a run is reproducible: the same calls give the same
 * firings. Two ways to move time:
 *
 * - {@link VirtualClock.advance} fires the due timers synchronously — for code whose
 *   reactions are synchronous (unit tests of one component);
 * - {@link VirtualClock.tick} fires them one at a time and lets promises (and every timer
 *   due at the new time, e.g. in-memory message deliveries) settle after each — what a whole
 *   in-process cluster needs.
 *
 * With `autoRunDue`, timers due at the current time (zero-delay timers: the master's
 * allocation coalescing, in-memory deliveries) also run by themselves, one per event-loop
 * turn, so work that needs no time still happens while time stands still.
 *
 * @module
 */
import { AgoraError } from '../core/errors.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { TESTING_BAD_INPUT, TESTING_BAD_OPTIONS, TESTING_LIVELOCK } from './errors.js';

/** A timer set on a {@link VirtualClock}, as {@link VirtualClock.pending} lists it. */
export interface VirtualTimer {
  /** Unique per clock, increasing in the order timers were set. */
  readonly id: number;
  /** The delay asked for (ms, negative delays count as 0). */
  readonly delay: number;
  /** Virtual time (ms) of the next firing. */
  at: number;
  /** True once a one-shot timer fired. */
  fired: boolean;
  /** True once cancelled. */
  cancelled: boolean;
}

/** Options of {@link VirtualClock}. */
export interface VirtualClockOptions {
  /** Default 0: the starting time (ms since the epoch), e.g. `Date.UTC(2026, 0, 1)`. */
  startMs?: number;
  /**
   * Default `false`: run timers due at the current time by themselves (one per event-loop
   * turn, through `setImmediate`). Time still moves only with `advance`/`tick`.
   */
  autoRunDue?: boolean;
  /**
   * Default 100000: how many timers one {@link VirtualClock.runUntilIdle} (or one step of
   * {@link VirtualClock.tick}) may fire at a single instant before it decides the system
   * livelocks and throws `AGORA_TESTING_LIVELOCK`.
   */
  stepLimit?: number;
}

interface Entry {
  timer: VirtualTimer;
  fn: () => void;
  every?: number;
  /** Tie-break among equal deadlines: the order of (re)scheduling. */
  order: number;
}

/** `a` fires before `b`. */
function before(a: Entry, b: Entry): boolean {
  return a.timer.at < b.timer.at || (a.timer.at === b.timer.at && a.order < b.order);
}

/** A binary min-heap of entries (cancelled ones are skipped lazily). */
class TimerHeap {
  private readonly items: Entry[] = [];

  get size(): number {
    return this.items.length;
  }

  push(e: Entry): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  peek(): Entry | undefined {
    return this.items[0];
  }

  pop(): Entry | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function checkMs(what: string, ms: unknown): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new AgoraError(TESTING_BAD_INPUT, `${what} must be a finite number of ms >= 0, got ${String(ms)}`);
  }
  return ms;
}

/** One event-loop turn: every microtask queued so far (and those they queue) runs first. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Virtual time for tests and for {@link TestCluster}.
 *
 * @example
 * const clock = new VirtualClock();
 * const fired: number[] = [];
 * clock.setTimeout(() => fired.push(clock.now()), 1000);
 * clock.advance(5000);            // fired = [1000]; clock.now() = 5000
 */
export class VirtualClock implements Clock {
  private time: number;
  private seq = 0;
  private order = 0;
  private readonly heap = new TimerHeap();
  private readonly live = new Map<number, Entry>();
  private readonly registrations: Array<{ pred: (t: VirtualTimer) => boolean; resolve: (t: VirtualTimer) => void }> = [];
  private readonly autoRunDue: boolean;
  private readonly stepLimit: number;
  private pumpScheduled = false;
  private stopped = false;

  constructor(options: VirtualClockOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new AgoraError(TESTING_BAD_OPTIONS, 'VirtualClock options must be an object');
    const start = options.startMs ?? 0;
    if (typeof start !== 'number' || !Number.isFinite(start) || start < 0) {
      throw new AgoraError(TESTING_BAD_OPTIONS, `startMs must be a finite number >= 0, got ${String(options.startMs)}`);
    }
    const limit = options.stepLimit ?? 100_000;
    if (!Number.isInteger(limit) || limit < 1) throw new AgoraError(TESTING_BAD_OPTIONS, `stepLimit must be an integer >= 1, got ${String(options.stepLimit)}`);
    this.time = start;
    this.autoRunDue = options.autoRunDue === true;
    this.stepLimit = limit;
  }

  /** Virtual ms since the epoch. */
  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, Math.max(1, Number.isFinite(ms) ? ms : 1));
  }

  private add(fn: () => void, ms: number, every?: number): TimerHandle {
    const delay = Number.isFinite(ms) ? Math.max(0, ms) : 0;
    // An interval first fires after its delay (0 → at once), then every `every` (>= 1) ms.
    const timer: VirtualTimer = { id: ++this.seq, delay, at: this.time + delay, fired: false, cancelled: false };
    const entry: Entry = { timer, fn, order: ++this.order, ...(every !== undefined ? { every } : {}) };
    this.live.set(timer.id, entry);
    this.heap.push(entry);
    for (const r of [...this.registrations]) {
      if (r.pred(timer)) {
        this.registrations.splice(this.registrations.indexOf(r), 1);
        r.resolve(timer);
      }
    }
    if (timer.at <= this.time) this.schedulePump();
    return {
      cancel: () => {
        timer.cancelled = true;
        this.live.delete(timer.id);
      },
    };
  }

  /** Timers not yet fired nor cancelled, earliest first. */
  pending(): VirtualTimer[] {
    return [...this.live.values()].sort((a, b) => (before(a, b) ? -1 : 1)).map((e) => e.timer);
  }

  /** Resolves with the next timer set from now on that matches `pred`. */
  nextTimer(pred: (t: VirtualTimer) => boolean = () => true): Promise<VirtualTimer> {
    return new Promise((resolve) => this.registrations.push({ pred, resolve }));
  }

  /** The virtual time of the earliest pending timer, or undefined when none is pending. */
  nextDueAt(): number | undefined {
    return this.peekLive()?.timer.at;
  }

  /** True when a timer is due at the current time. */
  hasDue(): boolean {
    const next = this.peekLive();
    return next !== undefined && next.timer.at <= this.time;
  }

  private peekLive(): Entry | undefined {
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined) return undefined;
      if (this.live.get(top.timer.id) === top) return top;
      this.heap.pop();
    }
  }

  /** Fires the earliest timer if it is due at or before `limit`, moving time to it. */
  private fireNext(limit: number): boolean {
    const next = this.peekLive();
    if (next === undefined || next.timer.at > limit) return false;
    this.heap.pop();
    if (next.timer.at > this.time) this.time = next.timer.at;
    if (next.every === undefined) {
      this.live.delete(next.timer.id);
      next.timer.fired = true;
    } else {
      next.timer.at += next.every;
      next.order = ++this.order;
      this.heap.push(next);
    }
    next.fn();
    return true;
  }

  private schedulePump(): void {
    if (!this.autoRunDue || this.pumpScheduled || this.stopped) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      if (this.stopped) return;
      // One timer per turn: the promises it starts settle before the next one fires.
      this.fireNext(this.time);
      if (this.hasDue()) this.schedulePump();
    });
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way in deadline order
   * (timers set by fired timers included when due), synchronously.
   *
   * @returns how many timers fired.
   * @throws AgoraError `AGORA_TESTING_BAD_INPUT` for a negative or non-finite `ms`.
   */
  advance(ms: number): number {
    const target = this.time + checkMs('advance(ms)', ms);
    let fired = 0;
    while (this.fireNext(target)) {
      if (++fired > this.stepLimit * 10) throw new AgoraError(TESTING_LIVELOCK, `advance(${ms}) fired more than ${this.stepLimit * 10} timers; a timer keeps rescheduling itself`);
    }
    this.time = target;
    this.schedulePump();
    return fired;
  }

  /**
   * Lets the system settle at the current time: one event-loop turn at a time (every
   * pending promise continuation runs), firing the timers due now, until a turn finds
   * nothing due.
   *
   * @returns how many timers fired.
   * @throws AgoraError `AGORA_TESTING_LIVELOCK` after `stepLimit` timers at one instant.
   */
  async runUntilIdle(): Promise<number> {
    let fired = 0;
    for (;;) {
      await nextTurn();
      if (!this.hasDue()) {
        // A second turn catches continuations queued by the last turn's macrotasks.
        await nextTurn();
        if (!this.hasDue()) return fired;
      }
      while (this.hasDue()) {
        this.fireNext(this.time);
        if (++fired > this.stepLimit) {
          throw new AgoraError(TESTING_LIVELOCK, `runUntilIdle: still busy after ${this.stepLimit} timers at t=${this.time} (something reschedules itself at zero delay)`);
        }
        await nextTurn();
      }
    }
  }

  /**
   * Moves time forward by `ms` like {@link advance}, but fires one timer at a time and
   * settles ({@link runUntilIdle}) after each, so asynchronous reactions happen at the
   * virtual time they would have in production.
   *
   * @returns how many timers fired.
   */
  async tick(ms: number): Promise<number> {
    const target = this.time + checkMs('tick(ms)', ms);
    let fired = await this.runUntilIdle();
    while (this.fireNext(target)) {
      fired += 1 + await this.runUntilIdle();
    }
    this.time = target;
    fired += await this.runUntilIdle();
    return fired;
  }

  /** Stops the automatic running of due timers (pending timers stay; advance still works). */
  stop(): void {
    this.stopped = true;
  }
}
