/**
 * Task reconciliation with the master (Marathon's TaskReconciliation): on every
 * SUBSCRIBED and then every `intervalMs`, explicit reconciliation of every task Marathon
 * knows (the master answers with their latest state, or GONE/UNKNOWN for ones it does not
 * know, which the status handler turns into replacements), followed by implicit
 * reconciliation (the master reports every task it has for the framework; those Marathon
 * does not know are killed by the status handler).
 *
 * @module
 */
import type { Clock, TimerHandle } from '../../../sdk/core/clock.js';
import type { Logger } from '../../../sdk/core/log.js';
import { hasTask } from './conditions.js';
import type { MarathonFramework } from './framework.js';
import type { InstanceTracker } from './instance-tracker.js';

/** Marathon's `--reconciliation_interval` default (10 minutes). */
export const DEFAULT_RECONCILIATION_INTERVAL_MS = 600_000;

export class Reconciler {
  private timer: TimerHandle | undefined;

  constructor(
    private readonly tracker: InstanceTracker,
    private readonly framework: () => MarathonFramework | undefined,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  /** Reconciles now and every interval from now on. */
  async start(): Promise<void> {
    this.timer?.cancel();
    this.timer = this.clock.setInterval(() => void this.reconcile(), this.intervalMs);
    await this.reconcile();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  async reconcile(): Promise<void> {
    const framework = this.framework();
    if (framework === undefined || !framework.subscribed) return;
    const known = this.tracker.all().filter(hasTask).map((i) => ({ taskId: i.taskId, ...(i.agentId !== undefined ? { agentId: i.agentId } : {}) }));
    this.logger.info({ tasks: known.length }, 'reconciling tasks');
    if (known.length > 0) await framework.reconcile(known);
    await framework.reconcile([]);
  }
}
