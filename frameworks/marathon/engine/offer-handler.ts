/**
 * Offers in, launches out (Marathon's OfferProcessor + launch queue): scheduled instances
 * whose launch delay is over are matched against the offers (several per offer), turned
 * Provisioned and persisted *before* the LAUNCH is sent (a crash in between leaves a known
 * task that reconciliation answers for), then launched; unused offers are declined with a
 * long refuse_seconds. Also decides offer interest: REVIVE when there is new work (at most
 * once a second), SUPPRESS when nothing waits.
 *
 * @module
 */
import type { Clock, TimerHandle } from '../../../sdk/core/clock.js';
import type { Logger } from '../../../sdk/core/log.js';
import type { Offer, TaskInfo } from '../../../sdk/protocol/index.js';
import { taskIdFor } from '../model/ids.js';
import type { AppDefinition, Instance } from '../model/types.js';
import type { MarathonFramework } from './framework.js';
import type { InstanceTracker } from './instance-tracker.js';
import type { LaunchQueue } from './launch-queue.js';
import { DEFAULT_MAX_INSTANCES_PER_OFFER, matchOffers, type LaunchCandidate } from './offer-matcher.js';
import { buildTaskInfo } from './task-builder.js';
import { isoOf } from './time.js';
import { isActive } from './conditions.js';

/** Minimum time between two REVIVE calls. */
export const MIN_REVIVE_INTERVAL_MS = 1000;

export interface OfferHandlerDeps {
  tracker: InstanceTracker;
  queue: LaunchQueue;
  framework: () => MarathonFramework | undefined;
  clock: Clock;
  logger: Logger;
  /** The definition an instance runs (its runSpecVersion, else the app's current one). */
  appFor(instance: Instance): AppDefinition | undefined;
  declineRefuseSeconds: number;
  maxInstancesPerOffer?: number;
  /** Asks the engine for another tick (a delay ran out, a revive may go now). */
  kick(): void;
}

export class OfferHandler {
  private suppressed = false;
  private lastReviveAt = Number.NEGATIVE_INFINITY;
  /** Ready scheduled instances the master was last told about (by REVIVE). */
  private announced = new Set<string>();
  private wakeTimer: TimerHandle | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(private readonly deps: OfferHandlerDeps) {}

  /**
   * A fresh subscription: not suppressed any more, but the filters of offers declined before
   * (by this process or, after a failover, by the previous leader) may still hold the
   * agents back, as in Mesos. So instances already waiting count as not announced: the next
   * tick REVIVEs (which clears the filters) if any wait.
   */
  subscribed(): void {
    this.suppressed = false;
    this.announced = new Set();
  }

  close(): void {
    this.closed = true;
    this.wakeTimer?.cancel();
  }

  /** Scheduled instances whose app may launch now, by app. */
  private readyScheduled(): Instance[] {
    const now = this.deps.clock.now();
    return this.deps.tracker.all().filter((i) => {
      if (i.condition !== 'Scheduled' || i.goal !== 'Running') return false;
      const app = this.deps.appFor(i);
      return app !== undefined && this.deps.queue.delayRemainingMs(app, now) === 0;
    });
  }

