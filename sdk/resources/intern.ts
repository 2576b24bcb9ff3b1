/**
 * Shared copies of the small values every task repeats: its resource list (plain scalars such
 * as `cpus:0.1` and `mem:32`, maybe allocated to a role) and `{ value }` ids (agent and
 * executor ids). A master or an emulator holding tens of thousands of tasks kept one parsed
 * copy of each per task and per status: kilobytes per task for the garbage collector to copy
 * out of the young generation and then mark, all equal. An interned value is equal, key for
 * key and in the same key order, to what it replaces, so it serialises to the same bytes.
 *
 * Interned values are shared: callers must never mutate them (the state model never mutates
 * a resource list or an id in place; every change assigns a new one).
 *
 * @module
 */
import type { Resource } from '../protocol/mesos.js';

/** Field order a plain scalar resource may have (any of them absent but `name`, `type`, `scalar`). */
const SCALAR_FIELDS = ['name', 'type', 'scalar', 'role', 'allocation_info'] as const;

/** True when `o` is a plain object whose only own enumerable key is `key`. */
function hasOnlyKey(o: unknown, key: string): boolean {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return false;
  let n = 0;
  for (const k in o) {
    if (k !== key || !Object.prototype.hasOwnProperty.call(o, k)) return false;
    n++;
  }
  return n === 1;
}

/**
 * The interning key of a plain scalar resource, or undefined for any other (ranges, sets,
 * reservations, disks, extra or reordered fields): those are kept as they are. The key holds
 * which fields are present (their order is then fixed) and their values, length-prefixed so
 * that no two resources share a key.
 */
function scalarKey(r: Resource): string | undefined {
  let mask = 0;
  let next = 0;
  for (const k in r) {
    let i = next;
    while (i < SCALAR_FIELDS.length && SCALAR_FIELDS[i] !== k) i++;
    if (i === SCALAR_FIELDS.length) return undefined;
    mask |= 1 << i;
    next = i + 1;
  }
  if ((mask & 7) !== 7 || r.type !== 'SCALAR' || typeof r.name !== 'string') return undefined;
  if (!hasOnlyKey(r.scalar, 'value') || typeof r.scalar!.value !== 'number') return undefined;
  if ((mask & 8) !== 0 && typeof r.role !== 'string') return undefined;
  let allocationRole = '';
  if ((mask & 16) !== 0) {
    if (!hasOnlyKey(r.allocation_info, 'role') || typeof r.allocation_info!.role !== 'string') return undefined;
    allocationRole = r.allocation_info!.role;
  }
  const role = r.role ?? '';
  // Object.is keeps -0 apart from 0 (both serialise as 0, but they are different numbers).
  const value = Object.is(r.scalar!.value, -0) ? '-0' : String(r.scalar!.value);
  return `${mask}:${r.name.length}:${r.name}${value}:${role.length}:${role}${allocationRole}`;
}

/**
 * True when `r` has the interning key of `shared` (a plain scalar resource that has one):
 * the same fields in the same order with the same values, checked field by field rather than
 * by building `r`'s key.
 */
function sameScalar(r: unknown, shared: Resource, sharedKeys: number): boolean {
  if (r === null || typeof r !== 'object' || Array.isArray(r)) return false;
  const x = r as Resource;
  let next = 0;
  let keys = 0;
  for (const k in x) {
    // In SCALAR_FIELDS order (as `shared`'s are), so the same set of keys is the same order.
    let i = next;
    while (i < SCALAR_FIELDS.length && SCALAR_FIELDS[i] !== k) i++;
    if (i === SCALAR_FIELDS.length || !Object.prototype.hasOwnProperty.call(x, k) || !Object.prototype.hasOwnProperty.call(shared, k)) return false;
    next = i + 1;
    keys++;
  }
  if (x.name !== shared.name || x.type !== shared.type || x.role !== shared.role) return false;
  if (!hasOnlyKey(x.scalar, 'value') || !Object.is(x.scalar!.value, shared.scalar!.value)) return false;
  if (shared.allocation_info !== undefined && (!hasOnlyKey(x.allocation_info, 'role') || x.allocation_info!.role !== shared.allocation_info.role)) return false;
  return keys === sharedKeys;
}

/**
 * A bounded cache of shared resource lists and `{ value }` ids. When it holds `maxEntries`
 * it starts afresh (values already handed out stay valid: they are just not shared with
 * later ones), so unique values (port ranges, per-task ids) cannot grow it without bound.
 */
export class ValueInterner {
  private readonly resources = new Map<string, Resource>();
  private readonly lists = new Map<string, readonly Resource[]>();
  private readonly ids = new Map<string, { value: string }>();
  /**
   * The shared list {@link resourceList} returned last for a list of plain scalars. An
   * ACCEPT's tasks come in a row with equal lists: comparing with it field by field is much
   * cheaper than building the keys (strings) of every resource of every task.
   */
  private lastList: readonly Resource[] | undefined;
  /** How many fields each entry of {@link lastList} has. */
  private lastKeyCounts: number[] = [];

  constructor(private readonly maxEntries = 4096) {}

  /**
   * `list` with its plain scalar resources replaced by shared equal ones. A list of only such
   * resources is itself replaced by a shared equal list; otherwise the list is returned with
   * its internable entries replaced in place. Do not mutate the result.
   */
  resourceList(list: Resource[]): Resource[] {
    if (list.length === 0 || list.length > 8) return list;
    const last = this.lastList;
    if (last !== undefined && last.length === list.length && list.every((r, i) => sameScalar(r, last[i]!, this.lastKeyCounts[i]!))) return last as Resource[];
    let listKey = '';
    let allPlain = true;
    const keys: (string | undefined)[] = [];
    for (const r of list) {
      const key = r !== null && typeof r === 'object' ? scalarKey(r) : undefined;
      keys.push(key);
      if (key === undefined) allPlain = false;
      else listKey += `${key.length}:${key}`;
    }
    if (allPlain) {
      const shared = this.lists.get(listKey);
      if (shared !== undefined) {
        this.rememberLast(shared);
        return shared as Resource[];
      }
    }
    for (let i = 0; i < list.length; i++) {
      const key = keys[i];
      if (key === undefined) continue;
      const shared = this.resources.get(key);
      if (shared !== undefined) list[i] = shared;
      else this.remember(this.resources, key, list[i]!);
    }
    if (allPlain) {
      this.remember(this.lists, listKey, list);
      this.rememberLast(list);
    }
    return list;
  }

  /** A shared `{ value }` for an id, or `ref` itself when it holds more than `value`. */
  idRef<T extends { value: string }>(ref: T): T | { value: string } {
    if (!hasOnlyKey(ref, 'value') || typeof ref.value !== 'string') return ref;
    const shared = this.ids.get(ref.value);
    if (shared !== undefined) return shared;
    this.remember(this.ids, ref.value, ref);
    return ref;
  }

  private rememberLast(list: readonly Resource[]): void {
    if (list === this.lastList) return;
    this.lastList = list;
    this.lastKeyCounts = list.map((r) => Object.keys(r).length);
  }

  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    if (map.size >= this.maxEntries) map.clear();
    map.set(key, value);
  }
}
