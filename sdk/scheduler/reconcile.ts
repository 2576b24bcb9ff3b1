/**
 * Task reconciliation the way the Mesos reconciliation guide recommends it: **explicit**
 * reconciliation of the tasks whose state the framework does not trust, re-sent for the
 * tasks still unanswered with a truncated exponential backoff until each one got a status
 * update (any update: the master's answer carries `REASON_RECONCILIATION`, but an update
 * from the agent says as much), then **implicit** reconciliation (an empty task list) so
 * the master reports the tasks the framework does not know about. Repeating it periodically
 * is the caller's job (e.g. Marathon's `--reconciliation_interval`).
 *
 * The logic here knows nothing of HTTP: it sends through a {@link ReconcileDriver} (the
 * {@link Scheduler} wires itself in for `scheduler.reconcileTasks`), waits on the injected
 * Clock and sees status updates through `onUpdate`.
 *
 * @module
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../core/clock.js';
import { AgoraError } from '../core/errors.js';
import type { TaskStatus } from '../protocol/index.js';
import type { ReconcileTask } from './calls.js';
import { CallRejectedError, SCHEDULER_OPTIONS_INVALID, SCHEDULER_STATE } from './errors.js';

/** Options of one reconciliation round. Every delay is in milliseconds of the injected Clock. */
export interface ReconcileOptions {
  /** Wait after the first explicit RECONCILE before re-sending it for unanswered tasks (default 1000). */
  initialDelayMs?: number;
  /** Each further wait is the previous one times this (default 2; 1 = constant). */
  factor?: number;
  /** The waits never exceed this (the "truncated" of the backoff; default 60000). */
  maxDelayMs?: number;
  /**
   * Explicit RECONCILE calls sent (failed sends included) before giving up on the tasks still
   * unanswered (default 8: with the defaults, about two minutes). The implicit call gets the
   * same budget of its own.
   */
  maxAttempts?: number;
  /** Finish with implicit reconciliation (default true). */
  implicit?: boolean;
  /** Aborting it ends the round early with outcome `stopped` (nothing more is sent). */
  signal?: AbortSignal;
}

/** The options with their defaults filled in (see {@link compileReconcileOptions}). */
export interface CompiledReconcileOptions {
  initialDelayMs: number;
  factor: number;
  maxDelayMs: number;
  maxAttempts: number;
  implicit: boolean;
  signal: AbortSignal | undefined;
}

/** Defaults of {@link ReconcileOptions}. */
export const RECONCILE_DEFAULTS: Readonly<Omit<CompiledReconcileOptions, 'signal'>> = Object.freeze({
  initialDelayMs: 1000,
  factor: 2,
  maxDelayMs: 60_000,
  maxAttempts: 8,
  implicit: true,
});

/**
 * How a round ended: `complete` (every listed task answered), `gave-up` (`maxAttempts`
 * explicit calls and some tasks never answered), `stopped` (the signal aborted or the
 * scheduler stopped).
 */
export type ReconcileOutcome = 'complete' | 'gave-up' | 'stopped';

/** What a reconciliation round learnt. */
export interface ReconcileResult {
  outcome: ReconcileOutcome;
  /** The latest status update received for each listed task, by task id. */
  statuses: Map<string, TaskStatus>;
  /** Listed tasks that got no update. */
  unanswered: ReconcileTask[];
  /** Explicit RECONCILE calls attempted (0 for an empty list). */
  explicitAttempts: number;
  /** True once the master accepted the implicit RECONCILE. */
  implicitSent: boolean;
}

/** What a reconciliation round needs from its scheduler. */
export interface ReconcileDriver {
  clock: Clock;
  logger?: Logger;
  /** Sends one RECONCILE (an empty list: implicit). */
  send(tasks: ReconcileTask[]): Promise<void>;
  /** Calls `listener` with every status update from now on; returns the unsubscribe. */
  onUpdate(listener: (status: TaskStatus) => void): () => void;
  /** Calls `listener` once the scheduler stops; returns the unsubscribe. */
  onStop(listener: () => void): () => void;
  /** True once the scheduler stopped for good. */
  stopped(): boolean;
}

function invalid(message: string): AgoraError {
  return new AgoraError(SCHEDULER_OPTIONS_INVALID, `reconcileTasks: ${message}`);
}

function nonNegative(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw invalid(`${name} must be a finite number >= 0 (got ${String(value)})`);
  return value;
}

