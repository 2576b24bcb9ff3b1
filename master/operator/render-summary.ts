/**
 * `/master/state-summary`: agents and frameworks with task counts per state instead of
 * task lists (mesos/src/master/readonly_handler.cpp, `SlaveWriter` + `TaskStateSummary`).
 * Counts include the master's remembered completed tasks, like Mesos's.
 *
 * @module
 */
import type { TaskState } from '../../sdk/protocol/index.js';
import type { MasterState, TaskRecord } from '../model.js';
import { masterHost } from './format.js';
import { renderAgentBase, renderFrameworkBase, type Json } from './render-state.js';

/** The states Mesos's TaskStateSummary counts, in its order. */
export const SUMMARY_TASK_STATES: readonly TaskState[] = [
  'TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_FINISHED', 'TASK_KILLED',
  'TASK_FAILED', 'TASK_LOST', 'TASK_ERROR', 'TASK_UNREACHABLE',
];

/** `{ TASK_STAGING: n, … }` over the given tasks. */
export function countTaskStates(tasks: Iterable<TaskRecord>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of SUMMARY_TASK_STATES) out[s] = 0;
  for (const t of tasks) if (t.state in out) out[t.state] = (out[t.state] ?? 0) + 1;
  return out;
}

/** Every task the master knows (live, then completed). */
export function allTasks(state: MasterState): TaskRecord[] {
  const out: TaskRecord[] = [];
  for (const byId of state.tasks.values()) out.push(...byId.values());
  out.push(...state.completedTasks);
  return out;
}

/** Body of `/master/state-summary`. `cluster` is Mesos's `--cluster` flag when set. */
export function renderStateSummary(state: MasterState, opts: { cluster?: string } = {}): Json {
  const tasks = allTasks(state);
  const byAgent = new Map<string, TaskRecord[]>();
  const byFramework = new Map<string, TaskRecord[]>();
  for (const t of tasks) {
    (byAgent.get(t.agentId) ?? byAgent.set(t.agentId, []).get(t.agentId)!).push(t);
    (byFramework.get(t.frameworkId) ?? byFramework.set(t.frameworkId, []).get(t.frameworkId)!).push(t);
  }
  const live = (t: TaskRecord) => state.tasks.get(t.frameworkId)?.get(t.info.task_id.value) === t;

  const out: Json = { hostname: masterHost(state.info) };
  if (opts.cluster !== undefined) out.cluster = opts.cluster;
  out.slaves = [...state.agents.values()].map((agent) => {
    const own = byAgent.get(agent.id) ?? [];
    // Frameworks with live tasks or executors on the agent (Mesos: those using resources there).
    const frameworkIds = new Set(own.filter(live).map((t) => t.frameworkId));
    for (const fw of state.frameworks.values()) if ((fw.executors.get(agent.id)?.size ?? 0) > 0) frameworkIds.add(fw.id);
    return { ...renderAgentBase(agent), ...countTaskStates(own), framework_ids: [...frameworkIds].sort() };
  });
  out.frameworks = [...state.frameworks.values()].map((fw) => {
    const own = byFramework.get(fw.id) ?? [];
    const agentIds = new Set(own.filter(live).map((t) => t.agentId));
    for (const [agentId, byId] of fw.executors) if (byId.size > 0) agentIds.add(agentId);
    return { ...renderFrameworkBase(fw), ...countTaskStates(own), slave_ids: [...agentIds].sort() };
  });
  return out;
}
