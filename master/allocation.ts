/**
 * Event-driven allocation: whenever resources are added or freed, a framework subscribes or
 * revives, or a filter expires, the master asks for a run; requests in the same tick are
 * coalesced into one run (a zero-delay Clock timer). A run snapshots the state, calls the
 * pure allocator, turns each allocation into an offer and sends one OFFERS event per
 * framework.
 *
 * A run visits only the agents whose outcome may differ from the last run's: a pass offers
 * every agent that some framework may be offered, so an agent it leaves offerable is one
 * that every eligible framework filters, and stays so until its resources change (the
 * change log, agent-changes.ts), a filter on it goes (offer-filters.ts), or a framework
 * may be offered something it could not be offered before (one subscribes, reconnects,
 * revives or takes a role: every agent is visited again; one leaving or suppressing a role
 * needs no visit). The DRF order does not matter for such an agent:
 * nobody takes it in any order. So a run decides exactly what a run over every agent would,
 * and costs what changed: a framework declining the offers of 15,000 agents made every run
 * check all of its 15,000 filters (~30 ms), after every status update.
 *
 * @module
 */
import type { Resource } from '../sdk/protocol/index.js';
import { clusterTotalsOf } from './allocator/allocate.js';
import type { AllocationResult, AllocationSnapshot, AllocatorAgent, OfferFilter } from './allocator/types.js';
import { allocatedTo, availableOf } from './accounting.js';
import { AgentChangeLog } from './agent-changes.js';
import type { MasterContext } from './context.js';
import { events } from './events.js';
import type { AgentRecord, MasterState, OfferRecord } from './model.js';
import type { OfferFilters } from './offer-filters.js';
import { createOffer, offerToWire } from './offers.js';

/** The allocator's signature (master/allocator/allocate.ts). */
export type AllocateFn = (snapshot: AllocationSnapshot) => AllocationResult;

/**
 * The allocator's view of the state: the agents the pass visits (active, with something
 * available, and changed since the last pass unless `visit.all`, see {@link AgentScan.scan})
 * and the DRF denominators of every registered agent, both from `scan` (which remembers them
 * between passes), the frameworks as they are, and the filters in force on the visited agents.
 */
export function buildSnapshot(
  state: MasterState,
  filters: OfferFilters,
  now: number,
  scan: AgentScan = new AgentScan(),
  visit: VisitHints = { all: true },
): AllocationSnapshot {
  const { visit: agents, clusterTotals } = scan.scan(state.agents, visit);
  const inForce: OfferFilter[] = [];
  if (filters.size > 0) {
    for (const a of agents) {
      const list = filters.of(a.id);
      if (list !== undefined) for (const f of list) inForce.push(f);
    }
  }
  return {
    agents,
    clusterTotals,
    frameworks: [...state.frameworks.values()].map((f) => ({
      id: f.id,
      roles: f.roles,
      suppressedRoles: f.suppressedRoles,
      allocated: allocatedTo(f),
      active: f.connected,
    })),
    filters: inForce,
    now,
  };
}

/** What besides the change log tells a scan which agents to visit. */
export interface VisitHints {
  /** Visit every offerable agent (the frameworks that may be offered something changed). */
  readonly all?: boolean;
  /** Agents whose filters went away since the last pass. */
  readonly released?: ReadonlySet<string>;
}

/** What a scan gives a pass. */
export interface ScanResult {
  /** Every offerable agent (active, with something available), in the registry's order. */
  offerable: readonly AllocatorAgent[];
  /** The offerable agents the pass visits, in the registry's order (a subsequence of `offerable`). */
  visit: readonly AllocatorAgent[];
  clusterTotals: ReadonlyMap<string, number>;
}

/**
 * What a pass needs from the agents, remembered between passes. On a busy cluster most
 * agents' resources are out in offers or used, and a pass runs per accepted offer: building
 * an allocator entry for each of 1 000 agents and summing their totals every time was most of
 * what allocation cost the master per task. So:
 * - the cluster totals (DRF denominators) are summed again only when an agent came, went or
 *   got a new total (seen by the identity of the total lists: the state never mutates a
 *   resource list in place, see accounting.ts);
 * - an agent's available list comes from accounting.ts `availableOf`, memoised on its lists;
 * - only the agents with something available get an entry.
 *
 * Without a change log every scan walks every agent (comparing list identities). With one
 * (the allocation loop's, agent-changes.ts) a scan revisits only the agents reported since
 * the last one and keeps the offerable entries by registry position between scans; it walks
 * every agent again only when agents came or went.
 */
