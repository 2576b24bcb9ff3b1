/**
 * The allocator: Mesos's hierarchical DRF allocator, simplified to one pure function.
 *
 * `allocate(snapshot)` decides which framework is offered which agent's available
 * resources. It does no I/O and reads no clock: `now` is in the snapshot, and the master
 * turns each returned {@link Allocation} into an offer (see master/allocator/types.ts).
 *
 * One run:
 * 1. Drop filters with `expiresAt <= now`.
 * 2. Visit active agents with something available, in agent-id order.
 * 3. For each agent, walk the (framework, role) pairs of active frameworks in DRF order:
 *    lowest dominant share first, ties by framework id, and a framework's roles in the
 *    order it subscribed with; suppressed roles are skipped.
 * 4. The first pair whose offer is not filtered gets everything on the agent it may have:
 *    all unreserved resources plus the resources reserved to its role (resources reserved to
 *    another role are never offered to it). Its share is updated at once, so the next
 *    agent goes to whoever is now lowest (two equal frameworks and two agents: one each).
 *    Later pairs can still get what is left on the agent, which is then only resources
 *    reserved to their own roles. Nothing is offered twice.
 *
 * Differences from Mesos (deliberate, for a simple and predictable first allocator):
 * one level of sorting (frameworks, not roles then frameworks), no weights, quotas or
 * revocable resources, and agents visited in id order instead of shuffled.
 *
 * @module
 */
import type { Resource } from '../../sdk/protocol/index.js';
import {
  allocateResources, containsResources, flattenResources, fromMilli, isEmptyResources, isFlattened, reservationRole,
  subtractResources, toMilli, unallocateResources,
} from '../../sdk/resources/index.js';
import { dominantShare, scalarTotals } from './drf.js';
import type {
  AllocationResult, Allocation, AllocationSnapshot, AllocatorFramework, OfferFilter,
} from './types.js';

/** A framework's running state during one allocation pass. */
interface Candidate {
  framework: AllocatorFramework;
  /** Scalar quantities allocated to the framework, updated as this pass allocates. */
  allocated: Map<string, number>;
  share: number;
}

/**
 * Decides the offers to make now. Pure: the same snapshot always gives the same result.
 *
 * @example
 * const { allocations, filters, nextFilterExpiry } = allocate({ agents, frameworks, filters, now: clock.now() });
 * for (const a of allocations) offer(a.frameworkId, a.agentId, a.role, a.resources);
 */
export function allocate(s: AllocationSnapshot): AllocationResult {
  const filters = s.filters.filter((f) => f.expiresAt > s.now);
  const filtersByPair = new Map<string, OfferFilter[]>();
  for (const f of filters) {
    const key = pairKey(f.frameworkId, f.agentId);
    const list = filtersByPair.get(key);
    if (list === undefined) filtersByPair.set(key, [f]);
    else list.push(f);
  }

  // DRF denominators: every registered agent's total, active or not (Mesos counts the
  // whole cluster it knows about).
  const totals = clusterScalarTotals(s.agents);

  const candidates: Candidate[] = s.frameworks
    .filter((f) => f.active)
    .map((framework) => {
      const allocated = scalarTotals(framework.allocated);
      return { framework, allocated, share: dominantShare(allocated, totals) };
    });

  const agents = s.agents
    .filter((a) => a.active && !isEmptyResources(a.available))
    .sort((x, y) => compareIds(x.id, y.id));

  // Kept in DRF order: sorted once, then a candidate whose share grew is moved to its new
  // place (sorting all of them again for each of 10 000 agents was most of a pass).
  candidates.sort(byShareThenId);
  const allocations: Allocation[] = [];
  for (const agent of agents) {
    // The flattened form: the agent's own list when it already is (the master's are), read
    // only; otherwise a flattened copy.
    let remaining: readonly Resource[] = isFlattened(agent.available)
      ? agent.available
      : flattenResources(agent.available.some(hasAllocationRole) ? unallocateResources(agent.available) : agent.available);
    const served: Candidate[] = [];
    for (const candidate of candidates) {
      const fw = candidate.framework;
      for (const role of fw.roles) {
        if (fw.suppressedRoles.has(role)) continue;
        const offerable = offerablePart(remaining, role);
        if (offerable.length === 0) continue;
        if (filtersByPair.size > 0 && isFiltered(filtersByPair.get(pairKey(fw.id, agent.id)), offerable)) continue;
        addScalarsInto(candidate.allocated, offerable);
        if (offerable.length === remaining.length) {
          // Usually the whole agent goes to one role: nothing is left, so no subtraction, and
          // the offer is a shallow copy of each entry (values shared, read only) with the role.
          const allocationInfo = { role };
          allocations.push({ frameworkId: fw.id, agentId: agent.id, role, resources: offerable.map((r) => withAllocation(r, allocationInfo)) });
          remaining = [];
        } else {
          allocations.push({ frameworkId: fw.id, agentId: agent.id, role, resources: allocateResources(offerable, role) });
          remaining = subtractResources(remaining, offerable);
        }
        candidate.share = dominantShare(candidate.allocated, totals);
        if (served.at(-1) !== candidate) served.push(candidate);
      }
      if (remaining.length === 0) break;
    }
    // Last served first: each then moves into a suffix that is already in order.
    for (let i = served.length - 1; i >= 0; i--) reposition(candidates, served[i]!);
  }

  let nextFilterExpiry: number | undefined;
  for (const f of filters) if (nextFilterExpiry === undefined || f.expiresAt < nextFilterExpiry) nextFilterExpiry = f.expiresAt;
  const result: AllocationResult = { allocations, filters };
  if (nextFilterExpiry !== undefined) result.nextFilterExpiry = nextFilterExpiry;
  return result;
}

