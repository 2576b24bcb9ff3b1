/**
 * Resource bookkeeping on the state model. Agent and framework `used`/`offered` are kept
 * without `allocation_info` (offers carry it on the wire; see offers.ts), so that totals,
 * used and offered subtract and compare as the same resources.
 *
 * @module
 */
import { isTerminalState, type Resource } from '../sdk/protocol/index.js';
import { addResources, subtractResources, unallocateResources } from '../sdk/resources/index.js';
import type { AgentRecord, MasterState } from './model.js';

/** What an agent can still offer: total − used − offered. */
export function availableOf(agent: AgentRecord): Resource[] {
  return subtractResources(subtractResources(agent.total, agent.used), agent.offered);
}

/** Adds resources to an agent's and a framework's `used` (launch). */
export function addUsed(state: MasterState, frameworkId: string, agentId: string, resources: readonly Resource[]): void {
  const rs = unallocateResources(resources);
  const agent = state.agents.get(agentId);
  if (agent) agent.used = addResources(agent.used, rs);
  const fw = state.frameworks.get(frameworkId);
  if (fw) fw.used = addResources(fw.used, rs);
}

/** Removes resources from an agent's and a framework's `used` (terminal task, exited executor). */
export function releaseUsed(state: MasterState, frameworkId: string, agentId: string, resources: readonly Resource[]): void {
  const rs = unallocateResources(resources);
  const agent = state.agents.get(agentId);
  if (agent) agent.used = subtractResources(agent.used, rs);
  const fw = state.frameworks.get(frameworkId);
  if (fw) fw.used = subtractResources(fw.used, rs);
}

export function addOffered(state: MasterState, frameworkId: string, agentId: string, resources: readonly Resource[]): void {
  const rs = unallocateResources(resources);
  const agent = state.agents.get(agentId);
  if (agent) agent.offered = addResources(agent.offered, rs);
  const fw = state.frameworks.get(frameworkId);
  if (fw) fw.offered = addResources(fw.offered, rs);
}

export function releaseOffered(state: MasterState, frameworkId: string, agentId: string, resources: readonly Resource[]): void {
  const rs = unallocateResources(resources);
  const agent = state.agents.get(agentId);
  if (agent) agent.offered = subtractResources(agent.offered, rs);
  const fw = state.frameworks.get(frameworkId);
  if (fw) fw.offered = subtractResources(fw.offered, rs);
}

/**
 * Recomputes `used` of one agent and of every framework from the tasks and executors the
 * state holds (after a re-registration replaced an agent's tasks).
 */
export function recomputeUsed(state: MasterState): void {
  for (const agent of state.agents.values()) agent.used = [];
  for (const fw of state.frameworks.values()) fw.used = [];
  for (const [frameworkId, tasks] of state.tasks) {
    for (const task of tasks.values()) {
      // Terminal tasks and TASK_UNREACHABLE ones (agent removed) hold nothing.
      if (isTerminalState(task.state) || task.state === 'TASK_UNREACHABLE') continue;
      addUsed(state, frameworkId, task.agentId, task.resources);
    }
  }
  for (const fw of state.frameworks.values()) {
    for (const [agentId, executors] of fw.executors) {
      for (const executor of executors.values()) addUsed(state, fw.id, agentId, executor.resources ?? []);
    }
  }
}
