/**
 * `/master/state`, `/master/frameworks` and `/master/slaves`: the master's state in
 * Mesos's JSON shapes (mesos/src/master/http.cpp and readonly_handler.cpp, the
 * `FullFrameworkWriter`, `SlaveWriter` and `json(Task)` writers). Pure functions of a
 * {@link MasterState}; the router adds nothing but HTTP.
 *
 * @module
 */
import type { ExecutorInfo, Resource, TaskStatus } from '../../sdk/protocol/index.js';
import { addResources } from '../../sdk/resources/index.js';
import type { AgentRecord, FrameworkRecord, MasterState, OfferRecord, TaskRecord } from '../model.js';
import { agentPid, masterHost, masterPid, secs } from './format.js';
import {
  renderAttributes, renderReserved, renderReservedFull, renderResources, unreservedOf, type ResourceModel,
} from './render-resources.js';
import { MESOS_COMPATIBLE_VERSION, type BuildInfo } from './render-version.js';

/** What the renderers need besides the state. */
export interface RenderContext {
  /** ms since the epoch (from the injected clock). */
  now: number;
  isLeader: boolean;
  /** The master's flags, shown as strings like Mesos's `flags`. */
  flags: Record<string, string>;
  build: BuildInfo;
  /** Mesos's `log_dir` flag, when logging to files. */
  logDir?: string;
}

/** Capabilities every Agora agent has (Mesos `SlaveInfo.Capability`). */
export const AGENT_CAPABILITIES: readonly string[] = ['MULTI_ROLE'];

export type Json = Record<string, unknown>;

// ---- tasks ----

function renderStatus(s: TaskStatus): Json {
  const out: Json = { state: s.state, timestamp: s.timestamp ?? 0 };
  if (s.labels?.labels !== undefined) out.labels = s.labels.labels;
  if (s.container_status !== undefined) out.container_status = s.container_status;
  if (s.healthy !== undefined) out.healthy = s.healthy;
  return out;
}

/** The role a task's resources are allocated to (Mesos shows it as the task's `role`). */
function taskRole(resources: readonly Resource[]): string | undefined {
  for (const r of resources) if (r.allocation_info?.role !== undefined) return r.allocation_info.role;
  return undefined;
}

/** A task as Mesos's `json(Task)` writes it. `executor_id` is `""` for command tasks. */
export function renderTask(task: TaskRecord): Json {
  const out: Json = {
    id: task.info.task_id.value,
    name: task.info.name,
    framework_id: task.frameworkId,
    executor_id: task.executorId ?? '',
    slave_id: task.agentId,
    state: task.state,
    resources: renderResources(task.resources),
  };
  const role = taskRole(task.resources);
  if (role !== undefined) out.role = role;
  out.statuses = task.statuses.map(renderStatus);
  if (task.info.labels?.labels !== undefined) out.labels = task.info.labels.labels;
  if (task.info.discovery !== undefined) out.discovery = task.info.discovery;
  if (task.info.container !== undefined) out.container = task.info.container;
  if (task.info.health_check !== undefined) out.health_check = task.info.health_check;
  return out;
}

// ---- offers and executors ----

export function renderOffer(offer: OfferRecord): Json {
  return {
    id: offer.id,
    framework_id: offer.frameworkId,
    allocation_info: { role: offer.role },
    slave_id: offer.agentId,
    resources: renderResources(offer.resources),
  };
}

function renderExecutor(info: ExecutorInfo, frameworkId: string, agentId: string): Json {
  const out: Json = {
    executor_id: info.executor_id.value,
    name: info.name ?? '',
    framework_id: frameworkId,
    command: info.command ?? {},
    resources: renderResources(info.resources ?? []),
    slave_id: agentId,
  };
  if (info.type !== undefined) out.type = info.type;
  if (info.labels?.labels !== undefined) out.labels = info.labels.labels;
  return out;
}

// ---- agents ----

/** The fields Mesos's state and state-summary share for an agent. */
export function renderAgentBase(agent: AgentRecord): Json {
  const out: Json = {
    id: agent.id,
    pid: agentPid(agent.ip, agent.port),
    hostname: agent.hostname,
    port: agent.port,
    registered_time: secs(agent.registeredAt),
  };
  if (agent.reregisteredAt !== undefined) out.reregistered_time = secs(agent.reregisteredAt);
  Object.assign(out, {
    resources: renderResources(agent.total),
    used_resources: renderResources(agent.used),
    offered_resources: renderResources(agent.offered),
    reserved_resources: renderReserved(agent.total),
    unreserved_resources: renderResources(unreservedOf(agent.total)),
    attributes: renderAttributes(agent.attributes),
    active: agent.active,
    version: agent.version,
    capabilities: [...AGENT_CAPABILITIES],
  });
  return out;
}

