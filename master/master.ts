/**
 * The master core: owns the context (state, connections, timers, filters, allocation loop)
 * and routes what arrives from the two edges — scheduler calls (scheduler-api/http.ts) and
 * slave messages (agent-endpoint.ts) — to the behaviour modules. Plain class, no
 * decorators: master/main.ts constructs it.
 *
 * @module
 */
import type { Clock } from '../sdk/core/clock.js';
import type { Logger } from '../sdk/core/log.js';
import type { AgentInfo, AgentMessage, AgentMessageOf, FrameworkInfo, SchedulerCall } from '../sdk/protocol/index.js';
import type { AgentMessageHandler } from './agent-endpoint.js';
import { agentDisconnected, handlePong, registerAgent, reregisterAgent } from './agents.js';
import { AllocationLoop, type AllocateFn } from './allocation.js';
import type { MasterConfig } from './config.js';
import { Connections, type AgentLink } from './connections.js';
import type { MasterContext } from './context.js';
import { events } from './events.js';
import { removeFramework, rolesOf, subscribeFramework, validateFrameworkInfo, type SubscriberStream } from './frameworks.js';
import { IdGenerator } from './ids.js';
import { OfferFilters } from './offer-filters.js';
import type { FrameworkRecord, MasterState } from './model.js';
import { rememberGoneAgent, unreachableAgentsToPrune } from './registry/gc.js';
import { planRecovery } from './registry/recovery.js';
import { RemovalQueue } from './removal-rate-limit.js';
import { forgetUnreachableTasks } from './tasks.js';
import type { MasterRegistry, RegistryAgent } from './registry/types.js';
import { handleSchedulerCall } from './scheduler-calls.js';
import type { CallResult, SchedulerCallHandler } from './scheduler-api/http.js';
import { handleExecutorExited, handleExecutorMessage, handleStatusUpdate } from './status-updates.js';
import { Timers } from './timers.js';

export interface MasterDeps {
  state: MasterState;
  config: MasterConfig;
  clock: Clock;
  logger: Logger;
  allocate: AllocateFn;
  /**
   * The durable registry. With one, registrations and subscriptions are acknowledged only
   * once written, and {@link Master.recover} must run (on election) before agent messages
   * are handled. Without one (tests driving the core), everything is synchronous.
   */
  registry?: MasterRegistry;
  /**
   * Called when a registry write finds that another master changed the registry
   * (`AGORA_REGISTRY_CONFLICT`): this master is no longer the leader and must step down.
   */
  onRegistryConflict?: (reason: string) => void;
}

export class Master implements SchedulerCallHandler, AgentMessageHandler {
  readonly ctx: MasterContext;
  private readonly allocation: AllocationLoop;
  private closed = false;
  private readonly registry?: MasterRegistry;
  /** Registry writes nobody waits for, chained so they land in order; failures are logged. */
  private writes: Promise<void> = Promise.resolve();
  private recovery?: Promise<void>;
  private loaded: boolean;
  private markLoaded!: () => void;
  private readonly loadedPromise: Promise<void>;
  /** Agents of the registry not re-registered yet (Mesos `slaves.recovered`). */
  private readonly awaitedAgents = new Map<string, RegistryAgent>();
  /** Frameworks whose failover deadline passed during the failover, removed once the agents are back. */
  private readonly expiredFrameworks = new Set<string>();
  /** Persisted deadlines of frameworks not resubscribed yet (shown on their records). */
  private readonly recoveredDeadlines = new Map<string, number>();
  private reregistrationOver = false;
  /** Per agent socket: the tail of its message chain (messages are handled in order). */
  private readonly agentQueues = new WeakMap<AgentLink, Promise<void>>();

  private readonly onRegistryConflict?: (reason: string) => void;

