/**
 * The engine: {@link MarathonService} on top of the store, the instance tracker, the
 * framework, the launch queue, the deployment executor, self-healing and health checks.
 *
 * Concurrency: every mutation (API changes, status updates, offers, the engine tick) runs
 * through one exclusive section, the way Marathon's actors serialise them; reads are
 * synchronous snapshots. The tick (deployments, then self-healing, kill retries, health
 * checkers, offer interest) runs after every change and every `tickIntervalMs`.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../../../sdk/core/clock.js';
import type { Logger } from '../../../sdk/core/log.js';
import type { SchedulerTransport } from '../../../sdk/scheduler/index.js';
import { assignServicePorts, putApp, removeApp, validateRoot } from '../model/index.js';
import { planDeployment } from '../plan/index.js';
import type {
  AppDefinition, DeploymentPlan, DeploymentStatus, Group, Instance, MarathonEvent, PathId, QueueEntry, TaskFailure,
  Timestamp,
} from '../model/types.js';
import { MarathonError, type ChangeOptions, type KillOptions, type MarathonService } from '../service.js';
import { isActive } from './conditions.js';
import { DeploymentExecutor } from './deployment-executor.js';
import { EventBus } from './event-bus.js';
import { groupChangeSuccessEvent } from './events.js';
import { MarathonFramework } from './framework.js';
import { appIn, GroupRepository } from './group-repository.js';
import { HealthCheckManager } from './health/health-check-manager.js';
import { createReadinessFetch, ReadinessChecks, type ReadinessFetch } from './readiness/readiness-checks.js';
import { createProbe, type Probe } from './health/probes.js';
import { InstanceActions } from './instance-actions.js';
import { InstanceTracker } from './instance-tracker.js';
import { LaunchQueue } from './launch-queue.js';
import { OfferHandler } from './offer-handler.js';
import {
  DEFAULT_RECONCILIATION_INITIAL_DELAY_MS, DEFAULT_RECONCILIATION_INTERVAL_MS, Reconciler, type ReconcilerOptions,
} from './reconciler.js';
import { SelfHealing } from './self-healing.js';
import { StatusHandler } from './status-handler.js';
import { UpdateBatcher } from './update-batcher.js';
import type { MarathonStore } from './store.js';
import { isoOf, msOf } from './time.js';

/** Marathon's message for a change blocked by running deployments (the placeholder is literal in Marathon). */
export const LOCKED_MESSAGE = "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.";

export interface EngineOptions {
  store: MarathonStore;
  clock: Clock;
  logger: Logger;
  /** The master, `host:port`. */
  master: string;
  frameworkName?: string;
  failoverTimeoutSeconds?: number;
  /** Marathon's `--reconciliation_interval` (default 600000). */
  reconciliationIntervalMs?: number;
  /** Marathon's `--reconciliation_initial_delay`: the first periodic round after start (default 15000). */
  reconciliationInitialDelayMs?: number;
  /** The backoff of explicit reconciliation (the SDK's defaults otherwise). */
  reconciliationBackoff?: ReconcilerOptions['backoff'];
  declineRefuseSeconds?: number;
  /** How often the engine re-checks everything without a trigger (default 1000 ms). */
  tickIntervalMs?: number;
  hostname: string;
  httpPort: number;
  version: string;
  webuiUrl?: string;
  /** Replaces the scheduler's HTTP transport (tests). */
  transport?: SchedulerTransport;
  /** Replaces the health probes (tests). */
  probe?: Probe;
  /** Replaces the readiness checks' HTTP GET (tests). */
  readinessFetch?: ReadinessFetch;
  /**
   * HA mode: gives up the leadership (DELETE /v2/leader); called once the answer is decided,
   * it must not wait for the engine to stop. Absent (standalone): abdication keeps leading.
   */
  abdicate?: () => void;
}

export class MarathonEngine implements MarathonService {
  private readonly bus: EventBus;
  private readonly tracker: InstanceTracker;
  private readonly queueState = new LaunchQueue();
  private readonly actions: InstanceActions;
  private readonly deploymentsExec: DeploymentExecutor;
  private readonly healing: SelfHealing;
  private readonly offers: OfferHandler;
  private readonly statuses: StatusHandler;
  private readonly updates: UpdateBatcher;
  private readonly reconciler: Reconciler;
  private readonly health: HealthCheckManager;
  private readonly readiness: ReadinessChecks;
  private groups!: GroupRepository;
  private framework: MarathonFramework | undefined;
  private storedFrameworkId: string | undefined;
  private readonly startedAt: Timestamp;
  private lastVersionMs = 0;
  private lock: Promise<unknown> = Promise.resolve();
  private dirty = false;
  private ticking = false;
  private closed = false;
  /** Ticks run only once started (a created engine is inert: reads and changes only). */
  private started = false;
  private tickTimer: TimerHandle | undefined;
  private readonly queuedSince = new Map<PathId, number>();
  /** Each app's instances sorted for display, until one of them changes (GET /v2/apps reads them on every request). */
  private readonly sortedInstances = new Map<PathId, Instance[]>();
  private readonly log: Logger;

