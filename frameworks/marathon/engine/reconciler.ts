/**
 * Task reconciliation with the master (Marathon's `ReconcileTasks`, through the SDK's
 * `reconcileTasks`): **explicit** reconciliation of every task Marathon knows, re-sent with
 * a truncated exponential backoff for the tasks the master has not answered yet (the master
 * answers with their latest state, or GONE/UNKNOWN/UNREACHABLE, which the status handler
 * acts upon), then **implicit** reconciliation (the master reports every task it has for the
 * framework; live ones Marathon does not know are killed by the status handler).
 *
 * When: Marathon's schedule — first `initialDelayMs` (`--reconciliation_initial_delay`,
 * 15 s) after the engine starts, then every `intervalMs` (`--reconciliation_interval`,
 * 10 min) — plus a round on every SUBSCRIBED (Agora's addition: a fresh or failed-over
 * subscription is when the Mesos guide says to reconcile, and it makes a restarted
 * Marathon learn its tasks' states at once). A new round aborts one still running.
 *
 * A round is never awaited inside an event handler: the answers it waits for are events
 * queued behind that handler.
 *
 * @module
 */
import type { Clock, TimerHandle } from '../../../sdk/core/clock.js';
import type { Logger } from '../../../sdk/core/log.js';
import type { ReconcileOptions, ReconcileResult } from '../../../sdk/scheduler/index.js';
import { hasTask } from './conditions.js';
import type { MarathonFramework } from './framework.js';
import type { InstanceTracker } from './instance-tracker.js';

/** Marathon's `--reconciliation_interval` default (10 minutes). */
export const DEFAULT_RECONCILIATION_INTERVAL_MS = 600_000;
/** Marathon's `--reconciliation_initial_delay` default (15 seconds). */
export const DEFAULT_RECONCILIATION_INITIAL_DELAY_MS = 15_000;

export interface ReconcilerOptions {
  intervalMs: number;
  initialDelayMs: number;
  /** The explicit phase's backoff (the SDK's defaults otherwise). */
  backoff?: Omit<ReconcileOptions, 'signal' | 'implicit'>;
}

export class Reconciler {
  private initialTimer: TimerHandle | undefined;
  private intervalTimer: TimerHandle | undefined;
  private current: AbortController | undefined;
  private stopped = false;

  constructor(
    private readonly tracker: InstanceTracker,
    private readonly framework: () => MarathonFramework | undefined,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly o: ReconcilerOptions,
  ) {}

  /** Starts the periodic schedule: a round after `initialDelayMs`, then every `intervalMs`. */
  start(): void {
    if (this.stopped || this.initialTimer !== undefined || this.intervalTimer !== undefined) return;
    this.initialTimer = this.clock.setTimeout(() => {
      this.initialTimer = undefined;
      if (this.stopped) return;
      this.intervalTimer = this.clock.setInterval(() => this.trigger('periodic'), this.o.intervalMs);
      this.trigger('periodic');
    }, this.o.initialDelayMs);
  }

  /** A (re)subscription: reconcile now. Returns at once (the round runs in the background). */
  subscribed(): void {
    this.trigger('subscribed');
  }

  /** Cancels the schedule and the running round. */
  stop(): void {
    this.stopped = true;
    this.initialTimer?.cancel();
    this.intervalTimer?.cancel();
    this.initialTimer = undefined;
    this.intervalTimer = undefined;
    this.current?.abort();
    this.current = undefined;
  }

  private trigger(why: 'subscribed' | 'periodic'): void {
    void this.reconcile(why).catch((err: unknown) => {
      this.logger.warn({ err: (err as Error).message }, 'task reconciliation failed');
    });
  }

  /**
   * One round: explicit for the tasks Marathon knows (with backoff), then implicit. Aborts
   * the previous round. Resolves undefined when not subscribed (the next SUBSCRIBED reconciles).
   */
  async reconcile(why: 'subscribed' | 'periodic' | 'request' = 'request'): Promise<ReconcileResult | undefined> {
    const framework = this.framework();
    if (this.stopped || framework === undefined || !framework.subscribed) {
      this.logger.debug({ why }, 'not subscribed: reconciliation skipped');
      return undefined;
    }
    this.current?.abort();
    const controller = new AbortController();
    this.current = controller;
    const known = this.tracker.all().filter(hasTask).map((i) => ({ taskId: i.taskId, ...(i.agentId !== undefined ? { agentId: i.agentId } : {}) }));
    this.logger.info({ tasks: known.length, why }, 'reconciling tasks');
    try {
      const result = await framework.reconcileTasks(known, { ...this.o.backoff, signal: controller.signal });
      const summary = {
        why, outcome: result.outcome, answered: result.statuses.size, explicitAttempts: result.explicitAttempts, implicitSent: result.implicitSent,
      };
      if (result.outcome === 'gave-up') {
        this.logger.warn({ ...summary, unanswered: result.unanswered.map((t) => t.taskId) }, 'reconciliation: the master did not answer for some tasks');
      } else {
        this.logger.info(summary, 'reconciliation done');
      }
      return result;
    } finally {
      if (this.current === controller) this.current = undefined;
    }
  }
}
