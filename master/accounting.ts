/**
 * Resource bookkeeping on the state model. Agent and framework `used`/`offered` are kept
 * without `allocation_info` (offers carry it on the wire; see offers.ts), so that totals,
 * used and offered subtract and compare as the same resources.
 *
 * @module
 */
import { isTerminalState, type Resource } from '../sdk/protocol/index.js';
import { addResources, subtractResources, sumResources, unallocateResources } from '../sdk/resources/index.js';
import type { AgentRecord, FrameworkRecord, MasterState, OfferRecord } from './model.js';

/** A derived list and the input lists it was computed from (compared by identity). */
interface Derived {
  inputs: readonly (readonly Resource[])[];
  value: readonly Resource[];
}

/**
 * Memoises `compute` per record on the identity of its input lists. The state model never
 * mutates a resource list in place (every change assigns a new list, see below), so equal
 * identities mean equal contents. The allocator asks for every agent's available resources
 * and every framework's allocation on each run; with thousands of agents recomputing them
 * all was most of a run, while only the few records that changed need it.
 */
function memoised<K extends object>(cache: WeakMap<K, Derived>, key: K, inputs: readonly (readonly Resource[])[], compute: () => Resource[]): readonly Resource[] {
  const hit = cache.get(key);
  if (hit !== undefined && hit.inputs.length === inputs.length && hit.inputs.every((list, i) => list === inputs[i])) return hit.value;
  const value = compute();
  cache.set(key, { inputs, value });
  return value;
}

/** An agent's available list and the three lists it was computed from. */
interface Available {
  total: readonly Resource[];
  used: readonly Resource[];
  offered: readonly Resource[];
  value: readonly Resource[];
}

const availableCache = new WeakMap<AgentRecord, Available>();
const allocatedCache = new WeakMap<FrameworkRecord, Derived>();

/**
 * What an agent can still offer: total − used − offered. Shared: do not mutate. Memoised like
 * {@link memoised}, with the three lists as fields: every allocation pass asks it for every
 * active agent, and an input array built per call was most of that pass's cost per agent.
 */
export function availableOf(agent: AgentRecord): readonly Resource[] {
  const { total, used, offered } = agent;
  const hit = availableCache.get(agent);
  if (hit !== undefined && hit.total === total && hit.used === used && hit.offered === offered) return hit.value;
  const value = subtractResources(subtractResources(total, used), offered);
  availableCache.set(agent, { total, used, offered, value });
  return value;
}

/** What a framework holds, for DRF: used + offered. Shared: do not mutate. */
export function allocatedTo(fw: FrameworkRecord): readonly Resource[] {
  return memoised(allocatedCache, fw, [fw.used, fw.offered], () => addResources(fw.used, fw.offered));
}

/** A list without `allocation_info`: the input list, its entries when computed, and the result. */
interface Unallocated {
  input: readonly Resource[];
  entries: readonly Resource[];
  value: readonly Resource[];
}

/** How many recent lists {@link unallocated} remembers. */
const RECENT_LISTS = 8;
const recentUnallocated: Unallocated[] = [];
let nextRecent = 0;

/**
 * `unallocateResources(rs)`, remembered for the last few lists (same list, same entries by
 * identity). A task's list is interned (tasks.ts `addTask`), so the thousands of tasks of one
 * launch share a handful of lists: charging and releasing each of them copied the same entries
 * again. A few slots rather than a WeakMap: a list that is not shared only costs a miss, and
 * no ephemeron per task for the garbage collector. Entries are never mutated in place (see
 * {@link memoised}); the result is shared: do not mutate.
 */
function unallocated(rs: readonly Resource[]): readonly Resource[] {
  for (const hit of recentUnallocated) {
    if (hit.input === rs && hit.entries.length === rs.length && hit.entries.every((r, i) => r === rs[i])) return hit.value;
  }
  const value = unallocateResources(rs);
  recentUnallocated[nextRecent] = { input: rs, entries: [...rs], value };
  nextRecent = (nextRecent + 1) % RECENT_LISTS;
  return value;
}

/** Adds resources to an agent's and a framework's `used` (launch). */
export function addUsed(state: MasterState, frameworkId: string, agentId: string, resources: readonly Resource[]): void {
  chargeUsed(state, frameworkId, agentId, unallocated(resources));
}

/**
 * {@link addUsed} for several lists at once (one ACCEPT's tasks and executors on one agent):
 * the agent's and the framework's `used` are replaced once, by their sum, instead of once per
 * list. The same lists as adding them one by one (sums of integer thousandths, unions of
 * ranges and sets, identities in first-seen order).
 */
export function addUsedAll(state: MasterState, frameworkId: string, agentId: string, lists: readonly (readonly Resource[])[]): void {
  if (lists.length === 0) return;
  chargeUsed(state, frameworkId, agentId, lists.length === 1 ? unallocated(lists[0]!) : sumResources(lists.map(unallocated)));
}

/** Adds `rs` (already without `allocation_info`) to an agent's and a framework's `used`. */
function chargeUsed(state: MasterState, frameworkId: string, agentId: string, rs: readonly Resource[]): void {
  const agent = state.agents.get(agentId);
  if (agent) {
    agent.used = addResources(agent.used, rs);
    state.agentChanges?.touched(agent);
  }
  const fw = state.frameworks.get(frameworkId);
  if (fw) fw.used = addResources(fw.used, rs);
}

/** Removes resources from an agent's and a framework's `used` (terminal task, exited executor). */
export function releaseUsed(state: MasterState, frameworkId: string, agentId: string, resources: readonly Resource[]): void {
  const rs = unallocated(resources);
  const agent = state.agents.get(agentId);
  if (agent) {
    agent.used = subtractResources(agent.used, rs);
    state.agentChanges?.touched(agent);
  }
  const fw = state.frameworks.get(frameworkId);
  if (fw) fw.used = subtractResources(fw.used, rs);
}

/** Adds an offer's resources (without `allocation_info`: {@link OfferRecord.unallocated}) to its agent's and framework's `offered`. */
export function addOffered(state: MasterState, frameworkId: string, agentId: string, rs: readonly Resource[]): void {
  const agent = state.agents.get(agentId);
  if (agent) {
    agent.offered = addResources(agent.offered, rs);
    state.agentChanges?.touched(agent);
  }
  const fw = state.frameworks.get(frameworkId);
  if (fw) fw.offered = addResources(fw.offered, rs);
}

/** Takes an offer's resources (without `allocation_info`, as {@link addOffered} added them) from its agent's and framework's `offered`. */
export function releaseOffered(state: MasterState, frameworkId: string, agentId: string, rs: readonly Resource[]): void {
  const agent = state.agents.get(agentId);
  if (agent) {
    agent.offered = subtractResources(agent.offered, rs);
    state.agentChanges?.touched(agent);
  }
  const fw = state.frameworks.get(frameworkId);
  if (fw) fw.offered = subtractResources(fw.offered, rs);
}

/**
 * Recomputes `used` of one agent and of every framework from the tasks and executors the
 * state holds (after a re-registration replaced an agent's tasks).
 */
export function recomputeUsed(state: MasterState): void {
  for (const agent of state.agents.values()) agent.used = [];
  // Every agent: one walk at the next allocation run, not a revisit per agent (per re-registration).
  state.agentChanges?.everyAgentChanged();
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