/**
 * Fills in the defaults and checks the options.
 *
 * @throws AgoraError `AGORA_SCHEDULER_OPTIONS_INVALID` naming the bad option.
 * @example compileReconcileOptions({ initialDelayMs: 500 }).maxDelayMs // 60000
 */
export function compileReconcileOptions(options: ReconcileOptions = {}): CompiledReconcileOptions {
  if (options === null || typeof options !== 'object') throw invalid('options must be an object');
  const initialDelayMs = nonNegative('initialDelayMs', options.initialDelayMs ?? RECONCILE_DEFAULTS.initialDelayMs);
  const factor = nonNegative('factor', options.factor ?? RECONCILE_DEFAULTS.factor);
  if (factor < 1) throw invalid(`factor must be >= 1 (got ${factor})`);
  const maxDelayMs = nonNegative('maxDelayMs', options.maxDelayMs ?? RECONCILE_DEFAULTS.maxDelayMs);
  if (maxDelayMs < initialDelayMs) throw invalid(`maxDelayMs (${maxDelayMs}) must be >= initialDelayMs (${initialDelayMs})`);
  const maxAttempts = options.maxAttempts ?? RECONCILE_DEFAULTS.maxAttempts;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw invalid(`maxAttempts must be an integer >= 1 (got ${String(maxAttempts)})`);
  const implicit = options.implicit ?? RECONCILE_DEFAULTS.implicit;
  if (typeof implicit !== 'boolean') throw invalid('implicit must be a boolean');
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw invalid('signal must be an AbortSignal');
  return { initialDelayMs, factor, maxDelayMs, maxAttempts, implicit, signal: options.signal };
}

/**
 * The wait after attempt `attempt` (0-based): `min(maxDelayMs, initialDelayMs·factor^attempt)`.
 * No jitter: reconciliation is one framework talking to its master, not a herd.
 *
 * @example reconcileDelayMs(3, { initialDelayMs: 1000, factor: 2, maxDelayMs: 5000 }) // 5000
 */
export function reconcileDelayMs(attempt: number, o: Pick<CompiledReconcileOptions, 'initialDelayMs' | 'factor' | 'maxDelayMs'>): number {
  return Math.min(o.maxDelayMs, o.initialDelayMs * o.factor ** Math.min(Math.max(attempt, 0), 1024));
}

/**
 * Checks and de-duplicates the task list (the last entry for a task id wins).
 *
 * @throws AgoraError `AGORA_SCHEDULER_OPTIONS_INVALID` naming the bad entry.
 */
export function normalizeReconcileTasks(tasks: unknown): ReconcileTask[] {
  if (!Array.isArray(tasks)) throw invalid('tasks must be an array of { taskId, agentId? }');
  const byId = new Map<string, ReconcileTask>();
  tasks.forEach((t: unknown, n) => {
    const task = t as Partial<ReconcileTask> | null;
    if (task === null || typeof task !== 'object' || typeof task.taskId !== 'string' || task.taskId === '') {
      throw invalid(`tasks[${n}] needs a non-empty string taskId`);
    }
    if (task.agentId !== undefined && (typeof task.agentId !== 'string' || task.agentId === '')) {
      throw invalid(`tasks[${n}].agentId must be a non-empty string when given`);
    }
    byId.set(task.taskId, task.agentId === undefined ? { taskId: task.taskId } : { taskId: task.taskId, agentId: task.agentId });
  });
  return [...byId.values()];
}

/** A 4xx answer: the master refuses this call as it is, so sending it again is pointless. */
function isFatal(err: unknown): boolean {
  return err instanceof CallRejectedError && err.status >= 400 && err.status < 500;
}

/**
 * One reconciliation round. Build it with a driver, call {@link run} once; {@link stop} (or
 * the options' signal) ends it early.
 *
 * @example
 * const round = new TaskReconciliation(driver, [{ taskId: 't1', agentId: 'a1' }], { initialDelayMs: 500 });
 * const { outcome, statuses } = await round.run();
 */
export class TaskReconciliation {
  private readonly opts: CompiledReconcileOptions;
  private readonly pending = new Map<string, ReconcileTask>();
  private readonly statuses = new Map<string, TaskStatus>();
  private readonly listed: ReadonlySet<string>;
  private ended = false;
  private wake: (() => void) | undefined;
  private timer: TimerHandle | undefined;
  private ran = false;

