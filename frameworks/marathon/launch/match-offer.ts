/**
 * Does an offer fit one instance of an app? Marathon's `ResourceMatcher` + `PortsMatcher` +
 * constraint check, pure.
 *
 * 1. Roles: only resources reserved for one of the app's accepted roles are usable
 *    (`acceptedResourceRoles`, default `opts.defaultAcceptedRoles`, default `['*']`: only
 *    unreserved resources). Revocable resources and disks with a source or persistence
 *    (resident apps) are never used. An app with a `role` only takes offers allocated to
 *    that role.
 * 2. Scalars cpus/mem/disk/gpus in 3-decimal fixed point, reserved resources first.
 * 3. GPUs are scarce: an app without gpus does not take an offer that has some
 *    (`--gpu_scheduling_behavior restricted`, Marathon's default), unless
 *    `gpuSchedulingBehavior: 'unrestricted'`.
 * 4. Host ports (see ports.ts): host networking asks for one port per `portDefinitions`
 *    entry (the service port itself with `requirePorts`, else any); container networking asks
 *    for the `hostPort`s of `container.portMappings` (bridge: a missing hostPort means any).
 * 5. Constraints against the app's placed instances.
 *
 * Every failing reason is returned (for /v2/queue's processedOffersSummary), in Marathon's
 * reason-funnel order ({@link NO_MATCH_REASONS}).
 *
 * @module
 */
import type { Offer, Resource } from '../../../sdk/protocol/index.js';
import { fromMilli, reservationRole, toMilli } from '../../../sdk/resources/index.js';
import type { AppDefinition, Instance } from '../model/types.js';
import { attributesToStrings, constraintSatisfied } from './constraints.js';
import { matchPorts } from './ports.js';

/** Why an offer was not used, Marathon's `NoOfferMatchReason` names in funnel order. */
export const NO_MATCH_REASONS = [
  'UnfulfilledRole', 'UnfulfilledConstraint', 'NoCorrespondingReservationFound', 'AgentMaintenance',
  'InsufficientCpus', 'InsufficientMemory', 'InsufficientDisk', 'InsufficientGpus', 'InsufficientPorts',
  'DeclinedScarceResources',
] as const;
export type NoMatchReason = typeof NO_MATCH_REASONS[number];

/** Options of {@link matchOffer}. */
export interface MatchOfferOptions {
  /** Roles used when the app has no `acceptedResourceRoles` (Marathon `--default_accepted_resource_roles`); default `['*']`. */
  defaultAcceptedRoles?: string[];
  /** Marathon `--gpu_scheduling_behavior`; default `'restricted'`. */
  gpuSchedulingBehavior?: 'restricted' | 'unrestricted';
  /** Uniform [0,1) source for picking any-ports; default: lowest free port. */
  random?: () => number;
}

export type MatchOfferResult =
  | { ok: true; resources: Resource[]; hostPorts: number[] }
  | { ok: false; reasons: NoMatchReason[] };

const SCALARS: Array<{ name: string; field: 'cpus' | 'mem' | 'disk' | 'gpus'; reason: NoMatchReason }> = [
  { name: 'cpus', field: 'cpus', reason: 'InsufficientCpus' },
  { name: 'mem', field: 'mem', reason: 'InsufficientMemory' },
  { name: 'disk', field: 'disk', reason: 'InsufficientDisk' },
  { name: 'gpus', field: 'gpus', reason: 'InsufficientGpus' },
];

/** Resources a plain (non-resident) app may use at all. */
function plainResource(r: Resource): boolean {
  if (r.revocable) return false;
  if (r.disk && (r.disk.persistence !== undefined || r.disk.source !== undefined)) return false;
  return true;
}

