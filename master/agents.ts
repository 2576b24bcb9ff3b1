/**
 * Slave lifecycle (Mesos `registerSlave`, `reregisterSlave`, `disconnect`,
 * `markUnreachable`): registration with a new id, re-registration keeping the id (known or
 * not: a master that failed over, or whose registry GC forgot the agent, accepts it),
 * health checking by ping/pong, deactivation on socket loss, and removal once the ping
 * budget is spent — queued behind the removal rate limit, then written to the registry as
 * unreachable before any task update goes out. The tasks of an unreachable agent stay
 * known as TASK_UNREACHABLE and are reported again when it re-registers.
 *
 * @module
 */
import {
  isTerminalState, type AgentInfo, type AgentMessageOf, type MasterMessageOf, type TaskState, type TaskStatusReason,
} from '../sdk/protocol/index.js';
import { flattenResources, unallocateResources } from '../sdk/resources/index.js';
import { recomputeUsed, releaseUsed } from './accounting.js';
import { AgentAddressIndex } from './agent-addresses.js';
import type { AgentLink } from './connections.js';
import type { MasterContext } from './context.js';
import { events, masterStatus } from './events.js';
import type { AgentRecord, FrameworkRecord, MasterState, TaskRecord } from './model.js';
import { offersOfAgent, removeOffer } from './offers.js';
import { handleStatusUpdate } from './status-updates.js';
import { addTask, applyStatus, completeTask, isPartitionAware, markTaskUnreachable, tasksOnAgent } from './tasks.js';
import { rolesOf } from './frameworks.js';

/** Default port of a slave that does not say (Mesos agent default). */
export const DEFAULT_AGENT_PORT = 5051;

/** Ping periods without a pong (or spent disconnected) before an agent is removed, in ms. */
export function removalBudgetMs(ctx: MasterContext): number {
  return ctx.config.agentPingTimeoutMs * ctx.config.maxAgentPingTimeouts;
}

/**
 * Each master state's agents by address. Kept beside the plain-data state (agents.ts is the
 * only module that adds, moves or removes agents); built from `state.agents` the first time,
 * so a state filled by other means (tests) is indexed too.
 */
const addressIndexes = new WeakMap<MasterState, AgentAddressIndex>();

function addressIndex(state: MasterState): AgentAddressIndex {
  let index = addressIndexes.get(state);
  if (index === undefined) {
    index = new AgentAddressIndex();
    for (const agent of state.agents.values()) index.put(agent);
    addressIndexes.set(state, index);
  }
  return index;
}

function newAgentRecord(ctx: MasterContext, id: string, info: AgentInfo, link: AgentLink, version: string | undefined): AgentRecord {
  return {
    id,
    info: { ...info, id: { value: id } },
    hostname: info.hostname,
    port: info.port ?? DEFAULT_AGENT_PORT,
    ip: link.remoteAddress,
    attributes: info.attributes ?? [],
    total: flattenResources(unallocateResources(info.resources ?? [])),
    used: [],
    offered: [],
    version: version ?? '',
    registeredAt: ctx.clock.now(),
    active: true,
    missedPings: 0,
  };
}

/**
 * Pings an agent every agentPingTimeoutMs. `missedPings` counts pings sent since the last
 * pong; when maxAgentPingTimeouts pings have gone unanswered for a whole period each, the
 * agent is removed (Mesos `--agent_ping_timeout` × `--max_agent_ping_timeouts`).
 */
function startHealthChecks(ctx: MasterContext, agentId: string): void {
  ctx.timers.interval(`ping:${agentId}`, ctx.config.agentPingTimeoutMs, () => {
    const agent = ctx.state.agents.get(agentId);
    if (agent === undefined || !agent.active) {
      ctx.timers.cancel(`ping:${agentId}`);
      return;
    }
    if (agent.missedPings >= ctx.config.maxAgentPingTimeouts && !ctx.removals.has(agentId)) {
      ctx.logger.warn({ agentId, missedPings: agent.missedPings }, 'agent failed health checks; removing');
      scheduleRemoval(ctx, agentId, `Agent ${agent.hostname} is unreachable: health check timed out`);
      if (!agent.active) return; // removal under way (not rate limited)
    }
    // Pings go on while a removal waits for the rate limit: a pong takes it back.
    agent.missedPings++;
    ctx.conns.sendToAgent(agentId, { type: 'ping' });
  });
}

