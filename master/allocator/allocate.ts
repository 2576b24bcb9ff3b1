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
  allocateResources, containsResources, flattenResources, isEmptyResources, reservationRole, subtractResources,
  unallocateResources,
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
  const totals = scalarTotals(s.agents.flatMap((a) => a.total));

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
    let remaining: Resource[] = flattenResources(unallocateResources(agent.available));
    const served: Candidate[] = [];
    for (const candidate of candidates) {
      const fw = candidate.framework;
      for (const role of fw.roles) {
        if (fw.suppressedRoles.has(role)) continue;
        const offerable = offerablePart(remaining, role);
        if (offerable.length === 0) continue;
        if (isFiltered(filtersByPair.get(pairKey(fw.id, agent.id)), offerable)) continue;
        allocations.push({ frameworkId: fw.id, agentId: agent.id, role, resources: allocateResources(offerable, role) });
        // Usually the whole agent goes to one role: nothing left, no subtraction needed.
        remaining = offerable.length === remaining.length ? [] : subtractResources(remaining, offerable);
        addInto(candidate.allocated, scalarTotals(offerable));
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

function addInto(into: Map<string, number>, more: ReadonlyMap<string, number>): void {
  for (const [name, v] of more) into.set(name, (into.get(name) ?? 0) + v);
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
