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
  resources: Resource[];
  /** ms since epoch. */
  expiresAt: number;
}

export interface AllocationSnapshot {
  agents: readonly AllocatorAgent[];
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