  private constructor(private readonly o: EngineOptions) {
    const { clock, logger, store } = o;
    this.log = logger;
    this.startedAt = isoOf(clock.now());
    this.bus = new EventBus(logger);
    this.tracker = new InstanceTracker(store, this.bus, clock);
    this.actions = new InstanceActions(this.tracker, () => this.framework, clock, logger, (id) => this.groups.app(id) ?? this.latestVersionOf(id));
    this.deploymentsExec = new DeploymentExecutor({
      store, tracker: this.tracker, actions: this.actions, bus: this.bus, clock, logger,
      definitionOf: (i) => this.groups.appVersion(i.appId, i.runSpecVersion),
      forgetApp: async (appId) => {
        this.queueState.forget(appId);
        this.tracker.forgetApp(appId);
        await this.groups.forgetApp(appId);
      },
    });
    this.healing = new SelfHealing({
      tracker: this.tracker,
      actions: this.actions,
      apps: () => this.groups.apps(),
      app: (id) => this.groups.app(id),
      locked: () => this.deploymentsExec.lockedApps(),
      now: () => clock.now(),
    });
    this.offers = new OfferHandler({
      tracker: this.tracker,
      queue: this.queueState,
      framework: () => this.framework,
      clock,
      logger,
      appFor: (i) => this.appFor(i),
      declineRefuseSeconds: o.declineRefuseSeconds ?? 120,
      kick: () => this.kick(),
    });
    this.statuses = new StatusHandler({
      tracker: this.tracker, actions: this.actions, queue: this.queueState, framework: () => this.framework, logger,
      now: () => clock.now(), appFor: (i) => this.appFor(i),
    });
    this.updates = new UpdateBatcher({
      exclusive: (fn) => this.exclusive(fn),
      handle: (statuses) => this.statuses.handleAll(statuses),
      acknowledge: async (status) => {
        await this.framework?.acknowledge(status);
      },
      logger,
    });
    this.reconciler = new Reconciler(this.tracker, () => this.framework, clock, logger, {
      intervalMs: o.reconciliationIntervalMs ?? DEFAULT_RECONCILIATION_INTERVAL_MS,
      initialDelayMs: o.reconciliationInitialDelayMs ?? DEFAULT_RECONCILIATION_INITIAL_DELAY_MS,
      ...(o.reconciliationBackoff !== undefined ? { backoff: o.reconciliationBackoff } : {}),
    });
    this.health = new HealthCheckManager({
      clock, logger, bus: this.bus, probe: o.probe ?? createProbe(clock),
      instance: (id) => this.tracker.get(id),
      setHealthy: (id, healthy) => this.exclusive(async () => {
        await this.tracker.update(id, { healthy });
      }),
      killUnhealthy: (instance, reason) => this.exclusive(async () => {
        const current = this.tracker.get(instance.instanceId);
        if (current !== undefined) await this.actions.kill(current, 'Running', reason);
      }),
    });
    this.readiness = new ReadinessChecks({
      clock, logger, fetch: o.readinessFetch ?? createReadinessFetch(clock),
      instance: (id) => this.tracker.get(id),
      setReady: (id) => this.exclusive(async () => {
        await this.tracker.update(id, { ready: true });
      }),
    });
    this.tracker.onChange((change) => {
      this.sortedInstances.delete(change.appId);
      this.kick();
    });
  }

  /** Loads the stored state and resumes unfinished deployments; call {@link start} to connect. */
  static async create(o: EngineOptions): Promise<MarathonEngine> {
    const engine = new MarathonEngine(o);
    const state = await o.store.load();
    engine.groups = new GroupRepository(o.store, state, isoOf(o.clock.now()));
    engine.tracker.restore(state.instances, state.taskFailures);
    engine.storedFrameworkId = state.frameworkId;
    engine.lastVersionMs = msOf(engine.groups.root().version) || 0;
    for (const plan of [...state.deployments].sort((a, b) => (a.version < b.version ? -1 : 1))) {
      o.logger.info({ deploymentId: plan.id }, 'resuming deployment');
      engine.deploymentsExec.start(plan);
    }
    return engine;
  }