/** The host ports the app asks for, in order: 0 = any. */
export function requestedHostPorts(app: AppDefinition): number[] {
  const mode = app.networks[0]?.mode ?? 'host';
  if (mode === 'host') return app.portDefinitions.map((pd) => (app.requirePorts ? pd.port : 0));
  const mappings = (app.container?.portMappings ?? (app.container?.docker as { portMappings?: unknown } | undefined)?.portMappings) as
    | Array<{ hostPort?: number }> | undefined;
  if (!Array.isArray(mappings)) return [];
  const out: number[] = [];
  for (const m of mappings) {
    if (typeof m.hostPort === 'number') out.push(m.hostPort);
    else if (mode === 'container/bridge') out.push(0);
  }
  return out;
}

/** Takes `amountMilli` of scalar `name` from `usable`, reserved entries first. */
function takeScalar(usable: readonly Resource[], name: string, amountMilli: number): Resource[] | undefined {
  const entries = usable
    .filter((r) => r.name === name && r.type === 'SCALAR' && (r.scalar?.value ?? 0) > 0)
    .sort((a, b) => Number(reservationRole(a) === '*') - Number(reservationRole(b) === '*'));
  let left = amountMilli;
  const out: Resource[] = [];
  for (const r of entries) {
    if (left <= 0) break;
    const have = toMilli(r.scalar!.value);
    const use = Math.min(have, left);
    out.push({ ...r, scalar: { value: fromMilli(use) } });
    left -= use;
  }
  return left > 0 ? undefined : out;
}

/**
 * Matches one instance of `app` against `offer`, given the app's live `placed` instances.
 *
 * @example
 * const m = matchOffer(app, offer, liveInstances);
 * if (m.ok) launch(taskInfo({ resources: m.resources, ports: m.hostPorts }));
 * else summary.record(m.reasons);
 */
export function matchOffer(
  app: AppDefinition,
  offer: Offer,
  placed: readonly Instance[],
  opts: MatchOfferOptions = {},
): MatchOfferResult {
  const reasons = new Set<NoMatchReason>();
  const offered = offer.resources ?? [];
  const allocationRole = offer.allocation_info?.role;
  const accepted = new Set(app.acceptedResourceRoles ?? opts.defaultAcceptedRoles ?? ['*']);

  const roleOk = app.role === undefined || allocationRole === undefined || app.role === allocationRole;
  const usable = roleOk
    ? offered.filter((r) => plainResource(r) && accepted.has(reservationRole(r)))
    : [];
  if (!roleOk || (usable.length === 0 && offered.length > 0)) reasons.add('UnfulfilledRole');

  const attributes = attributesToStrings(offer.attributes);
  const placedView = placed.map((i) => ({ host: i.host, agentAttributes: i.agentAttributes }));
  for (const c of app.constraints) {
    if (!constraintSatisfied(c, { hostname: offer.hostname, attributes }, placedView, app)) {
      reasons.add('UnfulfilledConstraint');
      break;
    }
  }

  const resources: Resource[] = [];
  for (const s of SCALARS) {
    const wantMilli = toMilli(app[s.field]);
    if (wantMilli <= 0) continue;
    const taken = takeScalar(usable, s.name, wantMilli);
    if (taken) resources.push(...taken);
    else reasons.add(s.reason);
  }

  const ports = matchPorts(usable, requestedHostPorts(app), opts.random);
  if (ports) resources.push(...ports.resources);
  else reasons.add('InsufficientPorts');

  const offersGpus = offered.some((r) => r.name === 'gpus' && (r.scalar?.value ?? 0) > 0);
  if (app.gpus <= 0 && offersGpus && (opts.gpuSchedulingBehavior ?? 'restricted') === 'restricted') {
    reasons.add('DeclinedScarceResources');
  }

  if (reasons.size > 0) return { ok: false, reasons: NO_MATCH_REASONS.filter((r) => reasons.has(r)) };
  const withAllocation = resources.map((r) =>
    r.allocation_info === undefined && offer.allocation_info !== undefined ? { ...r, allocation_info: { ...offer.allocation_info } } : r);
  return { ok: true, resources: withAllocation, hostPorts: ports!.hostPorts };
}
