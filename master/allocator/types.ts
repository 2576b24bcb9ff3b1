/**
 * Inputs and outputs of the allocator, a pure function of a snapshot and `now`
 * (see master/allocator/allocate.ts). The master builds the snapshot from its state,
 * calls `allocate`, then turns each allocation into an offer.
 *
 * @module
 */
import type { Resource } from '../../sdk/protocol/index.js';

export interface AllocatorAgent {
  id: string;
  /** Everything the agent has (for DRF totals). */
  total: readonly Resource[];
  /** Neither used by tasks nor in outstanding offers: what may be offered now. */
  available: readonly Resource[];
  /** Inactive (disconnected) agents are not offered. */
  active: boolean;
}

export interface AllocatorFramework {
  id: string;
  /** Roles the framework subscribed with (FrameworkInfo.roles, or [role ?? '*']). */
  roles: string[];
  /** Roles for which the framework suppressed offers. */
  suppressedRoles: ReadonlySet<string>;
  /** Resources allocated to the framework (used by its tasks plus offered to it), for DRF. */
  allocated: readonly Resource[];
  /** Only connected frameworks get offers. */
  active: boolean;
}

/** A DECLINE/unused-ACCEPT filter: do not offer these resources on this agent to this framework until expiresAt. */
export interface OfferFilter {
  frameworkId: string;
  agentId: string;
  /** The resources that were refused; an offer is filtered when it is contained in them (Mesos semantics). */
  resources: readonly Resource[];
  /** ms since epoch. */
  expiresAt: number;
}

export interface AllocationSnapshot {
  /**
   * The agents that may be offered something (inactive or empty ones are skipped), and, when
   * `clusterTotals` is absent, every registered agent: their totals are the DRF denominators.
   */
  agents: readonly AllocatorAgent[];
  /**
   * The DRF denominators kept by the caller: scalar name → the sum over every registered
   * agent's total, active or not, as `clusterTotalsOf` (allocate.ts) computes it. With it,
   * `agents` need list only the active agents with something available (on a busy cluster,
   * most agents' resources are out in offers or used, and a pass need not visit them).
   */
  clusterTotals?: ReadonlyMap<string, number>;
  frameworks: readonly AllocatorFramework[];
  filters: readonly OfferFilter[];
  /** ms since epoch. */
  now: number;
}

/** One offer to make: these resources on this agent to this framework, allocated to this role. */
export interface Allocation {
  frameworkId: string;
  agentId: string;
  /** The role the resources are allocated to (the offer's `allocation_info.role`). */
  role: string;
  /**
   * The agent's available entries that make up the offer, flattened, WITHOUT
   * `allocation_info` (the offer gets it from `role`; master/offers.ts `createOffer` strips
   * and sets it either way). The array is the allocation's own; the entries may be the
   * snapshot's objects: read only.
   */
  resources: Resource[];
}

export interface AllocationResult {
  allocations: Allocation[];
  /** Filters still in force (expired ones dropped). */
  filters: OfferFilter[];
  /** Earliest expiry among the remaining filters, so the caller can schedule the next run. */
  nextFilterExpiry?: number;
}