  /** Subscribes to the master (in the background, retrying) and starts the engine's tick. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const o = this.o;
    this.framework = new MarathonFramework({
      master: o.master,
      name: o.frameworkName ?? 'marathon',
      failoverTimeoutSeconds: o.failoverTimeoutSeconds ?? 604_800,
      ...(this.storedFrameworkId !== undefined ? { frameworkId: this.storedFrameworkId } : {}),
      hostname: o.hostname,
      ...(o.webuiUrl !== undefined ? { webuiUrl: o.webuiUrl } : {}),
      store: o.store,
      clock: o.clock,
      logger: o.logger,
      ...(o.transport !== undefined ? { transport: o.transport } : {}),
    }, {
      subscribed: async (id) => {
        this.storedFrameworkId = id;
        this.offers.subscribed();
        // Not awaited: the round waits for UPDATEs that queue behind this handler.
        this.reconciler.subscribed();
        this.kick();
      },
      offers: (offers) => this.exclusive(() => this.offers.handleOffers(offers)),
      update: (status) => this.updates.push(status),
    });
    this.framework.start().catch((err: unknown) => {
      if (!this.closed) this.log.error({ err: (err as Error).message }, 'the framework stopped');
    });
    this.tickTimer = this.o.clock.setInterval(() => this.kick(), this.o.tickIntervalMs ?? 1000);
    this.reconciler.start();
    this.kick();
  }

  /** Stops timers and closes the subscription without killing tasks. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.tickTimer?.cancel();
    this.reconciler.stop();
    this.updates.close();
    this.health.close();
    this.readiness.close();
    this.offers.close();
    await this.lock.catch(() => undefined);
    await this.framework?.stop();
    await this.o.store.close();
  }

  // ---- the engine loop --------------------------------------------------------------

  /** Runs `fn` after every other mutation finished, alone. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.catch(() => undefined).then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** Asks for a tick soon (coalesced). */
  private kick(): void {
    this.dirty = true;
    if (this.ticking || this.closed || !this.started) return;
    this.ticking = true;
    void (async () => {
      try {
        while (this.dirty && !this.closed) {
          this.dirty = false;
          await this.exclusive(() => this.tick()).catch((err: unknown) => this.log.error({ err }, 'engine tick failed'));
        }
      } finally {
        this.ticking = false;
      }
    })();
  }

  private async tick(): Promise<void> {
    if (this.closed) return;
    await this.deploymentsExec.tick();
    await this.healing.tick();
    await this.actions.retryKills();
    this.health.sync(this.tracker.all(), (i) => this.appFor(i));
    this.readiness.sync(this.tracker.all(), (i) => this.appFor(i), this.deploymentsExec.lockedApps());
    const now = this.o.clock.now();
    const waiting = new Set(this.tracker.all().filter((i) => i.condition === 'Scheduled').map((i) => i.appId));
    for (const id of waiting) if (!this.queuedSince.has(id)) this.queuedSince.set(id, now);
    for (const id of [...this.queuedSince.keys()]) {
      if (!waiting.has(id)) {
        this.queuedSince.delete(id);
        this.queueState.clearSummary(id);
      }
    }
    await this.offers.updateInterest();
  }

  private appFor(i: Instance): AppDefinition | undefined {
    return this.groups.appVersion(i.appId, i.runSpecVersion) ?? this.groups.app(i.appId) ?? this.latestVersionOf(i.appId);
  }

  private latestVersionOf(appId: PathId): AppDefinition | undefined {
    const versions = this.groups.appVersions(appId);
    return versions?.[0] !== undefined ? this.groups.appVersion(appId, versions[0]) : undefined;
  }

  /** A version timestamp later than every earlier one. */
  private nextVersion(): Timestamp {
    const ms = Math.max(this.o.clock.now(), this.lastVersionMs + 1);
    this.lastVersionMs = ms;
    return isoOf(ms);
  }

  // ---- reads ------------------------------------------------------------------------

  rootGroup(): Group {
    return this.groups.root();
  }

  apps(): AppDefinition[] {
    return this.groups.apps();
  }

  app(id: PathId): AppDefinition | undefined {
    return this.groups.app(id);
  }

  group(id: PathId): Group | undefined {
    return this.groups.group(id);
  }

  appVersions(id: PathId): Timestamp[] | undefined {
    return this.groups.appVersions(id);
  }