export class AgentScan {
  /** Per registry position: the total list the cluster totals were summed with. */
  private totalLists: (readonly Resource[])[] = [];
  private clusterTotals: ReadonlyMap<string, number> = new Map();
  /** With a change log: each agent's registry position as of the last full walk. */
  private readonly positions = new Map<AgentRecord, number>();
  /**
   * With a change log: the offerable entry of each registry position (undefined: nothing to
   * offer), so that an agent coming or going is one assignment, not a search and a splice of a
   * packed list (agents come and go with every offer and decline).
   */
  private entries: (AllocatorAgent | undefined)[] = [];
  /** The defined entries in order, built when asked for and dropped when an entry changes. */
  private packed: AllocatorAgent[] | undefined;

  constructor(private readonly changes?: AgentChangeLog) {}

  /**
   * The offerable agents, in the registry's order, the ones to visit, and the totals of every
   * agent. The lists are the scan's own with a change log: read them before the next scan, do
   * not keep or change them.
   *
   * Without a change log, or when agents came or went, or with `hints.all`, every offerable
   * agent is visited. Otherwise only the offerable ones among the agents reported since the
   * last scan and `hints.released` (whose filters went away).
   */
  scan(agents: ReadonlyMap<string, AgentRecord>, hints: VisitHints = { all: true }): ScanResult {
    if (this.changes === undefined) return this.walk(agents);
    const changes = this.changes.take();
    if (changes.walkAll) return this.walk(agents);
    let totalsChanged = false;
    const visited: number[] = [];
    for (const a of changes.agents) {
      const position = this.positions.get(a);
      // Not in the registry as of the last walk: a record that left it (which set the
      // membership flag) and is still being wound down. Nothing to offer from it.
      if (position === undefined) continue;
      if (this.totalLists[position] !== a.total) {
        this.totalLists[position] = a.total;
        totalsChanged = true;
      }
      this.place(a, position);
      visited.push(position);
    }
    if (totalsChanged) this.clusterTotals = clusterTotalsOf(agents.values());
    const clusterTotals = this.clusterTotals;
    if (hints.all === true) {
      const offerable = this.offerable();
      return { offerable, visit: offerable, clusterTotals };
    }
    if (hints.released !== undefined) {
      for (const id of hints.released) {
        const record = agents.get(id);
        const position = record === undefined ? undefined : this.positions.get(record);
        if (position !== undefined) visited.push(position);
      }
    }
    // The packed list costs a walk of every position: built only if a caller reads it.
    const offerable = (): AllocatorAgent[] => this.offerable();
    return { get offerable() { return offerable(); }, visit: this.entriesAt(visited), clusterTotals };
  }

  /** Every defined entry, in registry order. */
  private offerable(): AllocatorAgent[] {
    if (this.packed === undefined) {
      const packed: AllocatorAgent[] = [];
      for (const entry of this.entries) if (entry !== undefined) packed.push(entry);
      this.packed = packed;
    }
    return this.packed;
  }

  /** The offerable entries at these registry positions (any order, repeats allowed), in registry order. */
  private entriesAt(positions: number[]): AllocatorAgent[] {
    positions.sort((x, y) => x - y);
    const out: AllocatorAgent[] = [];
    let last = -1;
    for (const position of positions) {
      if (position === last) continue;
      last = position;
      const entry = this.entries[position];
      if (entry !== undefined) out.push(entry);
    }
    return out;
  }

  /** Every agent, from scratch (the totals summed again only if a total list changed). */
  private walk(agents: ReadonlyMap<string, AgentRecord>): ScanResult {
    const offerable: AllocatorAgent[] = [];
    const { totalLists } = this;
    const tracked = this.changes !== undefined;
    if (tracked) this.positions.clear();
    const entries: (AllocatorAgent | undefined)[] = tracked ? new Array<AllocatorAgent | undefined>(agents.size) : [];
    let totalsChanged = agents.size !== totalLists.length;
    let i = 0;
    for (const a of agents.values()) {
      if (totalLists[i] !== a.total) {
        totalsChanged = true;
        totalLists[i] = a.total;
      }
      if (tracked) this.positions.set(a, i);
      const entry = offerableEntry(a);
      if (entry !== undefined) offerable.push(entry);
      if (tracked) entries[i] = entry;
      i++;
    }
    if (totalLists.length > i) totalLists.length = i;
    if (totalsChanged) this.clusterTotals = clusterTotalsOf(agents.values());
    if (tracked) {
      this.entries = entries;
      this.packed = offerable;
    }
    return { offerable, visit: offerable, clusterTotals: this.clusterTotals };
  }

  /** Sets, replaces or clears `a`'s entry at its position. */
  private place(a: AgentRecord, position: number): void {
    const entry = offerableEntry(a);
    if (entry === undefined && this.entries[position] === undefined) return;
    this.entries[position] = entry;
    this.packed = undefined;
  }
}

/** The allocator's entry for an active agent with something available; undefined otherwise. */
function offerableEntry(a: AgentRecord): AllocatorAgent | undefined {
  if (!a.active) return undefined;
  const available = availableOf(a);
  // A zero-length list is empty for sure; the allocator checks the others (zero scalars).
  return available.length > 0 ? { id: a.id, total: a.total, available, active: true } : undefined;
}

