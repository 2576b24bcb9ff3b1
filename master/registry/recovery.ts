/**
 * Pure: what a newly elected leader does with the registry it loaded (Mesos
 * `Master::_recover` plus Agora's framework deadlines).
 *
 * @module
 */
import type { RegistryAgent, RegistrySnapshot } from './types.js';

export interface RecoveryPlan {
  /** Admitted agents to wait for (they get `--agent-reregister-timeout` to re-register). */
  awaitAgents: Map<string, RegistryAgent>;
  /** Agents already unreachable (id → time), for reconciliation answers. */
  unreachable: Map<string, number>;
  /** Frameworks whose failover deadline passed during the failover: removed once the agents re-registered. */
  expiredFrameworks: Set<string>;
  /** Frameworks still within their deadline: id → ms left (a timer for the remaining time, not a fresh timeout). */
  pendingFrameworks: Map<string, { deadlineMs: number; remainingMs: number }>;
}

/** Plans recovery from `snapshot` at `now`; agents in `alreadyKnown` (re-registered already) are not awaited. */
export function planRecovery(snapshot: RegistrySnapshot, now: number, alreadyKnown: ReadonlySet<string> = new Set()): RecoveryPlan {
  const plan: RecoveryPlan = {
    awaitAgents: new Map(),
    unreachable: new Map(Object.entries(snapshot.unreachable)),
    expiredFrameworks: new Set(),
    pendingFrameworks: new Map(),
  };
  for (const [id, agent] of Object.entries(snapshot.agents)) if (!alreadyKnown.has(id)) plan.awaitAgents.set(id, agent);
  for (const [id, fw] of Object.entries(snapshot.frameworks)) {
    if (fw.deadlineMs === undefined) continue;
    if (fw.deadlineMs <= now) plan.expiredFrameworks.add(id);
    else plan.pendingFrameworks.set(id, { deadlineMs: fw.deadlineMs, remainingMs: fw.deadlineMs - now });
  }
  return plan;
}