export function handlePong(ctx: MasterContext, agentId: string): void {
  const agent = ctx.state.agents.get(agentId);
  if (agent === undefined || agent.markingUnreachable === true) return; // too late: Mesos ignores it too
  agent.missedPings = 0;
  if (ctx.removals.cancel(agentId)) ctx.logger.info({ agentId }, 'agent answered while its removal waited for the rate limit; kept');
}

/** Timer key of the rate-limited removal queue. */
const REMOVAL_RELEASE_TIMER = 'agent-removal-release';

/**
 * An agent failed its health checks (or stayed disconnected for the whole budget): its
 * removal is queued behind `--agent-removal-rate-limit` (released at once without one).
 */
export function scheduleRemoval(ctx: MasterContext, agentId: string, message: string): void {
  if (!ctx.state.agents.has(agentId)) return;
  if (ctx.removals.enqueue(agentId, message) && ctx.removals.limit !== undefined) {
    ctx.logger.info({ agentId, queued: ctx.removals.size, rate: ctx.removals.limit.text }, 'agent removal queued behind the rate limit');
  }
  releaseRemovals(ctx);
}

/** Releases the removals the rate limit allows now and sets the timer for the next one. */
function releaseRemovals(ctx: MasterContext): void {
  const now = ctx.clock.now();
  for (const [agentId, message] of ctx.removals.release(now)) markAgentUnreachable(ctx, agentId, message);
  const next = ctx.removals.nextReleaseAt(now);
  if (next === undefined) ctx.timers.cancel(REMOVAL_RELEASE_TIMER);
  else ctx.timers.timeout(REMOVAL_RELEASE_TIMER, next - now, () => releaseRemovals(ctx));
}

/**
 * Mesos `markUnreachable`: the agent is deactivated (offers rescinded), the registry records
 * it as unreachable, and only once that is durable are its tasks reported TASK_UNREACHABLE
 * / TASK_LOST and the agent removed. If it re-registers while the write is in flight it
 * stays (and is admitted again); if the write fails the removal is retried a ping period later.
 */
export function markAgentUnreachable(ctx: MasterContext, agentId: string, message: string): void {
  const agent = ctx.state.agents.get(agentId);
  if (agent === undefined || agent.markingUnreachable === true) return;
  ctx.timers.cancel(`ping:${agentId}`);
  ctx.timers.cancel(`agent-removal:${agentId}`);
  agent.active = false;
  ctx.state.agentChanges?.touched(agent);
  agent.markingUnreachable = true;
  for (const offer of offersOfAgent(ctx.state, agentId)) removeOffer(ctx, offer.id, { rescind: true, reallocate: false });
  const at = ctx.clock.now();
  const finish = (): void => removeAgent(ctx, agentId, { unreachable: true, reason: 'REASON_AGENT_REMOVED', message, at });
  if (ctx.registry === undefined) {
    finish();
    return;
  }
  ctx.registry.agentUnreachable(agentId, at).then(() => {
    const current = ctx.state.agents.get(agentId);
    if (current === agent && agent.markingUnreachable === true) {
      finish();
      return;
    }
    if (current !== undefined) {
      // It re-registered while the mark was written: the registry must say admitted again.
      ctx.logger.info({ agentId }, 'agent re-registered while being marked unreachable; kept');
      ctx.registry?.agentReadmitted(agentId, current.info, ctx.clock.now());
    }
  }, (err: unknown) => {
    if (ctx.state.agents.get(agentId) !== agent || agent.markingUnreachable !== true) return;
    agent.markingUnreachable = false;
    ctx.logger.error({ err, agentId }, 'could not record the agent as unreachable; retrying after a ping period');
    ctx.timers.timeout(`agent-removal:${agentId}`, ctx.config.agentPingTimeoutMs, () => scheduleRemoval(ctx, agentId, message));
  });
}

function attachLink(ctx: MasterContext, agentId: string, link: AgentLink): void {
  const old = ctx.conns.agentLinks.get(agentId);
  if (old !== undefined && old !== link) {
    old.agentId = undefined; // its close must not deactivate the agent
    old.close(1000, 'replaced by a newer connection');
  }
  link.agentId = agentId;
  ctx.conns.agentLinks.set(agentId, link);
  ctx.timers.cancel(`agent-removal:${agentId}`);
  if (ctx.removals.cancel(agentId)) ctx.logger.info({ agentId }, 'agent came back while its removal waited for the rate limit; kept');
}

