/**
 * Event-driven allocation: whenever resources are added or freed, a framework subscribes or
 * revives, or a filter expires, the master asks for a run; requests in the same tick are
 * coalesced into one run (a zero-delay Clock timer). A run snapshots the state, calls the
 * pure allocator, turns each allocation into an offer and sends one OFFERS event per
 * framework.
 *
 * @module
 */
import type { AllocationResult, AllocationSnapshot } from './allocator/types.js';
import { allocatedTo, availableOf } from './accounting.js';
import type { MasterContext, OfferFilters } from './context.js';
import { events } from './events.js';
import type { MasterState, OfferRecord } from './model.js';
import { createOffer, offerToWire } from './offers.js';

/** The allocator's signature (master/allocator/allocate.ts). */
export type AllocateFn = (snapshot: AllocationSnapshot) => AllocationResult;

/** Pure: the allocator's view of the state. */
export function buildSnapshot(state: MasterState, filters: OfferFilters, now: number): AllocationSnapshot {
  return {
    agents: [...state.agents.values()].map((a) => ({
      id: a.id,
      total: a.total,
      available: availableOf(a),
      active: a.active,
    })),
    frameworks: [...state.frameworks.values()].map((f) => ({
      id: f.id,
      roles: f.roles,
      suppressedRoles: f.suppressedRoles,
      allocated: allocatedTo(f),
      active: f.connected,
    })),
    filters: [...filters.list],
    now,
  };
}

function hasConnectedFramework(state: MasterState): boolean {
  for (const fw of state.frameworks.values()) if (fw.connected) return true;
  return false;
}

export class AllocationLoop {
  private running = false;
  private closed = false;

  constructor(private readonly ctx: MasterContext, private readonly allocate: AllocateFn) {}

  /** When the last run ended and how long it took (clock ms). */
  private lastRunEnd = Number.NEGATIVE_INFINITY;
  private lastRunMs = 0;

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
      const result = this.allocate(buildSnapshot(ctx.state, ctx.filters, now));
      ctx.filters.list = [...result.filters];
      const byFramework = new Map<string, OfferRecord[]>();
      for (const allocation of result.allocations) {
        const offer = createOffer(ctx, allocation);
        if (offer === undefined) continue;
        let list = byFramework.get(offer.frameworkId);
        if (list === undefined) byFramework.set(offer.frameworkId, (list = []));
        list.push(offer);
      }
      for (const [frameworkId, offers] of byFramework) {
        ctx.conns.sendEvent(frameworkId, events.offers(offers.map((o) => offerToWire(ctx.state, o))));
      }
      if (result.nextFilterExpiry !== undefined) {
        ctx.timers.timeout('filter-expiry', Math.max(0, result.nextFilterExpiry - now), () => this.request());
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