/**
 * Which frameworks may be offered what: a key per connected framework and role it is not
 * suppressed in. A key the last run did not have means agents that nobody could take before
 * may have a taker now, and the run visits every offerable agent. Keys that went (a framework
 * disconnected or suppressed a role) change nothing for the agents a run left: whoever is
 * left filtered them before.
 */
function eligibilityOf(state: MasterState): Set<string> {
  const keys = new Set<string>();
  for (const f of state.frameworks.values()) {
    if (!f.connected) continue;
    for (const role of f.roles) if (!f.suppressedRoles.has(role)) keys.add(`${f.id}\u0001${role}`);
  }
  return keys;
}

/** Whether `now` has a key that `before` had not (everything is new after no run at all). */
function gainedEligibility(before: ReadonlySet<string> | undefined, now: ReadonlySet<string>): boolean {
  if (before === undefined) return true;
  for (const key of now) if (!before.has(key)) return true;
  return false;
}

function hasConnectedFramework(state: MasterState): boolean {
  for (const fw of state.frameworks.values()) if (fw.connected) return true;
  return false;
}

export class AllocationLoop {
  private running = false;
  private closed = false;
  private readonly agentScan: AgentScan;

  constructor(private readonly ctx: MasterContext, private readonly allocate: AllocateFn) {
    // The state reports agent changes to this loop's scan from now on (agent-changes.ts).
    const changes = new AgentChangeLog();
    ctx.state.agentChanges = changes;
    this.agentScan = new AgentScan(changes);
  }

  /** When the last run ended and how long it took (clock ms). */
  private lastRunEnd = Number.NEGATIVE_INFINITY;
  private lastRunMs = 0;
  /** Who could be offered what as of the last run ({@link eligibilityOf}). */
  private lastEligibility: Set<string> | undefined;
  /** The next run visits every offerable agent (the last one did not finish its work). */
  private visitAllNext = true;

  /**
   * Asks for a run (one run however many requests). It comes at the next tick, but no sooner
   * after the previous run than that run took: on a busy master with thousands of agents a
   * run per tick (every finished task, every declined offer asks for one) took most of its
   * time, while this keeps allocation to at most half of it. On a quiet master a run takes
   * a millisecond or less, so offers still follow freed resources at once (Mesos waits for
   * its next one-second batch).
   */
  request(): void {
    if (this.closed || this.ctx.timers.has('allocation')) return;
    const wait = Math.max(0, this.lastRunEnd + this.lastRunMs - this.ctx.clock.now());
    this.ctx.timers.timeout('allocation', wait, () => this.run());
  }

  /** Runs the allocator now and makes the offers. */
  run(): void {
    if (this.running || this.closed) return;
    this.running = true;
    const startedAt = this.ctx.clock.now();
    try {
      const { ctx } = this;
      // Nobody to offer to (a cluster filling up with agents before any framework came):
      // nothing to decide. A framework subscribing asks for a run itself.
      if (!hasConnectedFramework(ctx.state)) return;
      const now = ctx.clock.now();
      ctx.filters.expire(now);
      const eligibility = eligibilityOf(ctx.state);
      const all = this.visitAllNext || gainedEligibility(this.lastEligibility, eligibility);
      this.lastEligibility = eligibility;
      // Until this run has made its offers, a failure must not leave agents unvisited.
      this.visitAllNext = true;
      const result = this.allocate(buildSnapshot(ctx.state, ctx.filters, now, this.agentScan, { all, released: ctx.filters.takeReleased() }));
      let unmade = false;
      const byFramework = new Map<string, OfferRecord[]>();
      for (const allocation of result.allocations) {
        const offer = createOffer(ctx, allocation);
        if (offer === undefined) {
          // Resources the allocator saw that the agent no longer has: look at every agent
          // again next time rather than trust what this run left.
          unmade = true;
          continue;
        }
        let list = byFramework.get(offer.frameworkId);
        if (list === undefined) byFramework.set(offer.frameworkId, (list = []));
        list.push(offer);
      }
      for (const [frameworkId, offers] of byFramework) {
        ctx.conns.sendEvent(frameworkId, events.offers(offers.map((o) => offerToWire(ctx.state, o))));
      }
      this.visitAllNext = unmade;
      const nextExpiry = ctx.filters.nextExpiry();
      if (nextExpiry !== undefined) {
        ctx.timers.timeout('filter-expiry', Math.max(0, nextExpiry - now), () => this.request());
      } else {
        ctx.timers.cancel('filter-expiry');
      }
    } catch (err) {
      this.ctx.logger.error({ err }, 'allocation run failed');
    } finally {
      this.running = false;
      this.lastRunEnd = this.ctx.clock.now();
      this.lastRunMs = this.lastRunEnd - startedAt;
    }
  }

  close(): void {
    this.closed = true;
  }
}