/**
 * `registered`/`reregistered` for agent `agentId`. This master accepts batch frames from any
 * slave (both its transports parse them), so it says so to every one.
 */
function registrationAnswer(ctx: MasterContext, type: 'registered' | 'reregistered', agentId: string): MasterMessageOf<'registered' | 'reregistered'> {
  return { type, agent_id: { value: agentId }, master_info: ctx.state.info, ping_interval_seconds: ctx.config.agentPingTimeoutMs / 1000, batches: true };
}

/**
 * `register`: a new agent id (`mintedId` when the master already minted and persisted it);
 * an inactive agent at the same hostname:port is taken as restarted and removed.
 */
export function registerAgent(ctx: MasterContext, link: AgentLink, msg: AgentMessageOf<'register'>, mintedId?: string): void {
  const { state } = ctx;
  if (link.agentId !== undefined && state.agents.has(link.agentId)) {
    // A retried register on the same connection: answer again with the same id.
    link.send(registrationAnswer(ctx, 'registered', link.agentId));
    return;
  }
  const port = msg.agent_info.port ?? DEFAULT_AGENT_PORT;
  const index = addressIndex(state);
  for (const otherId of index.at(msg.agent_info.hostname, port, link.remoteAddress)) {
    const other = state.agents.get(otherId);
    if (other !== undefined && !other.active && other.hostname === msg.agent_info.hostname && other.port === port && other.ip === link.remoteAddress) {
      removeAgent(ctx, other.id, { unreachable: false, reason: 'REASON_AGENT_RESTARTED', message: `Agent ${other.hostname} restarted` });
    }
  }
  const id = mintedId ?? ctx.ids.agentId();
  const agent = newAgentRecord(ctx, id, msg.agent_info, link, msg.version);
  state.agents.set(id, agent);
  state.agentChanges?.membershipChanged();
  index.put(agent);
  attachLink(ctx, id, link);
  state.counters.slaveRegistrations++;
  ctx.logger.info({ agentId: id, hostname: agent.hostname, port: agent.port, ip: agent.ip }, 'agent registered');
  link.send(registrationAnswer(ctx, 'registered', id));
  startHealthChecks(ctx, id);
  ctx.requestAllocation();
}

/**
 * `reregister`: the agent keeps its id. Its report replaces what the master believed about
 * the agent's tasks (tasks the agent no longer has become TASK_LOST/TASK_DROPPED), unknown
 * frameworks are recorded as disconnected until they resubscribe, and unacknowledged
 * updates are forwarded again.
 *
 * An agent coming back from unreachable: each TASK_UNREACHABLE task of a partition-aware
 * framework that it reports is restored, charged to the agent again, and the framework gets
 * the task's current state from the master (REASON_AGENT_REREGISTERED, no uuid). Tasks of
 * frameworks that are not partition-aware were reported TASK_LOST, a terminal state: they
 * are killed on the agent (charged until it reports them ended), never reported running
 * again. Unreachable tasks it does not report get TASK_GONE (partition-aware) / TASK_LOST. An agent the master does not know at
 * all (a master that failed over) is accepted with what it reports. An agent the registry GC
 * forgot (unreachable longer than `--registry-max-agent-age`) is refused: see
 * {@link shutDownGoneAgent}.
 */