/**
 * The part of `available` a framework may be offered under `role`: unreserved resources and
 * resources reserved to `role` (Mesos offers a role its own reservations and the
 * unreserved pool, never another role's reservations).
 */
export function offerableTo(available: readonly Resource[], role: string): Resource[] {
  return offerablePart(flattenResources(available), role);
}

/** {@link offerableTo} of a list that is already flattened (a subset of it is too). */
function offerablePart(flattened: readonly Resource[], role: string): Resource[] {
  return flattened.filter((r) => {
    const reserved = reservationRole(r);
    return reserved === '*' || reserved === role;
  });
}

/** Moves `candidate`, whose share only grew, later in the DRF-ordered list to where it now belongs. */
function reposition(ordered: Candidate[], candidate: Candidate): void {
  let i = ordered.indexOf(candidate);
  while (i + 1 < ordered.length && byShareThenId(ordered[i + 1]!, candidate) < 0) {
    ordered[i] = ordered[i + 1]!;
    i++;
  }
  ordered[i] = candidate;
}

/**
 * True when one of the framework's filters on this agent covers the offer: Mesos filters an
 * offer when it is a subset of the refused resources, so an offer with more than was
 * refused (a task finished and freed resources) gets through.
 */
function isFiltered(filters: readonly OfferFilter[] | undefined, offer: readonly Resource[]): boolean {
  if (filters === undefined) return false;
  return filters.some((f) => containsResources(unallocateResources(f.resources), offer));
}

/**
 * `into += scalarTotals(rs)`, with the same float arithmetic, but without building a map
 * per call (this runs once per agent in a pass). Lists are short: the quadratic scan is cheap.
 */
function addScalarsInto(into: Map<string, number>, rs: readonly Resource[]): void {
  for (let i = 0; i < rs.length; i++) {
    const r = rs[i]!;
    if (r.type !== 'SCALAR' || seenScalarBefore(rs, i)) continue;
    let milli = 0;
    for (let j = i; j < rs.length; j++) {
      const o = rs[j]!;
      if (o.type === 'SCALAR' && o.name === r.name) milli += Math.max(0, toMilli(o.scalar?.value ?? 0));
    }
    into.set(r.name, (into.get(r.name) ?? 0) + fromMilli(milli));
  }
}

/**
 * `scalarTotals` of every agent's total together, in one loop: summing 10 000 agents'
 * resources through the general helper (a flattened copy, maps for every kind) took half
 * of a pass.
 */
function clusterScalarTotals(agents: readonly AllocationSnapshot['agents'][number][]): Map<string, number> {
  const milli = new Map<string, number>();
  for (const agent of agents) {
    for (const r of agent.total) {
      if (r.type === 'SCALAR') milli.set(r.name, (milli.get(r.name) ?? 0) + Math.max(0, toMilli(r.scalar?.value ?? 0)));
    }
  }
  const totals = new Map<string, number>();
  for (const [name, m] of milli) totals.set(name, fromMilli(m));
  return totals;
}

/** True when a SCALAR of the same name as `rs[i]` comes before it. */
function seenScalarBefore(rs: readonly Resource[], i: number): boolean {
  for (let j = 0; j < i; j++) if (rs[j]!.type === 'SCALAR' && rs[j]!.name === rs[i]!.name) return true;
  return false;
}

/**
 * A shallow copy of `r` with `allocation_info` set. Object.assign, not a spread: spreading
 * and then adding a key was ten times slower here, and this runs for every offered resource.
 */
function withAllocation(r: Resource, allocationInfo: { role: string }): Resource {
  const copy = Object.assign({}, r);
  copy.allocation_info = allocationInfo;
  return copy;
}

function hasAllocationRole(r: Resource): boolean {
  return r.allocation_info !== undefined;
}

function byShareThenId(x: Candidate, y: Candidate): number {
  return x.share - y.share || compareIds(x.framework.id, y.framework.id);
}

/** Locale-independent string order, so the result never depends on the host's locale. */
function compareIds(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

function pairKey(frameworkId: string, agentId: string): string {
  return `${frameworkId}\u0000${agentId}`;
}

export { dominantShare, scalarTotals };
