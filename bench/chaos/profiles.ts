/**
 * Named sets of run parameters. The schedule depends on all of them (with the seed), so a
 * CI failure replays exactly with `--profile ci --seed N`.
 *
 * @module
 */
import { FAULT_KINDS, type FaultKind } from './schedule.js';

/** The cluster's timeouts: short, so faults resolve fast (see docs/chaos.md). */
export const CHAOS_TIMEOUTS = {
  zkSessionTimeoutMs: 4000,
  agentPingTimeoutMs: 2000,
  maxAgentPingTimeouts: 3,
  /** agentPingTimeoutMs × maxAgentPingTimeouts. */
  agentPingBudgetMs: 6000,
  executorRecoveryTimeoutMs: 10_000,
};

/** The parameters of a run that a profile fixes (a run adds its seed and its I/O). */
export interface ChaosProfile {
  /** Length of the fault phase. */
  durationMs: number;
  kinds: FaultKind[];
  masters: number;
  slaves: number;
  marathons: number;
  /** Instances of the Marathon app. */
  appInstances: number;
  longTasks: number;
  shortTasks: number;
  /** After the last fault healed: how long the cluster has to converge (invariants 1, 3, 4). */
  convergeBoundMs: number;
  /** How often the continuous checks run. */
  checkIntervalMs: number;
  /** Gap between faults. */
  gapMs: { min: number; max: number };
}

/** The CI run (test/chaos/chaos.test.ts): short, small, faults close together. */
export const CI_PROFILE: ChaosProfile = {
  durationMs: 45_000,
  kinds: [...FAULT_KINDS],
  masters: 3,
  slaves: 2,
  marathons: 1,
  appInstances: 2,
  longTasks: 1,
  shortTasks: 1,
  convergeBoundMs: 60_000,
  checkIntervalMs: 2000,
  gapMs: { min: 2000, max: 5000 },
};

/** The long run (the default of `agora chaos`). */
export const LONG_PROFILE: ChaosProfile = {
  durationMs: 30 * 60_000,
  kinds: [...FAULT_KINDS],
  masters: 3,
  slaves: 3,
  marathons: 2,
  appInstances: 2,
  longTasks: 2,
  shortTasks: 2,
  convergeBoundMs: 120_000,
  checkIntervalMs: 2000,
  gapMs: { min: 3000, max: 10_000 },
};

export const PROFILES: Record<string, ChaosProfile> = { ci: CI_PROFILE, long: LONG_PROFILE };
