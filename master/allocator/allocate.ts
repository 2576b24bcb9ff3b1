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
 * Cost (issue 6: one pass at 10 000 agents x 100 frameworks within 10 ms): the work per agent
 * is constant or logarithmic in the frameworks. Shares are kept as vectors over the cluster's
 * scalar names (drf.ts `ScalarVector`), the DRF order in a ring where a served framework
 * moves by binary search and the shorter shift (drf-order.ts), an agent with nothing reserved
 * is offered whole without per-role filtering, and offers are the agent's entries as they
 * are (no copies). Nothing is kept between calls: every pass starts from its snapshot. The
 * master keeps the cluster totals between passes (they change only when an agent comes, goes
 * or changes its total) and passes them in the snapshot with only the agents whose outcome
 * may have changed since its last pass, and their filters (master/allocation.ts), so a pass
 * costs what changed, not the size of the cluster.
 *
 * Differences from Mesos (deliberate, for a simple and predictable first allocator):
 * one level of sorting (frameworks, not roles then frameworks), no weights, quotas or
 * revocable resources, and agents visited in id order instead of shuffled.
 *
 * @module
 */
import type { Resource } from '../../sdk/protocol/index.js';
import {
  containsResources, flattenResources, fromMilli, isEmptyResources, isFlattened, reservationRole,
  subtractResources, toMilli, unallocateResources,
} from '../../sdk/resources/index.js';
import { DrfOrder } from './drf-order.js';
import { dominantShare, dominantShareOf, ScalarVector, scalarTotals } from './drf.js';
import type {
  AllocationResult, Allocation, AllocationSnapshot, AllocatorAgent, OfferFilter,
} from './types.js';

/** A framework's running state during one allocation pass. */
interface Candidate {
  /** The framework id. */
  readonly id: string;
  /** Its roles in subscription order, without the suppressed ones. */
  readonly roles: readonly string[];
  /** Scalar quantities allocated to the framework, by {@link ScalarVector} position; updated as this pass allocates. */
  readonly allocated: Float64Array;
  share: number;
}

const NOTHING: readonly Resource[] = Object.freeze([]);

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
  // whole cluster it knows about): the caller's when it keeps them, else summed from `agents`.
  const scalars = new ScalarVector();
  const totals = s.clusterTotals !== undefined ? totalsVector(s.clusterTotals, scalars) : clusterScalarTotals(s.agents, scalars);

  const candidates: Candidate[] = [];
  for (const framework of s.frameworks) {
    if (!framework.active) continue;
    // A framework with every role suppressed is never offered anything, but it stays in the
    // order: with a NaN scalar in the input the order can go out of sort, and then where
    // others land depends on every element (see DrfOrder).
    const roles = framework.roles.filter((role) => !framework.suppressedRoles.has(role));
    const allocated = new Float64Array(totals.length);
    // Only names the cluster has count for shares (dominantShare ignores the others).
    for (const [name, amount] of scalarTotals(framework.allocated)) {
      const i = scalars.indexOf(name);
      if (i >= 0) allocated[i] = amount;
    }
    candidates.push({ id: framework.id, roles, allocated, share: dominantShareOf(allocated, totals) });
  }

  const { agents, flattenedCopies } = agentsToVisit(s.agents);

  // Kept in DRF order: sorted once, then a candidate whose share grew is moved to its new
  // place (sorting all of them again for each of 10 000 agents was most of a pass).
  const order = new DrfOrder(candidates);
  const allocations: Allocation[] = [];
  const milli = new Float64Array(totals.length);
  // Positions in the order of the candidates served on the current agent, in increasing order.
  const served: number[] = [];
  for (const agent of agents) {
    let remaining = (flattenedCopies.size > 0 ? flattenedCopies.get(agent) : undefined) ?? agent.available;
    // When nothing on the agent is reserved, every role may have all of it (the usual case):
    // no per-role filtering.
    let unreserved = isAllUnreserved(remaining);
    let servedCount = 0;
    for (let k = 0; k < order.length; k++) {
      const candidate = order.at(k);
      for (const role of candidate.roles) {
        const offerable = unreserved ? remaining : offerablePart(remaining, role);
        if (offerable.length === 0) continue;
        if (filtersByPair.size > 0 && isFiltered(filtersByPair.get(pairKey(candidate.id, agent.id)), offerable)) continue;
        addScalarsInto(candidate.allocated, offerable, scalars, milli);
        // The resources are the agent's entries as they are (shared, read only), in an array of
        // their own, without allocation_info: the master's createOffer copies them and sets the
        // role anyway (a copy per entry here was a fifth of a pass, with its garbage).
        allocations.push({ frameworkId: candidate.id, agentId: agent.id, role, resources: offerable.slice() });
        if (offerable.length === remaining.length) {
          // Usually the whole agent goes to one role: nothing is left, so no subtraction.
          remaining = NOTHING;
          unreserved = true;
        } else {
          remaining = subtractResources(remaining, offerable);
          unreserved = isAllUnreserved(remaining);
        }
        const before = candidate.share;
        candidate.share = dominantShareOf(candidate.allocated, totals);
        order.noteShareChange(before, candidate.share);
        if (servedCount === 0 || served[servedCount - 1] !== k) served[servedCount++] = k;
      }
      if (remaining.length === 0) break;
    }
    // Last served first: each then moves into a suffix that is already in order.
    for (let i = servedCount - 1; i >= 0; i--) order.moveLater(served[i]!);
  }

  let nextFilterExpiry: number | undefined;
  for (const f of filters) if (nextFilterExpiry === undefined || f.expiresAt < nextFilterExpiry) nextFilterExpiry = f.expiresAt;
  const result: AllocationResult = { allocations, filters };
  if (nextFilterExpiry !== undefined) result.nextFilterExpiry = nextFilterExpiry;
  return result;
}