export function reregisterAgent(ctx: MasterContext, link: AgentLink, msg: AgentMessageOf<'reregister'>): void {
  const { state } = ctx;
  const id = msg.agent_id.value;
  if (state.goneAgents.has(id) && !state.agents.has(id)) {
    shutDownGoneAgent(ctx, link, msg);
    return;
  }
  const now = ctx.clock.now();
  let agent = state.agents.get(id);
  if (agent === undefined) {
    agent = newAgentRecord(ctx, id, msg.agent_info, link, msg.version);
    agent.reregisteredAt = now;
    state.agents.set(id, agent);
    state.agentChanges?.membershipChanged();
    addressIndex(state).put(agent);
    if (state.unreachableAgents.delete(id)) ctx.logger.info({ agentId: id }, 'unreachable agent re-registered');
    // A master that failed over, or whose registry GC forgot the agent: admitted as Mesos does.
    else ctx.logger.info({ agentId: id }, 'agent not yet seen by this master re-registered (a master failover); admitted');
  } else {
    agent.info = { ...msg.agent_info, id: { value: id } };
    agent.hostname = msg.agent_info.hostname;
    agent.port = msg.agent_info.port ?? DEFAULT_AGENT_PORT;
    agent.ip = link.remoteAddress;
    agent.attributes = msg.agent_info.attributes ?? [];
    agent.total = flattenResources(unallocateResources(msg.agent_info.resources ?? []));
    agent.version = msg.version ?? agent.version;
    agent.active = true;
    state.agentChanges?.touched(agent);
    agent.missedPings = 0;
    agent.markingUnreachable = false;
    agent.reregisteredAt = now;
    addressIndex(state).put(agent);
  }
  attachLink(ctx, id, link);
  state.counters.slaveReregistrations++;

  // Frameworks the master does not know (it failed over): kept, disconnected, until they resubscribe.
  for (const info of msg.frameworks ?? []) {
    const fid = info.id?.value;
    if (fid === undefined || state.frameworks.has(fid) || state.completedFrameworks.some((f) => f.id === fid)) continue;
    const fw: FrameworkRecord = {
      id: fid,
      info,
      roles: rolesOf(info),
      capabilities: new Set((info.capabilities ?? []).map((c) => c.type)),
      connected: false,
      streamId: '',
      registeredAt: now,
      suppressedRoles: new Set(),
      used: [],
      offered: [],
      executors: new Map(),
    };
    state.frameworks.set(fid, fw);
  }

  const reported = new Map<string, NonNullable<typeof msg.tasks>[number]>();
  for (const t of msg.tasks ?? []) reported.set(`${t.framework_id.value}\u0000${t.task.task_id.value}`, t);

  // Tasks the master has on this agent that the agent does not report are gone.
  for (const task of tasksOnAgent(state, id)) {
    if (reported.has(`${task.frameworkId}\u0000${task.info.task_id.value}`)) continue;
    if (!isTerminalState(task.state)) {
      const fw = state.frameworks.get(task.frameworkId);
      // An unreachable task the agent does not have is gone (what reconciliation would say).
      const gone = task.state === 'TASK_UNREACHABLE' ? 'TASK_GONE' : 'TASK_DROPPED';
      const status = masterStatus({
        taskId: task.info.task_id.value,
        state: isPartitionAware(fw) ? gone : 'TASK_LOST',
        reason: 'REASON_RECONCILIATION',
        message: 'Task is unknown to the agent after it re-registered',
        agentId: id,
        executorId: task.executorId,
        now,
      });
      applyStatus(state, task, status);
      ctx.conns.sendEvent(task.frameworkId, events.update(status));
    }
    completeTask(state, task);
  }

  // Executors on this agent are rebuilt from the report.
  for (const fw of state.frameworks.values()) fw.executors.delete(id);
  const toKill: TaskRecord[] = [];
  const pendingOnAgent = new Set((msg.unacknowledged_updates ?? []).map((u) => `${u.framework_id.value}\u0000${u.status.task_id.value}`));
  for (const t of reported.values()) {
    const fid = t.framework_id.value;
    const fw = state.frameworks.get(fid);
    if (fw === undefined) continue; // a framework the agent did not describe and we do not know
    const existing = state.tasks.get(fid)?.get(t.task.task_id.value);
    if (existing !== undefined && existing.agentId === id && existing.state === 'TASK_UNREACHABLE') {
      if (isPartitionAware(fw)) {
        // With an update of the task still unacknowledged on the agent, its stream delivers
        // the states in order (head first); a master update with the latest state would
        // overtake it (TASK_FINISHED, then the stream's TASK_STARTING: a state going back).
        const announce = !pendingOnAgent.has(`${fid}\u0000${t.task.task_id.value}`);
        restoreUnreachableTask(ctx, existing, t.state, now, announce);
      } else {
        // The framework was told TASK_LOST (terminal) and may have replaced the task: it must
        // not come back to life next to its replacement. Killed, still charged until the
        // agent reports it ended (Mesos 1.1–1.4 did the same for non-partition-aware frameworks).
        existing.state = 'TASK_KILLING';
        existing.unreachableSince = undefined;
        toKill.push(existing);
      }
    } else if (existing !== undefined && existing.agentId === id) {
      if (!isTerminalState(existing.state)) existing.state = t.state;
    } else {
      const record: TaskRecord = {
        frameworkId: fid,
        agentId: id,
        executorId: t.executor_id?.value ?? t.task.executor?.executor_id.value,
        info: t.task,
        resources: t.task.resources ?? [],
        state: t.state,
        statuses: [],
      };
      addTask(state, record);
    }
    const executor = t.task.executor;
    if (executor !== undefined) {
      let map = fw.executors.get(id);
      if (map === undefined) fw.executors.set(id, (map = new Map()));
      map.set(executor.executor_id.value, executor);
    }
  }
  recomputeUsed(state);

  ctx.logger.info({ agentId: id, hostname: agent.hostname, tasks: reported.size }, 'agent re-registered');
  link.send(registrationAnswer(ctx, 'reregistered', id));
  for (const task of toKill) {
    ctx.logger.info({ agentId: id, frameworkId: task.frameworkId, taskId: task.info.task_id.value }, 'killing a task its framework was told is lost (not partition-aware)');
    link.send({ type: 'kill_task', framework_id: { value: task.frameworkId }, task_id: { value: task.info.task_id.value } });
  }
  for (const update of msg.unacknowledged_updates ?? []) handleStatusUpdate(ctx, id, update, { apply: false });
  startHealthChecks(ctx, id);
  ctx.requestAllocation();
}