  constructor(deps: MasterDeps) {
    this.registry = deps.registry;
    this.onRegistryConflict = deps.onRegistryConflict;
    this.loaded = deps.registry === undefined;
    this.loadedPromise = new Promise((resolve) => { this.markLoaded = resolve; });
    if (this.loaded) this.markLoaded();
    const conns = new Connections(deps.logger);
    const timers = new Timers(deps.clock);
    const ctx: MasterContext = {
      state: deps.state,
      config: deps.config,
      clock: deps.clock,
      logger: deps.logger,
      ids: new IdGenerator(deps.state.info.id),
      conns,
      timers,
      filters: new OfferFilters(),
      removals: new RemovalQueue<string>(deps.config.agentRemovalRateLimit),
      requestAllocation: () => this.allocation.request(),
      ...(deps.registry !== undefined ? {
        registry: {
          agentRemoved: (agentId: string) => this.persist('agent removal', (r) => r.removeAgent(agentId)),
          agentUnreachable: (agentId: string, at: number) => this.durably(deps.registry!.markUnreachable(agentId, at)),
          agentReadmitted: (agentId: string, info: AgentInfo, at: number) => this.persist('agent re-admission', (r) => r.admitAgent(agentId, info, at)),
          frameworkDisconnected: (frameworkId: string, deadlineMs: number) => this.persist('framework deadline', (r) => r.setFrameworkDeadline(frameworkId, deadlineMs)),
          frameworkRemoved: (frameworkId: string) => this.persist('framework removal', (r) => r.removeFramework(frameworkId)),
        },
      } : {}),
    };
    this.ctx = ctx;
    this.allocation = new AllocationLoop(ctx, deps.allocate);
    if (this.registry === undefined) this.startRegistryGc();
  }

  get state(): MasterState {
    return this.ctx.state;
  }

  /** True once the registry is loaded (always without a registry): the scheduler API may be served. */
  get recovered(): boolean {
    return this.loaded;
  }

  /**
   * A registry write nobody waits for; a failure is logged (the registry lags until the next
   * write). Issued at once, like {@link durably}, so that the registry applies every operation
   * in the order the master decided them (and can group-commit a burst of them).
   */
  private persist(what: string, fn: (r: MasterRegistry) => Promise<void>): void {
    const registry = this.registry;
    if (registry === undefined) return;
    const write = fn(registry).catch((err: unknown) => {
      this.ctx.logger.error({ err, what }, 'registry write failed');
      this.checkConflict(err);
    });
    this.writes = Promise.all([this.writes, write]).then(() => undefined);
  }