  /** @throws AgoraError `AGORA_SCHEDULER_OPTIONS_INVALID` for a bad task list or option. */
  constructor(private readonly driver: ReconcileDriver, tasks: readonly ReconcileTask[], options: ReconcileOptions = {}) {
    this.opts = compileReconcileOptions(options);
    for (const t of normalizeReconcileTasks(tasks)) this.pending.set(t.taskId, t);
    this.listed = new Set(this.pending.keys());
  }

  /** Ends the round early: nothing more is sent and `run()` resolves with outcome `stopped`. */
  stop(): void {
    this.ended = true;
    this.wakeUp();
  }

  /**
   * Runs the round: explicit reconciliation with backoff, then implicit. Rejects only with
   * a call the master refuses outright (a 4xx `CallRejectedError`); other send failures
   * (not subscribed, master unavailable) count as attempts and are retried.
   *
   * @throws AgoraError `AGORA_SCHEDULER_STATE` when run a second time.
   */
  async run(): Promise<ReconcileResult> {
    if (this.ran) throw new AgoraError(SCHEDULER_STATE, 'a TaskReconciliation runs once');
    this.ran = true;
    const { signal } = this.opts;
    const onAbort = (): void => this.stop();
    if (signal?.aborted === true) this.stop();
    signal?.addEventListener('abort', onAbort, { once: true });
    const offUpdate = this.driver.onUpdate((status) => this.observe(status));
    const offStop = this.driver.onStop(() => this.stop());
    if (this.driver.stopped()) this.stop();
    try {
      const explicitAttempts = await this.explicit();
      let outcome: ReconcileOutcome = this.pending.size === 0 ? 'complete' : 'gave-up';
      let implicitSent = false;
      if (this.ended) outcome = 'stopped';
      else if (this.opts.implicit) {
        implicitSent = await this.implicit();
        if (!implicitSent && this.ended) outcome = 'stopped';
      }
      return {
        outcome,
        statuses: new Map(this.statuses),
        unanswered: [...this.pending.values()],
        explicitAttempts,
        implicitSent,
      };
    } finally {
      this.ended = true;
      this.timer?.cancel();
      offUpdate();
      offStop();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private observe(status: TaskStatus): void {
    const id = status.task_id.value;
    if (!this.listed.has(id)) return;
    this.statuses.set(id, status);
    if (this.pending.delete(id) && this.pending.size === 0) this.wakeUp();
  }

  /** Explicit phase; returns the attempts made. */
  private async explicit(): Promise<number> {
    let attempt = 0;
    while (this.pending.size > 0 && !this.ended && attempt < this.opts.maxAttempts) {
      const tasks = [...this.pending.values()];
      try {
        await this.driver.send(tasks);
        this.driver.logger?.debug({ tasks: tasks.length, attempt: attempt + 1 }, 'explicit reconciliation sent');
      } catch (err) {
        if (isFatal(err)) throw err;
        this.driver.logger?.warn({ err: (err as Error).message, attempt: attempt + 1 }, 'explicit reconciliation could not be sent; will retry');
      }
      const delayMs = reconcileDelayMs(attempt, this.opts);
      attempt++;
      // Wait for the answers (woken early once every task answered, or on stop). After the
      // last attempt this is the grace period for its answers before giving up.
      if (this.pending.size > 0 && !this.ended) await this.sleep(delayMs, () => this.pending.size === 0);
    }
    return attempt;
  }

  /** Implicit phase; true once the call was accepted. */
  private async implicit(): Promise<boolean> {
    for (let attempt = 0; attempt < this.opts.maxAttempts && !this.ended; attempt++) {
      try {
        await this.driver.send([]);
        return true;
      } catch (err) {
        if (isFatal(err)) throw err;
        this.driver.logger?.warn({ err: (err as Error).message, attempt: attempt + 1 }, 'implicit reconciliation could not be sent; will retry');
      }
      if (attempt + 1 < this.opts.maxAttempts) await this.sleep(reconcileDelayMs(attempt, this.opts), () => false);
    }
    return false;
  }

  /** Waits `ms` on the clock, or until `done()` holds when woken, or the round ends. */
  private sleep(ms: number, done: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const finish = (): void => {
        this.timer?.cancel();
        this.timer = undefined;
        this.wake = undefined;
        resolve();
      };
      this.wake = () => {
        if (this.ended || done()) finish();
      };
      this.timer = this.driver.clock.setTimeout(finish, ms);
    });
  }

  private wakeUp(): void {
    this.wake?.();
  }
}
