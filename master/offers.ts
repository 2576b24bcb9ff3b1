/**
 * Offers: turning allocations into OfferRecords (resources available → offered), their wire
 * form, and removing them (accept, decline, rescind, timeout), which gives the resources
 * back and optionally installs a refuse filter.
 *
 * @module
 */
import type { Offer, Resource } from '../sdk/protocol/index.js';
import { allocateResources, containsResources, isEmptyResources, unallocateResources } from '../sdk/resources/index.js';
import { addOffered, availableOf, releaseOffered } from './accounting.js';
import type { Allocation } from './allocator/types.js';
import type { MasterContext } from './context.js';
import { events } from './events.js';
import type { MasterState, OfferRecord } from './model.js';

/** Mesos's default `Filters.refuse_seconds`. */
export const DEFAULT_REFUSE_SECONDS = 5;

/**
 * Creates the offer for one allocation, or undefined when it is no longer possible (agent or
 * framework gone or inactive, or the resources are not all available: never offer twice).
 */
export function createOffer(ctx: MasterContext, allocation: Allocation): OfferRecord | undefined {
  const { state } = ctx;
  const agent = state.agents.get(allocation.agentId);
  const fw = state.frameworks.get(allocation.frameworkId);
  if (!agent || !agent.active || !fw || !fw.connected) return undefined;
  const resources = unallocateResources(allocation.resources);
  if (isEmptyResources(resources) || !containsResources(availableOf(agent), resources)) {
    ctx.logger.warn({ allocation }, 'allocation not available any more; skipped');
    return undefined;
  }
  const offer: OfferRecord = {
    id: ctx.ids.offerId(),
    frameworkId: fw.id,
    agentId: agent.id,
    role: allocation.role,
    resources: allocateResources(resources, allocation.role),
    unallocated: resources,
    createdAt: ctx.clock.now(),
  };
  state.offers.set(offer.id, offer);
  addOffered(state, fw.id, agent.id, resources);
  state.counters.offersSent++;
  if (ctx.config.offerTimeoutMs !== undefined) {
    ctx.timers.timeout(`offer-timeout:${offer.id}`, ctx.config.offerTimeoutMs, () => {
      if (state.offers.has(offer.id)) {
        ctx.logger.info({ offerId: offer.id }, 'offer timed out; rescinding');
        removeOffer(ctx, offer.id, { rescind: true });
      }
    });
  }
  return offer;
}

/**
 * Mesos sends resources to frameworks without the RESERVATION_REFINEMENT capability in the
 * "pre-reservation-refinement" format, where unreserved resources carry the deprecated
 * `role: "*"`; older clients (and Marathon 1.x) read that field. Resource identity treats an
 * absent role as `*`, so the field does not change what the framework may send back.
 */
function withLegacyRole(r: Resource): Resource {
  if (r.role !== undefined || (r.reservations?.length ?? 0) > 0 || r.reservation !== undefined) return r;
  return { ...r, role: '*' };
}

/** The offer as the OFFERS event carries it (mesos.proto `Offer`). */
export function offerToWire(state: MasterState, offer: OfferRecord): Offer {
  const agent = state.agents.get(offer.agentId);
  const fw = state.frameworks.get(offer.frameworkId);
  const executorIds = [...(fw?.executors.get(offer.agentId)?.keys() ?? [])].map((value) => ({ value }));
  const hostname = agent?.hostname ?? '';
  return {
    id: { value: offer.id },
    framework_id: { value: offer.frameworkId },
    agent_id: { value: offer.agentId },
    hostname,
    url: {
      scheme: 'http',
      address: { hostname, ip: agent?.ip ?? '', port: agent?.port ?? 0 },
      path: '/slave(1)',
    },
    resources: fw?.capabilities.has('RESERVATION_REFINEMENT') ? offer.resources : offer.resources.map(withLegacyRole),
    attributes: agent?.attributes ?? [],
    executor_ids: executorIds,
    allocation_info: { role: offer.role },
  };
}

/**
 * Removes an offer and gives its resources back. `rescind` sends RESCIND to the framework;
 * `refuseSeconds` > 0 installs a filter on `filterResources` (default: the offer's resources)
 * so the framework is not offered them again for that long. Returns the removed offer.
 */
export function removeOffer(
  ctx: MasterContext,
  offerId: string,
  opts: { rescind?: boolean; refuseSeconds?: number; filterResources?: Resource[]; reallocate?: boolean } = {},
): OfferRecord | undefined {
  const { state } = ctx;
  const offer = state.offers.get(offerId);
  if (offer === undefined) return undefined;
  state.offers.delete(offerId);
  // Only offers made with a timeout have a timer (no key built per offer otherwise).
  if (ctx.config.offerTimeoutMs !== undefined) ctx.timers.cancel(`offer-timeout:${offerId}`);
  releaseOffered(state, offer.frameworkId, offer.agentId, offer.unallocated);
  if (opts.rescind) {
    state.counters.offersRescinded++;
    ctx.conns.sendEvent(offer.frameworkId, events.rescind(offerId));
  }
  const refuse = opts.refuseSeconds ?? 0;
  const filterResources = opts.filterResources === undefined ? offer.unallocated : unallocateResources(opts.filterResources);
  if (refuse > 0 && !isEmptyResources(filterResources)) {
    ctx.filters.add({
      frameworkId: offer.frameworkId,
      agentId: offer.agentId,
      resources: filterResources,
      expiresAt: ctx.clock.now() + refuse * 1000,
    });
  }
  if (opts.reallocate !== false) ctx.requestAllocation();
  return offer;
}

/** Offers of one agent (rescinded when it disconnects or is removed). */
export function offersOfAgent(state: MasterState, agentId: string): OfferRecord[] {
  return [...state.offers.values()].filter((o) => o.agentId === agentId);
}

/** Offers of one framework. */
export function offersOfFramework(state: MasterState, frameworkId: string): OfferRecord[] {
  return [...state.offers.values()].filter((o) => o.frameworkId === frameworkId);
}

/**
 * Refuse seconds of a DECLINE (and of an ACCEPT without operations, which Mesos treats as
 * one): the call's, never under the master's floor (`minDeclineRefuseMs`). The master makes
 * offers as soon as resources are free, not in Mesos's one-second batches, so without the
 * floor a framework declining with `refuse_seconds: 0` would get the same resources straight
 * back, and decline them again: an offer loop per agent that kept a master of 1,000 agents
 * busy (36,000 offers a second, 94 % of a core). With the floor, that framework sees them
 * again as a Mesos master would show them at its next allocation batch, other frameworks
 * get them at once (filters are per framework), and REVIVE clears it as any filter.
 */
export function declineRefuseSecondsOf(ctx: MasterContext, filters: { refuse_seconds?: number } | undefined): number {
  return Math.max(refuseSecondsOf(filters), ctx.config.minDeclineRefuseMs / 1000);
}

/** Refuse seconds from `Filters`, Mesos default 5; invalid values fall back to the default. */
export function refuseSecondsOf(filters: { refuse_seconds?: number } | undefined): number {
  const s = filters?.refuse_seconds;
  if (s === undefined || !Number.isFinite(s) || s < 0) return DEFAULT_REFUSE_SECONDS;
  return s;
}