  appVersion(id: PathId, version: Timestamp): AppDefinition | undefined {
    return this.groups.appVersion(id, version);
  }

  groupVersions(id: PathId): Timestamp[] | undefined {
    return this.groups.groupVersions(id);
  }

  groupVersion(id: PathId, version: Timestamp): Group | undefined {
    return this.groups.groupVersion(id, version);
  }

  instances(appId: PathId): Instance[] {
    let sorted = this.sortedInstances.get(appId);
    if (sorted === undefined) {
      sorted = this.tracker.ofApp(appId).sort(byStaging);
      this.sortedInstances.set(appId, sorted);
    }
    return sorted.slice();
  }

  allInstances(): Instance[] {
    return this.tracker.all().sort(byStaging);
  }

  lastTaskFailure(appId: PathId): TaskFailure | undefined {
    return this.tracker.lastTaskFailure(appId);
  }

  deployments(): DeploymentStatus[] {
    return this.deploymentsExec.statuses((plan) => this.readiness.resultsFor(new Set(plan.affectedApps.flatMap((id) => this.tracker.ofApp(id).map((i) => i.taskId)))));
  }

  deploymentsOf(appId: PathId): string[] {
    return this.deploymentsExec.conflicting([appId]);
  }

  queue(): QueueEntry[] {
    const now = this.o.clock.now();
    const out: QueueEntry[] = [];
    for (const app of this.groups.apps()) {
      const scheduled = this.tracker.ofApp(app.id).filter((i) => i.condition === 'Scheduled');
      if (scheduled.length === 0 && this.queueState.delayRemainingMs(app, now) === 0) continue;
      out.push(this.queueState.entry(app, scheduled, now, this.queuedSince.get(app.id) ?? now));
    }
    return out;
  }

  // ---- changes ----------------------------------------------------------------------

  updateRoot(change: (root: Group, version: Timestamp) => Group, options: ChangeOptions & { dryRun?: boolean } = {}): Promise<DeploymentPlan> {
    return this.exclusive(() => this.applyChange(change, options));
  }

  /** updateRoot's body, inside the exclusive section. */
  private async applyChange(
    change: (root: Group, version: Timestamp) => Group,
    options: ChangeOptions & { dryRun?: boolean },
    toKill?: Record<PathId, string[]>,
  ): Promise<DeploymentPlan> {
    const current = this.groups.root();
    const version = this.nextVersion();
    let target: Group;
    try {
      target = change(current, version);
    } catch (err) {
      if (err instanceof MarathonError) throw err;
      throw new MarathonError('bad-request', (err as Error).message, undefined, undefined, { cause: err });
    }
    const errors = validateRoot(target);
    if (errors.length > 0) throw new MarathonError('validation', 'Object is not valid', errors);
    target = { ...assignServicePorts(target, current), version };
    const plan = planDeployment(current, target, { id: randomUUID(), version, instances: this.tracker.all(), ...(toKill !== undefined ? { toKill } : {}) });
    if (options.dryRun === true) return plan;
    const conflicts = this.deploymentsExec.conflicting(plan.affectedApps);
    if (conflicts.length > 0 && options.force !== true) throw new MarathonError('locked', LOCKED_MESSAGE, undefined, conflicts);
    for (const id of conflicts) await this.deploymentsExec.cancel(id);
    await this.groups.commit(target);
    await this.o.store.saveDeployment(plan);
    this.deploymentsExec.start(plan);
    this.bus.publish(groupChangeSuccessEvent('/', version, isoOf(this.o.clock.now())));
    this.log.info({ deploymentId: plan.id, affectedApps: plan.affectedApps, steps: plan.steps.length }, 'deployment started');
    this.kick();
    return plan;
  }

  restartApp(id: PathId, options: ChangeOptions = {}): Promise<DeploymentPlan> {
    return this.exclusive(() => {
      const app = this.groups.app(id);
      if (app === undefined) throw new MarathonError('not-found', `App '${id}' does not exist`);
      return this.applyChange((root, version) => putApp(root, { ...app, version, versionInfo: { lastScalingAt: version, lastConfigChangeAt: version } }), options);
    });
  }

  killInstances(appId: PathId, ids: string[], options: KillOptions = {}): Promise<{ killed: Instance[]; plan?: DeploymentPlan }> {
    return this.exclusive(() => this.kill(appId, (all) => {
      const wanted = new Set(ids);
      return all.filter((i) => wanted.has(i.instanceId) || wanted.has(i.taskId));
    }, options));
  }

