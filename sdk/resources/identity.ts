/**
 * Resource identity: which entries are "the same resource" and may be merged, subtracted or
 * compared. Two entries share an identity when name, type, legacy role (`*` when absent),
 * reservations (deep-equal), allocation role and the disk/revocable/shared/provider fields
 * all match (Mesos `Resources::addable`/`subtractable`).
 *
 * @module
 */
import type { Resource } from '../protocol/mesos.js';

/** Deterministic JSON: object keys sorted, `undefined` members dropped. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = canonical(v);
    }
    return out;
  }
  return value;
}

/**
 * True when a resource carries none of the optional identity fields except, perhaps, an
 * allocation role (no reservations, disk, revocable, shared, provider): its identity is its
 * name, type, legacy role and allocation role alone. The resources of offers and of the
 * tasks launched on them (plain cpus, mem, ports allocated to the framework's role) are like
 * this, and the arithmetic takes shortcuts for them.
 */
export function hasSimpleIdentity(r: Resource): boolean {
  return r.reservation === undefined && (r.reservations === undefined || r.reservations.length === 0)
    && r.disk === undefined && !r.revocable && !r.shared && r.provider_id?.value === undefined;
}

/**
 * True when a resource carries none of the optional identity fields (reservations,
 * allocation role, disk, revocable, shared, provider): its identity is its name, type and
 * legacy role alone. Most resources (plain cpus, mem, ports) are like this, and the
 * arithmetic takes shortcuts for them.
 */
export function hasPlainIdentity(r: Resource): boolean {
  return r.allocation_info?.role === undefined && hasSimpleIdentity(r);
}

/**
 * The identity key of a resource: equal keys mean the entries are the same resource and
 * their values can be added, subtracted and compared.
 */
export function resourceIdentity(r: Resource): string {
  // Most resources (plain cpus, mem, ports, maybe allocated to a role) carry none of the other
  // optional identity fields: their key is built directly, character for character what the
  // general form below gives them (canonical() leaves strings and nulls as they are). This is
  // the allocator's hot path.
  if (hasSimpleIdentity(r)) {
    const allocationRole = r.allocation_info?.role;
    const allocation = allocationRole === undefined || allocationRole === null ? 'null' : JSON.stringify(allocationRole);
    return `[${JSON.stringify(r.name)},${JSON.stringify(r.type)},${JSON.stringify(r.role ?? '*')},null,null,${allocation},null,null,null,null]`;
  }
  return JSON.stringify(canonical([
    r.name,
    r.type,
    r.role ?? '*',
    r.reservation ?? null,
    r.reservations && r.reservations.length > 0 ? r.reservations : null,
    r.allocation_info?.role ?? null,
    r.disk ?? null,
    r.revocable ? true : null,
    r.shared ? true : null,
    r.provider_id?.value ?? null,
  ]));
}

/**
 * The role a resource is reserved for: the last (most refined) entry of `reservations`,
 * else the deprecated `reservation`/`role` fields, else `*` (unreserved).
 */
export function reservationRole(r: Resource): string {
  const last = r.reservations?.[r.reservations.length - 1];
  if (last?.role) return last.role;
  if (r.reservation?.role) return r.reservation.role;
  return r.role ?? '*';
}

/** True when the resource is reserved for some role (statically or dynamically). */
export function isReserved(r: Resource): boolean {
  return reservationRole(r) !== '*';
}