  /**
   * A registry write the caller waits for (called directly, so the registry keeps its call
   * order). Settles like `write`, except never once the master is closed; a conflict makes
   * the master step down.
   */
  private durably(write: Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      write.then(() => {
        if (!this.closed) resolve();
      }, (err: unknown) => {
        this.checkConflict(err);
        if (!this.closed) reject(err as Error);
      });
    });
  }

  /** Registry GC every `registryGcIntervalMs` (Mesos `--registry_gc_interval`), while leading. */
  private startRegistryGc(): void {
    this.ctx.timers.interval('registry-gc', this.ctx.config.registryGcIntervalMs, () => {
      void this.collectRegistryGarbage();
    });
  }

  /**
   * One registry GC round (Mesos `doRegistryGc`): unreachable agents beyond the count or
   * older than the age limit are pruned from the registry, then forgotten with their tasks.
   * Resolves with the pruned ids (a failed write is logged and retried next round).
   */
  async collectRegistryGarbage(): Promise<string[]> {
    const { ctx } = this;
    const ids = unreachableAgentsToPrune(ctx.state.unreachableAgents, ctx.clock.now(), {
      maxAgentAgeMs: ctx.config.registryMaxAgentAgeMs,
      maxAgentCount: ctx.config.registryMaxAgentCount,
    });
    if (ids.length === 0) return [];
    if (this.registry !== undefined) {
      try {
        await this.durably(this.registry.pruneUnreachable(ids, ctx.clock.now()));
      } catch (err) {
        ctx.logger.error({ err, agents: ids.length }, 'registry GC write failed; retrying at the next round');
        return [];
      }
    }
    // An agent that re-registered while the prune was written is live again: keep it.
    const pruned = ids.filter((id) => !ctx.state.agents.has(id));
    const now = ctx.clock.now();
    for (const id of pruned) {
      ctx.state.unreachableAgents.delete(id);
      rememberGoneAgent(ctx.state, id, now);
    }
    const tasks = forgetUnreachableTasks(ctx.state, new Set(pruned));
    ctx.logger.info({ agents: pruned.length, tasks }, 'registry GC forgot unreachable agents');
    return pruned;
  }

  private checkConflict(err: unknown): void {
    if ((err as { code?: unknown }).code === 'AGORA_REGISTRY_CONFLICT') this.onRegistryConflict?.((err as Error).message);
  }

  /**
   * Loads the registry (call once elected; idempotent). Agents it lists get
   * `agentReregisterTimeoutMs` to re-register, then the missing ones are marked unreachable;
   * frameworks whose failover deadline already passed are removed once the agents are back
   * (or the wait is over), the others get a timer for the time they have left. Rejects when
   * the registry cannot be read (the caller gives up leadership).
   */
  recover(): Promise<void> {
    const registry = this.registry;
    if (registry === undefined) return Promise.resolve();
    this.recovery ??= (async () => {
      const { ctx } = this;
      const snapshot = await registry.load();
      if (this.closed) return;
      const now = ctx.clock.now();
      const plan = planRecovery(snapshot, now, new Set(ctx.state.agents.keys()));
      for (const [id, t] of plan.unreachable) if (!ctx.state.agents.has(id)) ctx.state.unreachableAgents.set(id, t);
      for (const [id, t] of Object.entries(snapshot.gone).sort((a, b) => a[1] - b[1])) {
        if (!ctx.state.agents.has(id)) rememberGoneAgent(ctx.state, id, t);
      }
      for (const [id, agent] of plan.awaitAgents) this.awaitedAgents.set(id, agent);
      for (const id of plan.expiredFrameworks) this.expiredFrameworks.add(id);
      for (const [id, { deadlineMs, remainingMs }] of plan.pendingFrameworks) {
        this.recoveredDeadlines.set(id, deadlineMs);
        ctx.timers.timeout(`failover:${id}`, remainingMs, () => {
          if (ctx.state.frameworks.get(id)?.connected === true) return;
          ctx.logger.info({ frameworkId: id }, 'persisted failover deadline passed; removing framework');
          this.tearDownFramework(id);
        });
      }
      this.loaded = true;
      this.markLoaded();
      this.startRegistryGc();
      ctx.logger.info({
        agents: plan.awaitAgents.size,
        unreachable: plan.unreachable.size,
        expiredFrameworks: plan.expiredFrameworks.size,
        pendingFrameworks: plan.pendingFrameworks.size,
        reregisterTimeoutMs: ctx.config.agentReregisterTimeoutMs,
      }, 'registry recovered');
      if (this.awaitedAgents.size === 0) this.endReregistration();
      else ctx.timers.timeout('agent-reregister', ctx.config.agentReregisterTimeoutMs, () => this.endReregistration());
    })();
    return this.recovery;
  }

  /** The re-registration window is over (timeout, or every awaited agent is back). */
  private endReregistration(): void {
    if (this.reregistrationOver || this.closed) return;
    this.reregistrationOver = true;
    const { ctx } = this;
    ctx.timers.cancel('agent-reregister');
    const now = ctx.clock.now();
    for (const id of this.awaitedAgents.keys()) {
      ctx.logger.warn({ agentId: id }, 'agent did not re-register after master failover; marked unreachable');
      ctx.state.unreachableAgents.set(id, now);
      this.persist('unreachable agent', (r) => r.markUnreachable(id, now));
    }
    this.awaitedAgents.clear();
    for (const id of this.expiredFrameworks) {
      ctx.logger.info({ frameworkId: id }, 'failover deadline passed during master failover; removing framework');
      this.tearDownFramework(id);
    }
    this.expiredFrameworks.clear();
  }

  /** Removes a framework known from the registry (shutdown_framework to every connected agent). */
  private tearDownFramework(id: string): void {
    const { state } = this.ctx;
    this.recoveredDeadlines.delete(id);
    if (!state.frameworks.has(id)) {
      const info: FrameworkInfo = { user: '', name: '', id: { value: id } };
      state.frameworks.set(id, {
        id, info, roles: rolesOf(info), capabilities: new Set(), connected: false, streamId: '',
        registeredAt: this.ctx.clock.now(), suppressedRoles: new Set(), used: [], offered: [], executors: new Map(),
      });
    }
    removeFramework(this.ctx, id);
  }

  /** Runs an allocation now (tests, operator tooling); normally runs are event-driven. */
  allocateNow(): void {
    this.allocation.run();
  }

  // ---- scheduler API ----

  getFramework(frameworkId: string): FrameworkRecord | undefined {
    return this.ctx.state.frameworks.get(frameworkId);
  }

  subscribe(call: SchedulerCall, stream: SubscriberStream): void {
    if (this.closed) {
      stream.close();
      return;
    }
    if (this.registry === undefined) {
      subscribeFramework(this.ctx, call, stream);
      return;
    }
    this.subscribeDurably(call, stream, this.registry).catch((err: unknown) => {
      this.ctx.logger.error({ err }, 'registry write for SUBSCRIBE failed');
      this.checkConflict(err);
      stream.send(events.error('Master failed to persist the framework; retry'));
      stream.close();
    });
  }

  /** SUBSCRIBE with a registry: the framework is recorded (no deadline) before SUBSCRIBED is sent. */
  private async subscribeDurably(call: SchedulerCall, stream: SubscriberStream, registry: MasterRegistry): Promise<void> {
    const { ctx } = this;
    const info = call.subscribe!.framework_info;
    const requested = info.id?.value;
    if (requested !== undefined && this.expiredFrameworks.has(requested)) {
      stream.send(events.error('Framework has been removed'));
      stream.close();
      return;
    }
    if (validateFrameworkInfo(info) !== undefined
      || (requested !== undefined && !ctx.state.frameworks.has(requested) && ctx.state.completedFrameworks.some((f) => f.id === requested))) {
      subscribeFramework(ctx, call, stream); // refuses with ERROR, nothing to persist
      return;
    }
    const id = requested ?? ctx.ids.frameworkId();
    await registry.setFrameworkDeadline(id, undefined);
    if (this.closed) {
      stream.close();
      return;
    }
    const fw = ctx.state.frameworks.get(id);
    if (stream.closed || (fw === undefined && ctx.state.completedFrameworks.some((f) => f.id === id))) {
      // The scheduler left (or the framework was removed) while we wrote: put back what the registry should say.
      if (fw === undefined) this.persist('framework removal', (r) => r.removeFramework(id));
      else if (!fw.connected && fw.failoverDeadline !== undefined) {
        const deadline = fw.failoverDeadline;
        this.persist('framework deadline', (r) => r.setFrameworkDeadline(id, deadline));
      }
      stream.close();
      return;
    }
    subscribeFramework(ctx, call, stream, id);
    this.recoveredDeadlines.delete(id);
    if (ctx.state.frameworks.get(id)?.connected === true) ctx.timers.cancel(`failover:${id}`);
  }

  handleCall(framework: FrameworkRecord, call: SchedulerCall): CallResult {
    return handleSchedulerCall(this.ctx, framework, call);
  }

  countInvalidCall(): void {
    this.ctx.state.counters.invalidCalls++;
  }

  // ---- agents ----

  onAgentMessage(link: AgentLink, message: AgentMessage): void {
    if (this.registry === undefined) {
      this.handleAgentMessage(link, message);
      return;
    }
    // With a registry, messages wait for the registry to be loaded and for the persisting of
    // this socket's earlier (re)registration: one chain per socket keeps them in order.
    const registry = this.registry;
    const previous = this.agentQueues.get(link) ?? this.loadedPromise;
    const next = previous.then(async () => {
      if (this.closed) return;
      if (message.type === 'register' && !(link.agentId !== undefined && this.ctx.state.agents.has(link.agentId))) {
        const id = this.ctx.ids.agentId();
        await registry.admitAgent(id, message.agent_info, this.ctx.clock.now());
        if (this.closed) return;
        this.ctx.state.counters.messagesReceived++;
        registerAgent(this.ctx, link, message, id);
        return;
      }
      if (message.type === 'reregister') {
        const { state } = this.ctx;
        const id = message.agent_id.value;
        // An agent the registry GC forgot is not admitted again: reregisterAgent shuts it down.
        const gone = state.goneAgents.has(id) && !state.agents.has(id);
        if (!gone) await registry.admitAgent(id, message.agent_info, this.ctx.clock.now());
        if (this.closed) return;
        this.ctx.state.counters.messagesReceived++;
        this.reregister(link, message);
        return;
      }
      this.handleAgentMessage(link, message);
    }).catch((err: unknown) => {
      this.ctx.logger.error({ err, type: message.type, agentId: link.agentId }, 'agent message failed (registry)');
      this.checkConflict(err);
      link.send({ type: 'error', message: `master failed to handle ${message.type}: ${(err as Error).message}` });
    });
    this.agentQueues.set(link, next);
  }

  /** Re-registration after a master failover: the agent is no longer awaited; removed frameworks are shut down on it. */
  private reregister(link: AgentLink, message: AgentMessageOf<'reregister'>): void {
    const { ctx } = this;
    const id = message.agent_id.value;
    reregisterAgent(ctx, link, message);
    this.awaitedAgents.delete(id);
    const reported = new Set<string>();
    for (const fw of message.frameworks ?? []) if (fw.id !== undefined) reported.add(fw.id.value);
    for (const t of message.tasks ?? []) reported.add(t.framework_id.value);
    for (const fid of reported) {
      const fw = ctx.state.frameworks.get(fid);
      if (fw === undefined && ctx.state.completedFrameworks.some((f) => f.id === fid)) {
        ctx.conns.sendToAgent(id, { type: 'shutdown_framework', framework_id: { value: fid } });
      }
      const deadline = this.recoveredDeadlines.get(fid);
      if (fw !== undefined && !fw.connected && deadline !== undefined && fw.failoverDeadline === undefined) fw.failoverDeadline = deadline;
    }
    if (this.loaded && this.awaitedAgents.size === 0) this.endReregistration();
  }

  private handleAgentMessage(link: AgentLink, message: AgentMessage): void {
    const { ctx } = this;
    ctx.state.counters.messagesReceived++;
    if (message.type === 'register') {
      registerAgent(ctx, link, message);
      return;
    }
    if (message.type === 'reregister') {
      reregisterAgent(ctx, link, message);
      return;
    }
    const agentId = link.agentId;
    if (agentId === undefined || !ctx.state.agents.has(agentId)) {
      link.send({ type: 'error', message: `'${message.type}' before registration; send 'register' or 'reregister' first` });
      return;
    }
    switch (message.type) {
      case 'pong':
        handlePong(ctx, agentId);
        return;
      case 'status_update':
        handleStatusUpdate(ctx, agentId, message.update);
        return;
      case 'executor_exited':
        handleExecutorExited(ctx, agentId, message);
        return;
      case 'executor_to_framework':
        handleExecutorMessage(ctx, agentId, message);
        return;
    }
  }

  onAgentDisconnected(link: AgentLink): void {
    if (this.closed) return;
    agentDisconnected(this.ctx, link);
  }

  /** Resolves once the registry writes queued so far are done (tests, orderly shutdown). */
  flushRegistry(): Promise<void> {
    return this.writes;
  }

  /** Stops every timer and ends every framework stream (sockets are closed by their edges). */
  close(): void {
    this.closed = true;
    this.markLoaded(); // queued agent messages drain (and are dropped: closed)
    this.allocation.close();
    this.ctx.timers.cancelAll();
    for (const stream of this.ctx.conns.frameworkStreams.values()) stream.close();
    this.ctx.conns.frameworkStreams.clear();
  }
}