/** An agent as `/master/state` and `/master/slaves` show it (with the `*_full` lists). */
export function renderAgent(agent: AgentRecord): Json {
  return {
    ...renderAgentBase(agent),
    deactivated: !agent.active,
    reserved_resources_full: renderReservedFull(agent.total),
    unreserved_resources_full: unreservedOf(agent.total),
    used_resources_full: agent.used,
    offered_resources_full: agent.offered,
  };
}

/**
 * Each agent's `/master/state` JSON, by record, with what it was rendered from. Rendering
 * 15,000 agents (five resource models each) was most of a `/master/state`; between two
 * requests only the few agents whose resources or status changed need it again. Resource
 * lists are never mutated in place (every change assigns a new list, see accounting.ts), so
 * comparing them by identity, and the scalar fields by value, says whether the text is current.
 */
interface AgentJson {
  inputs: readonly unknown[];
  text: string;
}

const agentJsonCache = new WeakMap<AgentRecord, AgentJson>();

/** Everything {@link renderAgent} reads from the record. */
function agentRenderInputs(agent: AgentRecord): unknown[] {
  return [
    agent.id, agent.ip, agent.port, agent.hostname, agent.registeredAt, agent.reregisteredAt,
    agent.total, agent.used, agent.offered, agent.attributes, agent.active, agent.version,
  ];
}

/** `JSON.stringify(renderAgent(agent))`, from the cache when the agent did not change since. */
export function renderAgentJson(agent: AgentRecord): string {
  const inputs = agentRenderInputs(agent);
  const hit = agentJsonCache.get(agent);
  if (hit !== undefined && hit.inputs.every((v, i) => v === inputs[i])) return hit.text;
  const text = JSON.stringify(renderAgent(agent));
  agentJsonCache.set(agent, { inputs, text });
  return text;
}

/** The last `[…]` text of each agents map, with the agent texts it was joined from. */
const agentListJsonCache = new WeakMap<ReadonlyMap<string, AgentRecord>, { parts: string[]; text: string }>();

/**
 * `[a, b, …]` of the agents' cached JSON texts. When every agent's text is the very string
 * of the last call, in the same order, the last list text is reused: joining 13 MB was a
 * third of a `/master/state` at 15,000 agents.
 */
function agentsJson(agents: ReadonlyMap<string, AgentRecord>): string {
  const last = agentListJsonCache.get(agents);
  const parts: string[] = [];
  let same = last !== undefined && last.parts.length === agents.size;
  for (const agent of agents.values()) {
    const text = renderAgentJson(agent);
    if (same && last!.parts[parts.length] !== text) same = false;
    parts.push(text);
  }
  if (same) return last!.text;
  const text = `[${parts.join(',')}]`;
  agentListJsonCache.set(agents, { parts, text });
  return text;
}

/**
 * The JSON text of an object whose key `key` holds `valueJson` (already JSON), keys in the
 * order `before`, `key`, `after`: byte for byte `JSON.stringify({ ...before, [key]: value,
 * ...after })` when `valueJson` is `JSON.stringify(value)` and the key sets are disjoint.
 */
function spliceJson(before: Json, key: string, valueJson: string, after: Json): string {
  const head = JSON.stringify(before);
  const tail = JSON.stringify(after);
  return `${head.length > 2 ? `${head.slice(0, -1)},` : '{'}${JSON.stringify(key)}:${valueJson}${tail.length > 2 ? `,${tail.slice(1)}` : '}'}`;
}

// ---- frameworks ----

/** Live tasks of a framework, oldest-inserted first. */
export function frameworkTasks(state: MasterState, frameworkId: string): TaskRecord[] {
  return [...(state.tasks.get(frameworkId)?.values() ?? [])];
}

/** The fields Mesos's state and state-summary share for a framework. */
export function renderFrameworkBase(fw: FrameworkRecord): Json {
  return {
    id: fw.id,
    name: fw.info.name,
    used_resources: renderResources(fw.used),
    offered_resources: renderResources(fw.offered),
    capabilities: [...fw.capabilities],
    hostname: fw.info.hostname ?? '',
    webui_url: fw.info.webui_url ?? '',
    // Agora frameworks are HTTP frameworks: active exactly while subscribed.
    active: fw.connected,
    connected: fw.connected,
    recovered: false,
  };
}

/**
 * A framework as `/master/state` and `/master/frameworks` show it. `completed` is the list
 * of the master's remembered terminal tasks (filtered here by framework).
 */
