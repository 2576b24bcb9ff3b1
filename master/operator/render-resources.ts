/**
 * Mesos's "model" of resources and attributes for the operator JSON
 * (mesos/src/common/http.cpp `model(const Resources&)` and `model(const Attributes&)`):
 * resources become one object keyed by name, with `cpus`, `gpus`, `mem` and `disk` always
 * present (0 when absent), scalars as numbers, ranges as `"[31000-32000, 33000-34000]"`
 * and sets as `"{a, b}"`; attributes become `{ name: value }`.
 *
 * @module
 */
import type { Attribute, Range, Resource } from '../../sdk/protocol/index.js';
import { coalesceRanges, rangesOf, reservationRole, scalarOf } from '../../sdk/resources/index.js';

/** The resource object Mesos's state endpoints show. */
export type ResourceModel = Record<string, number | string>;

function rangesText(ranges: readonly Range[]): string {
  return `[${coalesceRanges(ranges).map((r) => `${r.begin}-${r.end}`).join(', ')}]`;
}

/**
 * Renders resources (any role, reservation or allocation, summed per name) as a Mesos
 * resource object.
 *
 * @example
 * renderResources(parseResources('cpus:2;mem:512;ports:[31000-32000]'))
 * // { cpus: 2, gpus: 0, mem: 512, disk: 0, ports: '[31000-32000]' }
 */
export function renderResources(rs: readonly Resource[]): ResourceModel {
  const out: ResourceModel = { cpus: 0, gpus: 0, mem: 0, disk: 0 };
  const names = new Map<string, Resource['type']>();
  for (const r of rs) if (!r.revocable && !names.has(r.name)) names.set(r.name, r.type);
  for (const [name, type] of names) {
    const own = rs.filter((r) => r.name === name && !r.revocable);
    switch (type) {
      case 'SCALAR':
        out[name] = scalarOf(own, name);
        break;
      case 'RANGES':
        out[name] = rangesText(rangesOf(own, name));
        break;
      case 'SET': {
        const items = [...new Set(own.flatMap((r) => r.set?.item ?? []))].sort();
        out[name] = `{${items.join(', ')}}`;
        break;
      }
      case 'TEXT':
        break;
    }
  }
  return out;
}

/** Resources not reserved for any role. */
export function unreservedOf(rs: readonly Resource[]): Resource[] {
  return rs.filter((r) => reservationRole(r) === '*');
}

/** Reserved resources grouped by the role they are reserved for. */
export function reservedByRole(rs: readonly Resource[]): Map<string, Resource[]> {
  const out = new Map<string, Resource[]>();
  for (const r of rs) {
    const role = reservationRole(r);
    if (role === '*') continue;
    const list = out.get(role);
    if (list === undefined) out.set(role, [r]);
    else list.push(r);
  }
  return out;
}

/** `{ role: model }` for reserved resources, as Mesos's `reserved_resources`. */
export function renderReserved(rs: readonly Resource[]): Record<string, ResourceModel> {
  const out: Record<string, ResourceModel> = {};
  for (const [role, list] of reservedByRole(rs)) out[role] = renderResources(list);
  return out;
}

/** `{ role: Resource[] }` for reserved resources, as Mesos's `reserved_resources_full`. */
export function renderReservedFull(rs: readonly Resource[]): Record<string, Resource[]> {
  const out: Record<string, Resource[]> = {};
  for (const [role, list] of reservedByRole(rs)) out[role] = list;
  return out;
}

/**
 * Attributes as `{ name: value }`: scalars as numbers, ranges as `"[a-b]"`, sets as
 * `"{a,b}"`, text as the text (Mesos's `model(const Attributes&)`).
 */
export function renderAttributes(attributes: readonly Attribute[]): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const a of attributes) {
    switch (a.type) {
      case 'SCALAR':
        out[a.name] = a.scalar?.value ?? 0;
        break;
      case 'RANGES':
        out[a.name] = rangesText(a.ranges?.range ?? []);
        break;
      case 'SET':
        out[a.name] = `{${(a.set?.item ?? []).join(',')}}`;
        break;
      case 'TEXT':
        out[a.name] = a.text?.value ?? '';
        break;
    }
  }
  return out;
}