  killAppInstances(appId: PathId, options: KillOptions & { host?: string } = {}): Promise<{ killed: Instance[]; plan?: DeploymentPlan }> {
    return this.exclusive(() => this.kill(appId, (all) => all.filter((i) => options.host === undefined || i.host === options.host), options));
  }

  private async kill(appId: PathId, pick: (all: Instance[]) => Instance[], options: KillOptions): Promise<{ killed: Instance[]; plan?: DeploymentPlan }> {
    const app = this.groups.app(appId);
    if (app === undefined) throw new MarathonError('not-found', `App '${appId}' does not exist`);
    const killed = pick(this.tracker.ofApp(appId).filter((i) => i.goal === 'Running'));
    if (options.scale === true) {
      const count = killed.filter(isActive).length;
      const plan = await this.applyChange(
        (root, version) => putApp(root, { ...app, instances: Math.max(0, app.instances - count), version, versionInfo: { ...app.versionInfo, lastScalingAt: version } }),
        { force: options.force === true },
        { [appId]: killed.map((i) => i.instanceId) },
      );
      return { killed, plan };
    }
    for (const i of killed) await this.actions.kill(i, options.wipe === true ? 'Decommissioned' : 'Running', 'killed on request');
    this.kick();
    return { killed };
  }

  cancelDeployment(id: string, options: { force?: boolean } = {}): Promise<DeploymentPlan | undefined> {
    return this.exclusive(async () => {
      const plan = this.deploymentsExec.get(id);
      if (plan === undefined) return undefined;
      await this.deploymentsExec.cancel(id);
      this.kick();
      if (options.force === true) return plan;
      // Roll back: the affected apps go back to what they were before the plan.
      return this.applyChange((root, version) => {
        let next = root;
        for (const appId of plan.affectedApps) {
          const original = appIn(plan.original, appId);
          if (original !== undefined) next = putApp(next, original, version);
          else if (appIn(next, appId) !== undefined) next = removeApp(next, appId, version);
        }
        return next;
      }, { force: true });
    });
  }

  resetDelay(appId: PathId): void {
    this.queueState.resetDelay(appId);
    this.kick();
  }

  // ---- process ----------------------------------------------------------------------

  info(): ReturnType<MarathonService['info']> {
    const frameworkId = this.framework?.frameworkId ?? this.storedFrameworkId;
    return {
      ...(frameworkId !== undefined ? { frameworkId } : {}),
      leader: `${this.o.hostname}:${this.o.httpPort}`,
      elected: true,
      version: this.o.version,
      httpPort: this.o.httpPort,
      hostname: this.o.hostname,
      master: this.o.master,
      startedAt: this.startedAt,
    };
  }

  async abdicate(): Promise<void> {
    if (this.o.abdicate !== undefined) {
      this.log.info('abdication requested: giving up the leadership');
      this.o.abdicate();
      return;
    }
    // Standalone: there is no one to hand leadership to; Marathon restarts its scheduler.
    this.log.info('abdication requested; standalone mode keeps leading');
  }

  metrics(): Record<string, number> {
    const instances = this.tracker.all();
    const count = (c: Instance['condition']): number => instances.filter((i) => i.condition === c).length;
    const apps = this.groups.apps();
    return {
      'marathon.apps.active.gauge': apps.length,
      'marathon.groups.active.gauge': countGroups(this.groups.root()),
      'marathon.instances.running.gauge': count('Running'),
      'marathon.instances.staged.gauge': count('Staging') + count('Starting') + count('Provisioned'),
      'marathon.instances.launch-overdue.gauge': count('Scheduled'),
      'marathon.instances.inflight-kills.gauge': instances.filter((i) => this.actions.killRequested(i.instanceId)).length,
      'marathon.tasks.running.gauge': count('Running'),
      'marathon.tasks.staged.gauge': count('Staging') + count('Starting'),
      'marathon.deployments.active.gauge': this.deploymentsExec.statuses().length,
      'marathon.uptime.gauge': this.o.clock.now() - msOf(this.startedAt),
    };
  }

  subscribe(listener: (event: MarathonEvent) => void): () => void {
    return this.bus.subscribe(listener);
  }

  publish(event: MarathonEvent): void {
    this.bus.publish(event);
  }
}

function countGroups(g: Group): number {
  return g.groups.reduce((n, c) => n + countGroups(c), 1);
}

function byStaging(a: Instance, b: Instance): number {
  const sa = a.stagedAt ?? '~';
  const sb = b.stagedAt ?? '~';
  return sa < sb ? -1 : sa > sb ? 1 : a.instanceId < b.instanceId ? -1 : 1;
}
