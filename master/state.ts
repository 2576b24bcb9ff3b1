/**
 * A fresh, empty master state.
 *
 * @module
 */
import type { MasterInfo } from '../sdk/protocol/index.js';
import { emptyCounters, type MasterState } from './model.js';

export function createMasterState(info: MasterInfo, now: number): MasterState {
  return {
    info,
    startedAt: now,
    electedAt: now,
    agents: new Map(),
    frameworks: new Map(),
    tasks: new Map(),
    completedTasks: [],
    completedFrameworks: [],
    offers: new Map(),
    unreachableAgents: new Map(),
    goneAgents: new Map(),
    counters: emptyCounters(),
  };
}
