/**
 * Pure: which unreachable agents the registry garbage collection forgets (Mesos
 * `Master::doRegistryGc`): first the oldest beyond `--registry_max_agent_count`, then every
 * one marked unreachable longer ago than `--registry_max_agent_age`. A forgotten agent's
 * tasks are forgotten too (reconciliation then answers TASK_UNKNOWN / TASK_LOST). Its id is
 * remembered as gone (bounded): if the agent comes back it is told to shut down its tasks and
 * register afresh (see docs/master.md, "Partitions").
 *
 * @module
 */
import { MAX_GONE_AGENTS } from './types.js';

export interface RegistryGcLimits {
  /** Unreachable agents older than this (ms since they were marked) are forgotten. */
  maxAgentAgeMs: number;
  /** At most this many unreachable agents are kept (the oldest go first). */
  maxAgentCount: number;
}

/** Ids to prune from `unreachable` (id → ms marked) at `now`, oldest first. */
export function unreachableAgentsToPrune(unreachable: ReadonlyMap<string, number>, now: number, limits: RegistryGcLimits): string[] {
  const byAge = [...unreachable.entries()].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const prune: string[] = [];
  const excess = byAge.length - limits.maxAgentCount;
  byAge.forEach(([id, markedAt], i) => {
    if (i < excess || now - markedAt > limits.maxAgentAgeMs) prune.push(id);
  });
  return prune;
}

/** Records a GC'd agent id in the master's state, dropping the oldest beyond MAX_GONE_AGENTS. */
export function rememberGoneAgent(state: { goneAgents: Map<string, number> }, id: string, timeMs: number): void {
  state.goneAgents.delete(id);
  state.goneAgents.set(id, timeMs);
  // Insertion order is time order here (GC rounds only move forward): the first entries are the oldest.
  while (state.goneAgents.size > MAX_GONE_AGENTS) state.goneAgents.delete(state.goneAgents.keys().next().value!);
}