/**
 * A task of an agent that was unreachable is reported by the re-registered agent: it takes
 * the reported state (its resources are charged again by the caller's recomputeUsed) and,
 * when `announce`, the framework gets that state from the master with
 * REASON_AGENT_REREGISTERED (not when the agent's own update stream will bring it).
 */
function restoreUnreachableTask(ctx: MasterContext, task: TaskRecord, reported: TaskState, now: number, announce: boolean): void {
  const status = masterStatus({
    taskId: task.info.task_id.value,
    state: reported,
    reason: 'REASON_AGENT_REREGISTERED',
    message: 'Unreachable agent re-registered',
    agentId: task.agentId,
    executorId: task.executorId,
    now,
  });
  task.state = reported;
  task.unreachableSince = undefined;
  task.statuses.push(status);
  task.latestStatus = status;
  if (announce) ctx.conns.sendEvent(task.frameworkId, events.update(status));
}

/**
 * The agent's socket closed: it is deactivated at once (offers rescinded, none made) and
 * removed unless it re-registers within the ping budget.
 */
export function agentDisconnected(ctx: MasterContext, link: AgentLink): void {
  const id = link.agentId;
  if (id === undefined || ctx.conns.agentLinks.get(id) !== link) return;
  ctx.conns.agentLinks.delete(id);
  ctx.timers.cancel(`ping:${id}`);
  const agent = ctx.state.agents.get(id);
  if (agent === undefined) return;
  agent.active = false;
  ctx.state.agentChanges?.touched(agent);
  for (const offer of offersOfAgent(ctx.state, id)) removeOffer(ctx, offer.id, { rescind: true, reallocate: false });
  ctx.logger.warn({ agentId: id, budgetMs: removalBudgetMs(ctx) }, 'agent disconnected');
  ctx.timers.timeout(`agent-removal:${id}`, removalBudgetMs(ctx), () => {
    scheduleRemoval(ctx, id, `Agent ${agent.hostname} is unreachable: disconnected for too long`);
  });
}

/**
 * Removes an agent: offers rescinded (RESCIND); when `unreachable` (its mark already
 * durable, see {@link markAgentUnreachable}) its tasks are reported TASK_UNREACHABLE
 * (partition-aware frameworks, with `unreachable_time`) or TASK_LOST and kept as
 * TASK_UNREACHABLE, and its id is remembered in unreachableAgents; otherwise its tasks get
 * TASK_GONE/TASK_LOST and the registry forgets it. Source SOURCE_MASTER, no uuid.
 */
