/**
 * Marathon as a Mesos framework: the FrameworkInfo it registers with, the subscription
 * (through sdk/scheduler) and the calls it makes. It reuses the stored framework id so a
 * restarted Marathon resubscribes as the same framework and keeps its tasks, and saves the
 * id the master assigns. Events are handed to the engine's callbacks; calls made while
 * not subscribed are logged and dropped (reconciliation repairs what they would have done).
 *
 * @module
 */
import os from 'node:os';
import type { Clock } from '../../../sdk/core/clock.js';
import type { Logger } from '../../../sdk/core/log.js';
import type { FrameworkInfo, KillPolicy, Offer, TaskInfo, TaskStatus } from '../../../sdk/protocol/index.js';
import { Scheduler, type ReconcileOptions, type ReconcileResult, type SchedulerTransport } from '../../../sdk/scheduler/index.js';
import type { MarathonStore } from './store.js';

/** What the framework tells the engine. */
/** How long {@link MarathonFramework.stop} waits for the subscription to wind down. */
const STOP_WAIT_MS = 2000;

export interface FrameworkCallbacks {
  subscribed(frameworkId: string): Promise<void> | void;
  offers(offers: Offer[]): Promise<void> | void;
  update(status: TaskStatus): Promise<void> | void;
  rescind?(offerId: string): void;
}

export interface FrameworkOptions {
  master: string;
  name: string;
  failoverTimeoutSeconds: number;
  /** Stored framework id, reused when resubscribing. */
  frameworkId?: string;
  hostname?: string;
  webuiUrl?: string;
  store: MarathonStore;
  clock: Clock;
  logger: Logger;
  /** Replaces the HTTP transport (tests). */
  transport?: SchedulerTransport;
}

/** Marathon's FrameworkInfo (MarathonSchedulerDriver): checkpointing, partition-aware, multi-role. */
export function marathonFrameworkInfo(o: { name: string; failoverTimeoutSeconds: number; frameworkId?: string; hostname?: string; webuiUrl?: string; user?: string }): FrameworkInfo {
  let user = o.user;
  if (user === undefined) {
    try {
      user = os.userInfo().username;
    } catch {
      user = process.env.USER ?? 'root';
    }
  }
  return {
    user,
    name: o.name,
    ...(o.frameworkId !== undefined ? { id: { value: o.frameworkId } } : {}),
    failover_timeout: o.failoverTimeoutSeconds,
    checkpoint: true,
    roles: ['*'],
    ...(o.hostname !== undefined ? { hostname: o.hostname } : {}),
    ...(o.webuiUrl !== undefined ? { webui_url: o.webuiUrl } : {}),
    capabilities: [{ type: 'PARTITION_AWARE' }, { type: 'TASK_KILLING_STATE' }, { type: 'MULTI_ROLE' }],
  };
}

export class MarathonFramework {
  private readonly scheduler: Scheduler;
  private readonly log: Logger;

  constructor(private readonly o: FrameworkOptions, callbacks: FrameworkCallbacks) {
    this.log = o.logger;
    this.scheduler = new Scheduler({
      master: o.master,
      frameworkInfo: marathonFrameworkInfo(o),
      clock: o.clock,
      logger: o.logger,
      ...(o.transport !== undefined ? { transport: o.transport } : {}),
      keepProcessAlive: false,
      // The engine acknowledges an update once it has handled (persisted) it, in batches
      // (update-batcher.ts); the SDK's own acknowledgement waits for each handler in turn.
      autoAcknowledge: false,
    });
    this.scheduler
      .on('SUBSCRIBED', async (info) => {
        const id = info.framework_id.value;
        if (id !== o.frameworkId) {
          await o.store.saveFrameworkId(id);
          o.frameworkId = id;
        }
        this.log.info({ framework_id: id }, 'subscribed');
        await callbacks.subscribed(id);
      })
      .on('OFFERS', (offers) => callbacks.offers(offers))
      .on('UPDATE', (status) => callbacks.update(status))
      .on('RESCIND', (offerId) => callbacks.rescind?.(offerId))
      .on('ERROR', (e) => {
        this.log.error({ message: e.message }, 'the master sent an error');
      });
  }

  get frameworkId(): string | undefined {
    return this.scheduler.frameworkId;
  }

  get subscribed(): boolean {
    return this.scheduler.state === 'subscribed';
  }

  /** Starts subscribing (retrying until the master answers); resolves once subscribed. */
  start(): Promise<string> {
    return this.scheduler.start();
  }

  async launch(offerId: string, tasks: TaskInfo[], filters?: { refuse_seconds: number }): Promise<void> {
    await this.scheduler.launch([offerId], tasks, filters);
  }

  /** ACKNOWLEDGEs a handled update (nothing for one without uuid). */
  acknowledge(status: TaskStatus): Promise<void> {
    return this.scheduler.acknowledge(status);
  }

  async decline(offerIds: string[], refuseSeconds: number): Promise<void> {
    await this.guard('decline', () => this.scheduler.decline(offerIds, { refuse_seconds: refuseSeconds }));
  }

  async kill(taskId: string, agentId: string | undefined, killPolicy?: KillPolicy): Promise<void> {
    await this.guard('kill', () => this.scheduler.kill(taskId, agentId, killPolicy));
  }

  async reconcile(tasks: Array<{ taskId: string; agentId?: string }>): Promise<void> {
    await this.guard('reconcile', () => this.scheduler.reconcile(tasks));
  }

  /** Explicit reconciliation of `tasks` with backoff, then implicit (the SDK's `reconcileTasks`). */
  reconcileTasks(tasks: Array<{ taskId: string; agentId?: string }>, options: ReconcileOptions): Promise<ReconcileResult> {
    return this.scheduler.reconcileTasks(tasks, options);
  }

  async revive(): Promise<void> {
    await this.guard('revive', () => this.scheduler.revive());
  }

  async suppress(): Promise<void> {
    await this.guard('suppress', () => this.scheduler.suppress());
  }

  /** Closes the subscription without tearing down (the master keeps the tasks). */
  async stop(): Promise<void> {
    await this.scheduler.stop();
    // Bounded: a scheduler stuck in a call must not hold up shutdown.
    let timer: { cancel(): void } | undefined;
    await Promise.race([this.scheduler.whenStopped(), new Promise((r) => { timer = this.o.clock.setTimeout(() => r(undefined), STOP_WAIT_MS); })]);
    timer?.cancel();
  }

  private async guard(what: string, call: () => Promise<void>): Promise<boolean> {
    try {
      await call();
      return true;
    } catch (err) {
      this.log.warn({ err: (err as Error).message, call: what }, 'call to the master failed');
      return false;
    }
  }
}
