/**
 * Offer matching (pure): first-fit of a resource request against the resources of an offer.
 *
 * Scalars are taken from the offered entries in order (an entry reserved for the role and
 * an unreserved one may both contribute), in 3-decimal fixed point as Mesos counts them.
 * Ports are the lowest free ones across the offered `ports` ranges. Every returned entry is
 * a copy of the offered entry it came from (role, reservations, `allocation_info` kept),
 * so the master finds it inside the offer when validating the launch.
 *
 * @module
 */
import { AgoraError } from '../core/errors.js';
import type { Offer, Range, Resource } from '../protocol/index.js';
import { cloneResource, coalesceRanges, fromMilli, subtractResources, toMilli } from '../resources/index.js';
import { RESOURCES_INVALID } from './errors.js';

/** A resource request: scalar amounts and a number of ports. Absent or 0 means "none". */
export interface ResourceRequest {
  cpus?: number;
  mem?: number;
  disk?: number;
  gpus?: number;
  ports?: number;
}

/** Options of {@link matchResources}. */
export interface MatchOptions {
  /** Only use resources allocated to this role (entries without `allocation_info` count as the role's). */
  role?: string;
}

const SCALAR_NAMES = ['cpus', 'mem', 'disk', 'gpus'] as const;
const REQUEST_NAMES = [...SCALAR_NAMES, 'ports'] as const;

function validRequest(want: ResourceRequest): void {
  for (const name of REQUEST_NAMES) {
    const v = want[name];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (name === 'ports' && !Number.isInteger(v))) {
      throw new AgoraError(RESOURCES_INVALID, `invalid resource request: ${name} must be a ${name === 'ports' ? 'non-negative integer' : 'non-negative number'}, got ${String(v)}`);
    }
  }
}

/** A plain (non-volume, non-mount) entry usable for an anonymous scalar request. */
function usable(r: Resource): boolean {
  if (r.shared !== undefined) return false;
  if (r.disk !== undefined && ('persistence' in r.disk || 'source' in r.disk || 'volume' in r.disk)) return false;
  return true;
}

/**
 * Picks `want` out of `available`, first fit. Returns the `Resource[]` to put in
 * `TaskInfo.resources` (ports included), or `undefined` when the request does not fit.
 *
 * @throws AgoraError `AGORA_RESOURCES_INVALID` for a negative or non-finite request.
 * @example
 * const resources = matchResources(offer.resources ?? [], { cpus: 0.1, mem: 32, ports: 1 });
 * if (resources) tasks.push(commandTask({ taskId, agentId: offer.agent_id.value, command: 'echo hi', resources }));
 */
export function matchResources(available: readonly Resource[], want: ResourceRequest, opts: MatchOptions = {}): Resource[] | undefined {
  validRequest(want);
  const pool = available.filter((r) => usable(r) && (opts.role === undefined || (r.allocation_info?.role ?? opts.role) === opts.role));
  const out: Resource[] = [];

  for (const name of SCALAR_NAMES) {
    let needMilli = toMilli(want[name] ?? 0);
    if (needMilli <= 0) continue;
    for (const r of pool) {
      if (needMilli <= 0) break;
      if (r.name !== name || r.type !== 'SCALAR') continue;
      const take = Math.min(needMilli, Math.max(0, toMilli(r.scalar?.value ?? 0)));
      if (take <= 0) continue;
      // A deep copy (cloneResource: by hand for the usual fields, no structuredClone of the
      // whole entry) with the amount taken: a framework packs thousands of tasks a second.
      const copy = cloneResource(r);
      copy.scalar = { value: fromMilli(take) };
      out.push(copy);
      needMilli -= take;
    }
    if (needMilli > 0) return undefined;
  }

  const portCount = want.ports ?? 0;
  if (portCount > 0) {
    // Every offered port segment with the entry it belongs to, lowest first.
    const segments: { range: Range; entry: number }[] = [];
    pool.forEach((r, entry) => {
      if (r.name !== 'ports' || r.type !== 'RANGES') return;
      for (const range of coalesceRanges(r.ranges?.range ?? [])) segments.push({ range, entry });
    });
    segments.sort((a, b) => a.range.begin - b.range.begin);
    const picked = new Map<number, Range[]>();
    let left = portCount;
    for (const { range, entry } of segments) {
      if (left === 0) break;
      const n = Math.min(left, range.end - range.begin + 1);
      const list = picked.get(entry) ?? [];
      list.push({ begin: range.begin, end: range.begin + n - 1 });
      picked.set(entry, list);
      left -= n;
    }
    if (left > 0) return undefined;
    for (const [entry, ranges] of [...picked].sort((a, b) => a[0] - b[0])) {
      const copy = cloneResource(pool[entry]!);
      copy.ranges = { range: coalesceRanges(ranges) };
      out.push(copy);
    }
  }
  return out;
}

/**
 * {@link matchResources} against an offer: uses the offer's allocation role and stamps the
 * offer's `allocation_info` on returned entries that lack it (multi-role masters require it).
 *
 * @example
 * const resources = matchOffer(offer, { cpus: 0.5, mem: 128 });
 */
export function matchOffer(offer: Offer, want: ResourceRequest): Resource[] | undefined {
  const role = offer.allocation_info?.role;
  const matched = matchResources(offer.resources ?? [], want, role === undefined ? {} : { role });
  if (matched === undefined || role === undefined) return matched;
  return matched.map((r) => (r.allocation_info === undefined ? { ...r, allocation_info: { role } } : r));
}

/**
 * What is left of `available` after `used` was taken (for packing several tasks into one
 * offer). A thin wrapper over `subtractResources` kept here for discoverability.
 *
 * @example
 * let left = offer.resources ?? [];
 * const r1 = matchResources(left, want)!; left = remainingResources(left, r1);
 */
export function remainingResources(available: readonly Resource[], used: readonly Resource[]): Resource[] {
  return subtractResources(available, used);
}