export function removeAgent(
  ctx: MasterContext,
  agentId: string,
  opts: { unreachable: boolean; reason: TaskStatusReason; message: string; at?: number },
): void {
  const { state, conns, timers } = ctx;
  const agent = state.agents.get(agentId);
  if (agent === undefined) return;
  const now = opts.at ?? ctx.clock.now();
  timers.cancel(`ping:${agentId}`);
  timers.cancel(`agent-removal:${agentId}`);
  ctx.removals.cancel(agentId);
  for (const offer of offersOfAgent(state, agentId)) removeOffer(ctx, offer.id, { rescind: true, reallocate: false });
  for (const task of tasksOnAgent(state, agentId)) {
    if (!isTerminalState(task.state)) {
      const fw = state.frameworks.get(task.frameworkId);
      const pa = isPartitionAware(fw);
      const newState: TaskState = opts.unreachable ? (pa ? 'TASK_UNREACHABLE' : 'TASK_LOST') : (pa ? 'TASK_GONE' : 'TASK_LOST');
      const status = masterStatus({
        taskId: task.info.task_id.value,
        state: newState,
        reason: opts.reason,
        message: opts.message,
        agentId,
        executorId: task.executorId,
        now,
        ...(newState === 'TASK_UNREACHABLE' ? { unreachableSinceMs: now } : {}),
      });
      if (opts.unreachable) {
        markTaskUnreachable(state, task, status, now);
        conns.sendEvent(task.frameworkId, events.update(status));
        continue;
      }
      applyStatus(state, task, status);
      conns.sendEvent(task.frameworkId, events.update(status));
    }
    completeTask(state, task);
  }
  for (const fw of state.frameworks.values()) {
    const executors = fw.executors.get(agentId);
    if (executors === undefined) continue;
    for (const executor of executors.values()) releaseUsed(state, fw.id, agentId, executor.resources ?? []);
    fw.executors.delete(agentId);
  }
  ctx.filters.clearAgent(agentId);
  state.agents.delete(agentId);
  state.agentChanges?.membershipChanged();
  addressIndex(state).delete(agentId);
  if (opts.unreachable) state.unreachableAgents.set(agentId, now);
  else ctx.registry?.agentRemoved(agentId);
  state.counters.slaveRemovals++;
  const link = conns.agentLinks.get(agentId);
  conns.agentLinks.delete(agentId);
  if (link !== undefined) {
    link.agentId = undefined;
    link.close(1000, 'agent removed');
  }
  ctx.logger.warn({ agentId, reason: opts.reason }, 'agent removed');
  ctx.requestAllocation();
}

/**
 * An agent the registry GC forgot came back. Its tasks were given up on long ago (the
 * frameworks were told TASK_UNREACHABLE / TASK_LOST, and reconciliation answers TASK_UNKNOWN):
 * it is not admitted; it is told to shut down (it kills its tasks and registers afresh under
 * a new id) and each framework gets TASK_GONE (partition-aware) / TASK_LOST for the tasks it
 * reports, from the master, with no uuid.
 */
function shutDownGoneAgent(ctx: MasterContext, link: AgentLink, msg: AgentMessageOf<'reregister'>): void {
  const { state } = ctx;
  const id = msg.agent_id.value;
  const now = ctx.clock.now();
  const goneSince = state.goneAgents.get(id)!;
  const message = 'Agent was unreachable for longer than the registry keeps unreachable agents; its tasks are gone';
  let reported = 0;
  for (const t of msg.tasks ?? []) {
    if (isTerminalState(t.state)) continue;
    const fw = state.frameworks.get(t.framework_id.value);
    if (fw === undefined) continue; // nobody to tell: the framework is gone too
    const status = masterStatus({
      taskId: t.task.task_id.value,
      state: isPartitionAware(fw) ? 'TASK_GONE' : 'TASK_LOST',
      reason: 'REASON_AGENT_REMOVED',
      message,
      agentId: id,
      executorId: t.executor_id?.value ?? t.task.executor?.executor_id.value,
      now,
    });
    ctx.conns.sendEvent(fw.id, events.update(status));
    reported++;
  }
  ctx.logger.warn({ agentId: id, goneSinceMs: goneSince, tasks: reported }, 'agent forgotten by the registry GC re-registered; telling it to shut down');
  link.send({ type: 'shutdown', message: `Agent ${id} is gone: ${message}` });
}
