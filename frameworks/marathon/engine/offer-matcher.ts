/**
 * Which scheduled instances go on which offer (Marathon's InstanceOpFactory + offer
 * matching loop). Pure: offers, the instances waiting for one, and what is already placed
 * in; launches, unused offers and the reasons for every miss out. Several instances may go
 * on one offer (up to `maxPerOffer`), each taking its share of the offer's resources.
 *
 * @module
 */
import type { Attribute, Offer, Resource } from '../../../sdk/protocol/index.js';
import { subtractResources } from '../../../sdk/resources/index.js';
import { matchOffer } from '../launch/index.js';
import type { AppDefinition, Instance } from '../model/types.js';

/** Marathon's `--max_instances_per_offer` default. */
export const DEFAULT_MAX_INSTANCES_PER_OFFER = 5;

/** An app whose scheduled instances wait for an offer (launch delay elapsed). */
export interface LaunchCandidate {
  app: AppDefinition;
  /** Scheduled instances, in launch order. */
  scheduled: Instance[];
  /** The app's live instances already placed (for constraints). */
  placed: Instance[];
}

export interface MatchedInstance {
  instance: Instance;
  app: AppDefinition;
  resources: Resource[];
  hostPorts: number[];
}

export interface OfferMatchResult {
  /** Per offer with at least one match: what goes on it. */
  launches: Array<{ offer: Offer; matched: MatchedInstance[] }>;
  /** Offers nothing went on. */
  unused: Offer[];
  /** Per app: offers processed, used, and the reasons of misses. */
  stats: Map<string, { processed: number; used: number; reasons: string[] }>;
}

/** Mesos attributes → Marathon's `{name: value}` view (text, scalar, ranges, set). */
export function attributesOf(attrs: readonly Attribute[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of attrs ?? []) {
    if (a.text !== undefined) out[a.name] = a.text.value;
    else if (a.scalar !== undefined) out[a.name] = String(a.scalar.value);
    else if (a.ranges !== undefined) out[a.name] = `[${(a.ranges.range ?? []).map((r) => `${r.begin}-${r.end}`).join(',')}]`;
    else if (a.set !== undefined) out[a.name] = `{${(a.set.item ?? []).join(',')}}`;
  }
  return out;
}

/** Matches candidates against offers, first fit, apps in the order given. */
export function matchOffers(offers: readonly Offer[], candidates: readonly LaunchCandidate[], maxPerOffer = DEFAULT_MAX_INSTANCES_PER_OFFER): OfferMatchResult {
  const waiting = candidates.map((c) => ({ app: c.app, queue: [...c.scheduled], placed: [...c.placed] }));
  const stats = new Map<string, { processed: number; used: number; reasons: string[] }>();
  const launches: OfferMatchResult['launches'] = [];
  const unused: Offer[] = [];
  for (const offer of offers) {
    let remaining: Resource[] = offer.resources ?? [];
    const attributes = attributesOf(offer.attributes);
    const matched: MatchedInstance[] = [];
    for (const w of waiting) {
      if (w.queue.length === 0) continue;
      const s = stats.get(w.app.id) ?? { processed: 0, used: 0, reasons: [] };
      stats.set(w.app.id, s);
      s.processed++;
      let usedHere = false;
      while (w.queue.length > 0 && matched.length < maxPerOffer) {
        const r = matchOffer(w.app, { ...offer, resources: remaining }, w.placed);
        if (!r.ok) {
          s.reasons.push(...r.reasons);
          break;
        }
        const instance = w.queue.shift()!;
        remaining = subtractResources(remaining, r.resources);
        const placedInstance: Instance = { ...instance, agentId: offer.agent_id.value, host: offer.hostname, agentAttributes: attributes, hostPorts: r.hostPorts };
        w.placed.push(placedInstance);
        matched.push({ instance: placedInstance, app: w.app, resources: r.resources, hostPorts: r.hostPorts });
        usedHere = true;
      }
      if (usedHere) s.used++;
      if (matched.length >= maxPerOffer) break;
    }
    if (matched.length > 0) launches.push({ offer, matched });
    else unused.push(offer);
  }
  return { launches, unused, stats };
}