  async handleOffers(offers: Offer[]): Promise<void> {
    const framework = this.deps.framework();
    if (framework === undefined || this.closed) return;
    const now = this.deps.clock.now();
    const started = performance.now();
    const byApp = new Map<string, LaunchCandidate>();
    for (const i of this.readyScheduled()) {
      const app = this.deps.appFor(i)!;
      const key = `${app.id}@${app.version}`;
      let c = byApp.get(key);
      if (c === undefined) {
        c = { app, scheduled: [], placed: this.deps.tracker.ofApp(app.id).filter((p) => isActive(p) && p.condition !== 'Scheduled') };
        byApp.set(key, c);
      }
      c.scheduled.push(i);
    }
    const candidates = [...byApp.values()].sort((a, b) => (a.app.id < b.app.id ? -1 : 1));
    const result = matchOffers(offers, candidates, this.deps.maxInstancesPerOffer ?? DEFAULT_MAX_INSTANCES_PER_OFFER);
    for (const [appId, s] of result.stats) {
      for (let n = 0; n < s.processed; n++) this.deps.queue.recordOffer(appId, n < s.used, n < s.used ? [] : s.reasons, now);
    }
    // What is left of a used offer comes back soon while instances still wait (Mesos would
    // otherwise filter it for its default 5 s); once the queue is empty, for as long as a decline.
    const stillWaiting = candidates.reduce((n, c) => n + c.scheduled.length, 0) > result.launches.reduce((n, l) => n + l.matched.length, 0);
    const acceptFilters = { refuse_seconds: stillWaiting ? 0 : this.deps.declineRefuseSeconds };
    const launches = result.launches.map(({ offer, matched }) => {
      const provisioned: Instance[] = [];
      const tasks: TaskInfo[] = [];
      for (const m of matched) {
        const instance: Instance = { ...m.instance, condition: 'Provisioned', stagedAt: isoOf(now) };
        provisioned.push(instance);
        tasks.push(buildTaskInfo(m.app, instance, { agentId: offer.agent_id.value, hostname: offer.hostname, resources: m.resources, hostPorts: m.hostPorts }));
      }
      return { offer, tasks, provisioned };
    });
    // Every instance is persisted as Provisioned before any task is launched (as Marathon
    // does), but the writes go together, and so do the ACCEPTs (the SDK sends them in order,
    // batched): one write and one round trip after another made a 1,000-instance app take
    // 22 s here.
    await this.deps.tracker.putAll(launches.flatMap((l) => l.provisioned));
    await Promise.all(launches.map(async ({ offer, tasks, provisioned }) => {
      try {
        await framework.launch(offer.id.value, tasks, acceptFilters);
        this.deps.logger.info({ offerId: offer.id.value, agentId: offer.agent_id.value, tasks: tasks.map((t) => t.task_id.value) }, 'launched tasks');
      } catch (err) {
        this.deps.logger.warn({ err: (err as Error).message, offerId: offer.id.value }, 'launch failed; instances go back to the queue');
        for (const i of provisioned) {
          const current = this.deps.tracker.get(i.instanceId);
          if (current?.condition !== 'Provisioned') continue;
          const incarnation = current.incarnation + 1;
          const { agentId: _a, host: _h, agentAttributes: _t, stagedAt: _s, ...rest } = current;
          await this.deps.tracker.put({ ...rest, condition: 'Scheduled', hostPorts: [], incarnation, taskId: taskIdFor(current.instanceId, incarnation) });
        }
      }
    }));
    if (result.unused.length > 0) {
      await framework.decline(result.unused.map((o) => o.id.value), this.deps.declineRefuseSeconds);
    }
    this.deps.logger.debug({ offers: offers.length, used: launches.length, launched: launches.reduce((n, l) => n + l.tasks.length, 0), ms: Math.round(performance.now() - started) }, 'offers handled');
  }

  /** REVIVE for new work (rate limited), SUPPRESS when there is none; wakes the engine when a launch delay runs out. */
  async updateInterest(): Promise<void> {
    const framework = this.deps.framework();
    if (framework === undefined || !framework.subscribed || this.closed) return;
    const now = this.deps.clock.now();
    const ready = this.readyScheduled();
    const fresh = ready.some((i) => !this.announced.has(i.instanceId));
    if (ready.length > 0 && (this.suppressed || fresh)) {
      const wait = this.lastReviveAt + MIN_REVIVE_INTERVAL_MS - now;
      if (wait > 0) {
        this.wakeIn(wait);
      } else {
        this.lastReviveAt = now;
        this.suppressed = false;
        this.announced = new Set(ready.map((i) => i.instanceId));
        await framework.revive();
        this.deps.logger.info({ waiting: ready.length }, 'revived offers');
      }
    } else if (ready.length === 0 && !this.suppressed) {
      this.suppressed = true;
      this.announced.clear();
      await framework.suppress();
      this.deps.logger.info('suppressed offers');
    }
    // Delayed instances: wake up when the first delay runs out.
    let soonest = Number.POSITIVE_INFINITY;
    for (const i of this.deps.tracker.all()) {
      if (i.condition !== 'Scheduled') continue;
      const app = this.deps.appFor(i);
      if (app === undefined) continue;
      const left = this.deps.queue.delayRemainingMs(app, now);
      if (left > 0) soonest = Math.min(soonest, left);
    }
    if (Number.isFinite(soonest)) this.wakeIn(soonest);
  }

  private wakeIn(ms: number): void {
    const at = this.deps.clock.now() + ms;
    if (this.wakeTimer !== undefined && this.wakeAt <= at) return;
    this.wakeTimer?.cancel();
    this.wakeAt = at;
    this.wakeTimer = this.deps.clock.setTimeout(() => {
      this.wakeTimer = undefined;
      this.wakeAt = Number.POSITIVE_INFINITY;
      this.deps.kick();
    }, ms);
  }
}
