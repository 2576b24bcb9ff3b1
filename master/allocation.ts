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

export class AllocationLoop {
  private running = false;
  private closed = false;

  constructor(private readonly ctx: MasterContext, private readonly allocate: AllocateFn) {}

  /** Asks for a run at the next tick (one run however many requests). */
  request(): void {
    if (this.closed || this.ctx.timers.has('allocation')) return;
    this.ctx.timers.timeout('allocation', 0, () => this.run());
  }

  /** Runs the allocator now and makes the offers. */
  run(): void {
    if (this.running || this.closed) return;
    this.running = true;
    try {
      const { ctx } = this;
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
    }
  }

  close(): void {
    this.closed = true;
  }
}