export function renderFramework(state: MasterState, fw: FrameworkRecord): Json {
  const live = frameworkTasks(state, fw.id);
  const allocated: Resource[] = addResources(fw.used, fw.offered);
  const out: Json = {
    ...renderFrameworkBase(fw),
    user: fw.info.user,
    failover_timeout: fw.info.failover_timeout ?? 0,
    checkpoint: fw.info.checkpoint ?? false,
    role: fw.info.role ?? fw.roles[0] ?? '*',
    roles: [...fw.roles],
    registered_time: secs(fw.registeredAt),
    unregistered_time: fw.unregisteredAt === undefined ? 0 : secs(fw.unregisteredAt),
  };
  if (fw.reregisteredAt !== undefined) out.reregistered_time = secs(fw.reregisteredAt);
  if (fw.info.principal !== undefined) out.principal = fw.info.principal;
  if (fw.info.labels?.labels !== undefined) out.labels = fw.info.labels.labels;
  const executors: Json[] = [];
  for (const [agentId, byId] of fw.executors) for (const info of byId.values()) executors.push(renderExecutor(info, fw.id, agentId));
  Object.assign(out, {
    resources: renderResources(allocated),
    allocated_resources: renderResources(allocated),
    tasks: live.filter((t) => t.state !== 'TASK_UNREACHABLE').map(renderTask),
    unreachable_tasks: live.filter((t) => t.state === 'TASK_UNREACHABLE').map(renderTask),
    completed_tasks: state.completedTasks.filter((t) => t.frameworkId === fw.id).map(renderTask),
    offers: [...state.offers.values()].filter((o) => o.frameworkId === fw.id).map(renderOffer),
    executors,
  });
  return out;
}

/** Tasks whose framework the master does not know, and those frameworks' ids. */
export function orphans(state: MasterState): { tasks: TaskRecord[]; frameworkIds: string[] } {
  const tasks: TaskRecord[] = [];
  const frameworkIds: string[] = [];
  for (const [frameworkId, byId] of state.tasks) {
    if (state.frameworks.has(frameworkId) || byId.size === 0) continue;
    frameworkIds.push(frameworkId);
    tasks.push(...byId.values());
  }
  return { tasks, frameworkIds };
}

/** Body of `/master/frameworks`. */
export function renderFrameworks(state: MasterState): Json {
  return {
    frameworks: [...state.frameworks.values()].map((fw) => renderFramework(state, fw)),
    completed_frameworks: state.completedFrameworks.map((fw) => renderFramework(state, fw)),
    unregistered_frameworks: orphans(state).frameworkIds,
  };
}

/** Body of `/master/slaves`. Agora does not recover agents from a registry yet: `recovered_slaves` is empty. */
export function renderSlaves(state: MasterState): Json {
  return { slaves: [...state.agents.values()].map(renderAgent), recovered_slaves: [] };
}

/** `JSON.stringify(renderSlaves(state))`, with each agent's text cached ({@link renderAgentJson}). */
export function renderSlavesJson(state: MasterState): string {
  return spliceJson({}, 'slaves', agentsJson(state.agents), { recovered_slaves: [] });
}

/** `leader` and `leader_info`: this master when it leads, else the known leader, else absent. */
export function leaderOf(state: MasterState, isLeader: boolean) {
  return isLeader ? state.info : state.leader;
}

/** Body of `/master/state`. */
export function renderState(state: MasterState, ctx: RenderContext): Json {
  const { head, tail } = stateParts(state, ctx);
  return { ...head, slaves: [...state.agents.values()].map(renderAgent), ...tail };
}

/**
 * `JSON.stringify(renderState(state, ctx))`, byte for byte, with each agent's text cached
 * ({@link renderAgentJson}): what `/master/state` sends.
 */
export function renderStateJson(state: MasterState, ctx: RenderContext): string {
  const { head, tail } = stateParts(state, ctx);
  return spliceJson(head, 'slaves', agentsJson(state.agents), tail);
}

/** `/master/state` without `slaves`: the keys before it and the keys after it, in order. */
function stateParts(state: MasterState, ctx: RenderContext): { head: Json; tail: Json } {
  let activated = 0;
  for (const agent of state.agents.values()) if (agent.active) activated++;
  const out: Json = {
    version: MESOS_COMPATIBLE_VERSION,
  };
  if (ctx.build.gitSha !== undefined) out.git_sha = ctx.build.gitSha;
  Object.assign(out, {
    build_date: ctx.build.date,
    build_time: ctx.build.time,
    build_user: ctx.build.user,
    start_time: secs(state.startedAt),
  });
  if (ctx.isLeader) out.elected_time = secs(state.electedAt);
  Object.assign(out, {
    id: state.info.id,
    pid: masterPid(state.info),
    hostname: masterHost(state.info),
    capabilities: (state.info.capabilities ?? []).map((c) => c.type),
    activated_slaves: activated,
    deactivated_slaves: state.agents.size - activated,
    unreachable_slaves: state.unreachableAgents.size,
  });
  const leader = leaderOf(state, ctx.isLeader);
  if (leader !== undefined) {
    out.leader = masterPid(leader);
    out.leader_info = leader;
  }
  if (ctx.logDir !== undefined) out.log_dir = ctx.logDir;
  out.flags = { ...ctx.flags };
  const orphan = orphans(state);
  const tail: Json = {
    frameworks: [...state.frameworks.values()].map((fw) => renderFramework(state, fw)),
    completed_frameworks: state.completedFrameworks.map((fw) => renderFramework(state, fw)),
    orphan_tasks: orphan.tasks.map(renderTask),
    unregistered_frameworks: orphan.frameworkIds,
  };
  return { head: out, tail };
}

export type { ResourceModel };
