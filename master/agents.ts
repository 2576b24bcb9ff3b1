/**
 * Slave lifecycle (Mesos `registerSlave`, `reregisterSlave`, `disconnect`,
 * `markUnreachable`): registration with a new id, re-registration keeping the id (known or
 * not: a master that failed over accepts it), health checking by ping/pong, deactivation on
 * socket loss and removal once the ping budget is spent.
 *
 * @module
 */
import {
  isTerminalState, type AgentInfo, type AgentMessageOf, type TaskState, type TaskStatusReason,
} from '../sdk/protocol/index.js';
import { flattenResources, unallocateResources } from '../sdk/resources/index.js';
import { recomputeUsed, releaseUsed } from './accounting.js';
import type { AgentLink } from './connections.js';
import type { MasterContext } from './context.js';
import { events, masterStatus } from './events.js';
import type { AgentRecord, FrameworkRecord, TaskRecord } from './model.js';
import { offersOfAgent, removeOffer } from './offers.js';
import { handleStatusUpdate } from './status-updates.js';
import { addTask, applyStatus, completeTask, isPartitionAware, tasksOnAgent } from './tasks.js';
import { rolesOf } from './frameworks.js';

/** Default port of a slave that does not say (Mesos agent default). */
export const DEFAULT_AGENT_PORT = 5051;

/** Ping periods without a pong (or spent disconnected) before an agent is removed, in ms. */
export function removalBudgetMs(ctx: MasterContext): number {
  return ctx.config.agentPingTimeoutMs * ctx.config.maxAgentPingTimeouts;
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
    if (agent.missedPings >= ctx.config.maxAgentPingTimeouts) {
      ctx.logger.warn({ agentId, missedPings: agent.missedPings }, 'agent failed health checks; removing');
      removeAgent(ctx, agentId, { unreachable: true, reason: 'REASON_AGENT_REMOVED', message: `Agent ${agent.hostname} is unreachable: health check timed out` });
      return;
    }
    agent.missedPings++;
    ctx.conns.sendToAgent(agentId, { type: 'ping' });
  });
}

export function handlePong(ctx: MasterContext, agentId: string): void {
  const agent = ctx.state.agents.get(agentId);
  if (agent) agent.missedPings = 0;
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
}

/**
 * `register`: a new agent id (`mintedId` when the master already minted and persisted it);
 * an inactive agent at the same hostname:port is taken as restarted and removed.
 */
export function registerAgent(ctx: MasterContext, link: AgentLink, msg: AgentMessageOf<'register'>, mintedId?: string): void {
  const { state } = ctx;
  if (link.agentId !== undefined && state.agents.has(link.agentId)) {
    // A retried register on the same connection: answer again with the same id.
    link.send({ type: 'registered', agent_id: { value: link.agentId }, master_info: state.info, ping_interval_seconds: ctx.config.agentPingTimeoutMs / 1000 });
    return;
  }
  const port = msg.agent_info.port ?? DEFAULT_AGENT_PORT;
  for (const other of [...state.agents.values()]) {
    if (!other.active && other.hostname === msg.agent_info.hostname && other.port === port && other.ip === link.remoteAddress) {
      removeAgent(ctx, other.id, { unreachable: false, reason: 'REASON_AGENT_RESTARTED', message: `Agent ${other.hostname} restarted` });
    }
  }
  const id = mintedId ?? ctx.ids.agentId();
  const agent = newAgentRecord(ctx, id, msg.agent_info, link, msg.version);
  state.agents.set(id, agent);
  attachLink(ctx, id, link);
  state.counters.slaveRegistrations++;
  ctx.logger.info({ agentId: id, hostname: agent.hostname, port: agent.port, ip: agent.ip }, 'agent registered');
  link.send({ type: 'registered', agent_id: { value: id }, master_info: state.info, ping_interval_seconds: ctx.config.agentPingTimeoutMs / 1000 });
  startHealthChecks(ctx, id);
  ctx.requestAllocation();
}

/**
 * `reregister`: the agent keeps its id. Its report replaces what the master believed about
 * the agent's tasks (tasks the agent no longer has become TASK_LOST/TASK_DROPPED), unknown
 * frameworks are recorded as disconnected until they resubscribe, and unacknowledged
 * updates are forwarded again.
 */
export function reregisterAgent(ctx: MasterContext, link: AgentLink, msg: AgentMessageOf<'reregister'>): void {
  const { state } = ctx;
  const id = msg.agent_id.value;
  const now = ctx.clock.now();
  let agent = state.agents.get(id);
  if (agent === undefined) {
    agent = newAgentRecord(ctx, id, msg.agent_info, link, msg.version);
    agent.reregisteredAt = now;
    state.agents.set(id, agent);
    state.unreachableAgents.delete(id);
  } else {
    agent.info = { ...msg.agent_info, id: { value: id } };
    agent.hostname = msg.agent_info.hostname;
    agent.port = msg.agent_info.port ?? DEFAULT_AGENT_PORT;
    agent.ip = link.remoteAddress;
    agent.attributes = msg.agent_info.attributes ?? [];
    agent.total = flattenResources(unallocateResources(msg.agent_info.resources ?? []));
    agent.version = msg.version ?? agent.version;
    agent.active = true;
    agent.missedPings = 0;
    agent.reregisteredAt = now;
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
      const status = masterStatus({
        taskId: task.info.task_id.value,
        state: isPartitionAware(fw) ? 'TASK_DROPPED' : 'TASK_LOST',
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
  for (const t of reported.values()) {
    const fid = t.framework_id.value;
    const fw = state.frameworks.get(fid);
    if (fw === undefined) continue; // a framework the agent did not describe and we do not know
    const existing = state.tasks.get(fid)?.get(t.task.task_id.value);
    if (existing !== undefined && existing.agentId === id) {
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
  link.send({ type: 'reregistered', agent_id: { value: id }, master_info: state.info, ping_interval_seconds: ctx.config.agentPingTimeoutMs / 1000 });
  for (const update of msg.unacknowledged_updates ?? []) handleStatusUpdate(ctx, id, update, { apply: false });
  startHealthChecks(ctx, id);
  ctx.requestAllocation();
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
  for (const offer of offersOfAgent(ctx.state, id)) removeOffer(ctx, offer.id, { rescind: true, reallocate: false });
  ctx.logger.warn({ agentId: id, budgetMs: removalBudgetMs(ctx) }, 'agent disconnected');
  ctx.timers.timeout(`agent-removal:${id}`, removalBudgetMs(ctx), () => {
    removeAgent(ctx, id, { unreachable: true, reason: 'REASON_AGENT_REMOVED', message: `Agent ${agent.hostname} is unreachable: disconnected for too long` });
  });
}

/**
 * Removes an agent: offers rescinded (RESCIND), its tasks become TASK_UNREACHABLE
 * (partition-aware frameworks) or TASK_LOST when `unreachable`, else TASK_GONE/TASK_LOST;
 * source SOURCE_MASTER, no uuid; the agent's id is remembered in unreachableAgents.
 */
export function removeAgent(
  ctx: MasterContext,
  agentId: string,
  opts: { unreachable: boolean; reason: TaskStatusReason; message: string },
): void {
  const { state, conns, timers } = ctx;
  const agent = state.agents.get(agentId);
  if (agent === undefined) return;
  const now = ctx.clock.now();
  timers.cancel(`ping:${agentId}`);
  timers.cancel(`agent-removal:${agentId}`);
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
  if (opts.unreachable) state.unreachableAgents.set(agentId, now);
  ctx.registry?.agentRemoved(agentId, opts.unreachable ? now : undefined);
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