/**
 * The active agents with something available, in agent-id order. An agent's available list
 * is read as it is when it is already flattened (the master's are); the others get a
 * flattened copy in `flattenedCopies` (no object per agent for the usual case).
 */
function agentsToVisit(all: readonly AllocatorAgent[]): { agents: AllocatorAgent[]; flattenedCopies: Map<AllocatorAgent, Resource[]> } {
  const agents: AllocatorAgent[] = [];
  const flattenedCopies = new Map<AllocatorAgent, Resource[]>();
  for (const agent of all) {
    if (!agent.active) continue;
    const available = agent.available;
    if (isFlattened(available)) {
      // A flattened list holds no empty entries: it is empty exactly when it has none.
      if (available.length > 0) agents.push(agent);
    } else if (!isEmptyResources(available)) {
      agents.push(agent);
      flattenedCopies.set(agent, flattenResources(available.some(hasAllocationRole) ? unallocateResources(available) : available));
    }
  }
  // Agent ids come in no particular order (the master's are `<master>-S<n>`); an
  // already-sorted list is left as it is.
  for (let i = 1; i < agents.length; i++) {
    if (compareIds(agents[i - 1]!.id, agents[i]!.id) > 0) return { agents: agents.sort((x, y) => compareIds(x.id, y.id)), flattenedCopies };
  }
  return { agents, flattenedCopies };
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
 * `into += scalarTotals(rs)` over {@link ScalarVector} positions, with the same float
 * arithmetic (per name, the fixed-point sum of the entries added at once), without building
 * a map per call (this runs once per agent in a pass). Names the cluster has none of are
 * skipped: they never count for a share. `milli` is scratch space, all zeros on entry and
 * on return.
 */
function addScalarsInto(into: Float64Array, rs: readonly Resource[], scalars: ScalarVector, milli: Float64Array): void {
  let touched = false;
  for (let i = 0; i < rs.length; i++) {
    const r = rs[i]!;
    if (r.type !== 'SCALAR') continue;
    const at = scalars.indexOf(r.name);
    if (at < 0) continue;
    milli[at]! += Math.max(0, toMilli(r.scalar?.value ?? 0));
    touched = true;
  }
  if (!touched) return;
  for (let at = 0; at < milli.length; at++) {
    if (milli[at] === 0) continue;
    into[at]! += fromMilli(milli[at]!);
    milli[at] = 0;
  }
}

/**
 * The cluster's scalar totals (`scalarTotals` of every agent's total together) as a vector
 * over the positions it interns into `scalars`, in one loop: summing 10 000 agents'
 * resources through the general helper (a flattened copy, maps for every kind) took half of
 * a pass.
 */
function clusterScalarTotals(agents: Iterable<{ readonly total: readonly Resource[] }>, scalars: ScalarVector): Float64Array {
  const milli: number[] = [];
  for (const agent of agents) {
    const total = agent.total;
    for (let i = 0; i < total.length; i++) {
      const r = total[i]!;
      if (r.type !== 'SCALAR') continue;
      const at = scalars.intern(r.name);
      if (at === milli.length) milli.push(0);
      milli[at]! += Math.max(0, toMilli(r.scalar?.value ?? 0));
    }
  }
  return Float64Array.from(milli, fromMilli);
}

/**
 * The DRF denominators of `agents` (every registered agent, active or not) as
 * {@link AllocationSnapshot.clusterTotals} holds them: scalar name → the sum a pass would
 * compute itself from the same agents, in the same order, so a pass given them decides
 * exactly as one that sums them.
 */
export function clusterTotalsOf(agents: Iterable<{ readonly total: readonly Resource[] }>): Map<string, number> {
  const scalars = new ScalarVector();
  const vector = clusterScalarTotals(agents, scalars);
  return new Map(scalars.names.map((name, i) => [name, vector[i]!]));
}

/** `clusterTotals` as a vector over the positions it interns into `scalars` (a fresh ScalarVector). */
function totalsVector(clusterTotals: ReadonlyMap<string, number>, scalars: ScalarVector): Float64Array {
  const vector = new Float64Array(clusterTotals.size);
  for (const [name, amount] of clusterTotals) vector[scalars.intern(name)] = amount;
  return vector;
}

/** True when nothing in `rs` is reserved (every role may be offered all of it). */
function isAllUnreserved(rs: readonly Resource[]): boolean {
  for (let i = 0; i < rs.length; i++) if (reservationRole(rs[i]!) !== '*') return false;
  return true;
}

function hasAllocationRole(r: Resource): boolean {
  return r.allocation_info !== undefined;
}

/** Locale-independent string order, so the result never depends on the host's locale. */
function compareIds(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

function pairKey(frameworkId: string, agentId: string): string {
  return `${frameworkId}\u0000${agentId}`;
}

export { dominantShare, scalarTotals };
