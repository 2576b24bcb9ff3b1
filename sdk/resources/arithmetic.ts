/**
 * Resource arithmetic over lists of Mesos `Resource`s: add, subtract, contains, flatten.
 *
 * Every function is pure: inputs are never mutated and results are fresh objects. Lists are
 * first flattened per identity ({@link resourceIdentity}); values are normalised (scalars
 * to 3-decimal fixed point, ranges sorted and coalesced, set items de-duplicated and
 * sorted) and entries that end up zero/empty are dropped.
 *
 * @module
 */
import type { Range, Resource } from '../protocol/mesos.js';
import { hasSimpleIdentity, resourceIdentity } from './identity.js';
import { addRanges, coalesceRanges, rangesContain, rangesSize, subtractRanges } from './ranges.js';
import { fromMilli, toMilli } from './scalar.js';

/**
 * Deep copy of a resource. The value fields every resource has (scalar, ranges, set) and an
 * `allocation_info` holding only a role (every offered resource has one) are copied by hand;
 * structuredClone, which costs about a microsecond a call, is used only for the rarer nested
 * fields (reservations, disk, …). The allocator copies every agent's resources on every
 * pass, and a framework every offered resource it packs tasks into, so this is on their hot
 * paths.
 */
export function cloneResource(r: Resource, without?: 'allocation_info'): Resource {
  return copyResource(r, without);
}

/**
 * {@link cloneResource}, with `field` (when given) holding `value` in place of a copy of its
 * own, at the field's place in the key order (last when `r` has none), as assigning it to a
 * clone would leave it.
 */
function copyResource<F extends ValueField>(r: Resource, without?: 'allocation_info', field?: F, value?: Resource[F]): Resource {
  const copy: Resource = { name: r.name, type: r.type };
  let placed = false;
  // for…in with an own-property check visits what Object.keys lists, without building the array.
  for (const k in r) {
    if (!Object.hasOwn(r, k)) continue;
    const key = k as keyof Resource;
    const own = r[key];
    if (own === undefined || key === 'name' || key === 'type' || key === without) continue;
    if (key === field) {
      (copy as Record<string, unknown>)[key] = value;
      placed = true;
      continue;
    }
    switch (key) {
      case 'scalar':
        copy.scalar = { value: r.scalar!.value };
        break;
      case 'ranges':
        copy.ranges = r.ranges!.range === undefined ? {} : { range: r.ranges!.range.map((x) => ({ begin: x.begin, end: x.end })) };
        break;
      case 'set':
        copy.set = r.set!.item === undefined ? {} : { item: [...r.set!.item] };
        break;
      case 'role':
        copy.role = r.role;
        break;
      case 'allocation_info':
        copy.allocation_info = isRoleOnly(r.allocation_info!) ? { role: r.allocation_info!.role } : structuredClone(r.allocation_info!);
        break;
      default:
        (copy as Record<string, unknown>)[key] = typeof own === 'object' && own !== null ? structuredClone(own) : own;
    }
  }
  if (field !== undefined && !placed) (copy as Record<string, unknown>)[field] = value;
  return copy;
}

/** True for an `allocation_info` that is `{ role: <string> }` and nothing else: structuredClone of it is `{ role }`. */
function isRoleOnly(a: { role?: string }): boolean {
  if (typeof a.role !== 'string') return false;
  let keys = 0;
  for (const key in a) {
    if (!Object.hasOwn(a, key)) return false;
    keys++;
  }
  return keys === 1;
}

/** The fields holding a resource's value. */
type ValueField = 'scalar' | 'ranges' | 'set';

/**
 * Deep copy of a resource with its value normalised. The value is made once, in its place:
 * this runs for every entry of every sum and difference, and copying the value only to
 * replace it was a good part of the garbage an offer made.
 */
function normalised(r: Resource): Resource {
  switch (r.type) {
    case 'SCALAR':
      return copyResource(r, undefined, 'scalar', { value: fromMilli(Math.max(0, toMilli(r.scalar?.value ?? 0))) });
    case 'RANGES':
      return copyResource(r, undefined, 'ranges', { range: coalesceRanges(r.ranges?.range ?? []) });
    case 'SET':
      return copyResource(r, undefined, 'set', { item: [...new Set(r.set?.item ?? [])].sort() });
    default:
      return copyResource(r);
  }
}

/**
 * `r`'s name, type and normalised value, without the rest of the entry: all that
 * subtractEntry, entryContains and isEmptyEntry read of an entry they do not return, so
 * the shortcuts below need not deep-copy it (as {@link normalised} does) just to look.
 */
function normalisedValue(r: Resource): Resource {
  switch (r.type) {
    case 'SCALAR':
      return { name: r.name, type: r.type, scalar: { value: fromMilli(Math.max(0, toMilli(r.scalar?.value ?? 0))) } };
    case 'RANGES':
      return { name: r.name, type: r.type, ranges: { range: coalesceRanges(r.ranges?.range ?? []) } };
    case 'SET':
      return { name: r.name, type: r.type, set: { item: [...new Set(r.set?.item ?? [])].sort() } };
    default:
      return normalised(r);
  }
}

/** True when a (normalised) resource holds nothing. TEXT resources are never empty. */
function isEmptyEntry(r: Resource): boolean {
  switch (r.type) {
    case 'SCALAR':
      return toMilli(r.scalar?.value ?? 0) <= 0;
    case 'RANGES':
      return (r.ranges?.range ?? []).length === 0;
    case 'SET':
      return (r.set?.item ?? []).length === 0;
    case 'TEXT':
      return false;
  }
}

/** Adds `b`'s value into `into` (same identity). Mutates `into`, which is a private copy. */
function mergeInto(into: Resource, b: Resource): void {
  switch (into.type) {
    case 'SCALAR':
      into.scalar = { value: fromMilli(toMilli(into.scalar?.value ?? 0) + Math.max(0, toMilli(b.scalar?.value ?? 0))) };
      break;
    case 'RANGES':
      into.ranges = { range: addRanges(into.ranges?.range ?? [], b.ranges?.range ?? []) };
      break;
    case 'SET':
      into.set = { item: [...new Set([...(into.set?.item ?? []), ...(b.set?.item ?? [])])].sort() };
      break;
    case 'TEXT':
      break;
  }
}

/**
 * True for a short list of simple resources (see {@link hasSimpleIdentity}: plain, or plain
 * but allocated to a role) that are already one per identity (distinct name, type, legacy
 * role and allocation role). Agents', offers' and tasks' resources nearly always are, and the
 * arithmetic below then works on the lists directly instead of building identity keys and
 * maps: it is on the allocator's, the master's and a framework's hot paths (every task
 * launched adds and subtracts resources several times).
 */
function isDistinctPlain(rs: readonly Resource[]): boolean {
  if (rs.length > 16) return false;
  for (let i = 0; i < rs.length; i++) {
    const r = rs[i]!;
    if (!hasSimpleIdentity(r)) return false;
    for (let j = 0; j < i; j++) if (samePlainIdentity(rs[j]!, r)) return false;
  }
  return true;
}

/** Same identity, for two simple resources (an allocation role of null counts as none, as in resourceIdentity). */
function samePlainIdentity(x: Resource, y: Resource): boolean {
  return x.name === y.name && x.type === y.type && (x.role ?? '*') === (y.role ?? '*')
    && (x.allocation_info?.role ?? null) === (y.allocation_info?.role ?? null);
}

/** The entry of a distinct-plain list with `r`'s identity. */
function findPlain(rs: readonly Resource[], r: Resource): Resource | undefined {
  for (const x of rs) if (samePlainIdentity(x, r)) return x;
  return undefined;
}

/** The flattened form of a distinct-plain list: normalised copies, empty ones dropped. */
function flattenDistinctPlain(rs: readonly Resource[]): Resource[] {
  const out: Resource[] = [];
  for (const r of rs) {
    const n = normalised(r);
    if (!isEmptyEntry(n)) out.push(n);
  }
  return out;
}

/**
 * A map key equal for two resources exactly when {@link resourceIdentity} is. Simple
 * resources (most of them) get a cheap key that cannot collide with the JSON form (which
 * starts with `[`) or with another simple key (name and role are length-prefixed, the
 * allocation role comes last, after a marker telling it from none).
 */
function identityKey(r: Resource): string {
  if (!hasSimpleIdentity(r)) return resourceIdentity(r);
  const role = r.role ?? '*';
  const allocationRole = r.allocation_info?.role ?? null;
  return `${r.type}\u0000${r.name.length}\u0000${r.name}\u0000${role.length}\u0000${role}\u0000${allocationRole === null ? '-' : `+${allocationRole}`}`;
}

/**
 * True when `rs` is already what {@link flattenResources} makes of it, value for value: a
 * short list of plain resources (see {@link hasSimpleIdentity}; none allocated), one per identity, with
 * normalised, non-empty values. The master's available lists are like this, and a reader
 * that only needs the flattened form (the allocator, once per agent per run) can then use
 * the list as it is instead of copying it.
 */
export function isFlattened(rs: readonly Resource[]): boolean {
  return isDistinctPlain(rs) && rs.every((r) => r.allocation_info === undefined && isNormalisedValue(r));
}

/** True when a resource's value is already normalised (as {@link normalised} would leave it) and not empty. */
function isNormalisedValue(r: Resource): boolean {
  switch (r.type) {
    case 'SCALAR': {
      const v = r.scalar?.value;
      return typeof v === 'number' && v > 0 && fromMilli(toMilli(v)) === v;
    }
    case 'RANGES': {
      const ranges = r.ranges?.range;
      if (ranges === undefined || ranges.length === 0) return false;
      for (let i = 0; i < ranges.length; i++) {
        const x = ranges[i]!;
        if (x.begin > x.end || (i > 0 && x.begin <= ranges[i - 1]!.end + 1)) return false;
      }
      return true;
    }
    case 'SET': {
      const items = r.set?.item;
      if (items === undefined || items.length === 0) return false;
      for (let i = 1; i < items.length; i++) if (!(items[i - 1]! < items[i]!)) return false;
      return true;
    }
    case 'TEXT':
      return true;
  }
}

/** Flattened entries keyed by identity, in first-seen order. */
function byIdentity(rs: readonly Resource[]): Map<string, Resource> {
  const out = new Map<string, Resource>();
  for (const r of rs) {
    const key = identityKey(r);
    const existing = out.get(key);
    if (existing === undefined) out.set(key, normalised(r));
    else mergeInto(existing, r);
  }
  for (const [key, r] of out) if (isEmptyEntry(r)) out.delete(key);
  return out;
}

/**
 * Merges entries with the same identity into one per identity, in first-seen order, with
 * values normalised and zero/empty entries dropped.
 *
 * @example
 * flattenResources([scalarResource('cpus', 1), scalarResource('cpus', 0.5)]) // cpus:1.5
 */
export function flattenResources(rs: readonly Resource[]): Resource[] {
  return isDistinctPlain(rs) ? flattenDistinctPlain(rs) : [...byIdentity(rs).values()];
}

/** `a + b`, flattened. Ranges and sets are unions. */
export function addResources(a: readonly Resource[], b: readonly Resource[]): Resource[] {
  if (!isDistinctPlain(a) || !isDistinctPlain(b)) return flattenResources([...a, ...b]);
  // What byIdentity does with `[...a, ...b]`, in the same first-seen order, without keys.
  const sum = a.map(normalised);
  for (const r of b) {
    const into = findPlain(sum, r);
    if (into === undefined) sum.push(normalised(r));
    else mergeInto(into, r);
  }
  return sum.filter((r) => !isEmptyEntry(r));
}

/**
 * The sum of several lists, flattened: `addResources` folded over them, with one list built
 * instead of one per list. The master charges the twenty tasks of an ACCEPT on one agent with
 * it: adding them one by one built (and soon dropped) twenty lists for the agent and twenty
 * for the framework.
 *
 * @example
 * sumResources([[scalarResource('cpus', 1)], [scalarResource('cpus', 0.5)]]) // cpus:1.5
 */
export function sumResources(lists: readonly (readonly Resource[])[]): Resource[] {
  if (!lists.every(isDistinctPlain)) return lists.reduce<Resource[]>((sum, list) => addResources(sum, list), []);
  const sum: Resource[] = [];
  for (const list of lists) {
    for (const r of list) {
      const into = findPlain(sum, r);
      if (into !== undefined) {
        mergeInto(into, r);
        continue;
      }
      // An empty entry takes no place, as in the fold: its identity comes where it is first non-empty.
      const entry = normalised(r);
      if (!isEmptyEntry(entry)) sum.push(entry);
    }
  }
  return sum;
}

/**
 * `a - b` per identity: scalars subtract (clamped at 0), ranges are split, sets are
 * set-differences. Entries that reach zero/empty are dropped; parts of `b` with no
 * matching identity in `a` are ignored. Never negative.
 */
export function subtractResources(a: readonly Resource[], b: readonly Resource[]): Resource[] {
  if (isDistinctPlain(a) && isDistinctPlain(b)) {
    const out: Resource[] = [];
    for (const r of flattenDistinctPlain(a)) {
      const match = findPlain(b, r);
      const s = match === undefined ? undefined : normalisedValue(match);
      const left = s === undefined || isEmptyEntry(s) ? r : subtractEntry(r, s);
      if (left !== undefined) out.push(left);
    }
    return out;
  }
  const left = byIdentity(a);
  const right = byIdentity(b);
  const out: Resource[] = [];
  for (const [key, r] of left) {
    const s = right.get(key);
    const rest = s === undefined ? r : subtractEntry(r, s);
    if (rest !== undefined) out.push(rest);
  }
  return out;
}

/**
 * `r - s` for two normalised entries of the same identity, in place on `r` (a private copy):
 * undefined when nothing is left (an equal TEXT entry is removed entirely).
 */
function subtractEntry(r: Resource, s: Resource): Resource | undefined {
  switch (r.type) {
    case 'SCALAR':
      r.scalar = { value: fromMilli(Math.max(0, toMilli(r.scalar?.value ?? 0) - toMilli(s.scalar?.value ?? 0))) };
      break;
    case 'RANGES':
      r.ranges = { range: subtractRanges(r.ranges?.range ?? [], s.ranges?.range ?? []) };
      break;
    case 'SET': {
      const remove = new Set(s.set?.item ?? []);
      r.set = { item: (r.set?.item ?? []).filter((i) => !remove.has(i)) };
      break;
    }
    case 'TEXT':
      return undefined;
  }
  return isEmptyEntry(r) ? undefined : r;
}

/**
 * True when `a` ⊇ `b`: for every identity in `b`, `a` holds the same identity with at least
 * as much (scalars `>=`, ranges covered, set items included). Resources of a different role,
 * reservation or allocation never satisfy each other.
 */
export function containsResources(a: readonly Resource[], b: readonly Resource[]): boolean {
  if (isDistinctPlain(a) && isDistinctPlain(b)) {
    for (const w of b) {
      const want = normalisedValue(w);
      if (isEmptyEntry(want)) continue;
      const match = findPlain(a, w);
      const got = match === undefined ? undefined : normalisedValue(match);
      if (got === undefined || isEmptyEntry(got) || !entryContains(got, want)) return false;
    }
    return true;
  }
  const have = byIdentity(a);
  for (const [key, want] of byIdentity(b)) {
    const got = have.get(key);
    if (got === undefined || !entryContains(got, want)) return false;
  }
  return true;
}

/** `got ⊇ want` for two normalised entries of the same identity. */
function entryContains(got: Resource, want: Resource): boolean {
  switch (want.type) {
    case 'SCALAR':
      return toMilli(got.scalar?.value ?? 0) >= toMilli(want.scalar?.value ?? 0);
    case 'RANGES':
      return rangesContain(got.ranges?.range ?? [], want.ranges?.range ?? []);
    case 'SET': {
      const items = new Set(got.set?.item ?? []);
      return (want.set?.item ?? []).every((i) => items.has(i));
    }
    case 'TEXT':
      return true;
  }
}

/** Copies of the resources with `allocation_info.role` set (how offers carry them to a framework). */
export function allocateResources(rs: readonly Resource[], role: string): Resource[] {
  return rs.map((r) => {
    const copy = cloneResource(r, 'allocation_info');
    copy.allocation_info = { role };
    return copy;
  });
}

/** Copies of the resources without `allocation_info`. */
export function unallocateResources(rs: readonly Resource[]): Resource[] {
  return rs.map((r) => cloneResource(r, 'allocation_info'));
}

/** Sum of a SCALAR resource over every identity (role, reservation, allocation); 0 when absent. */
export function scalarOf(rs: readonly Resource[], name: string): number {
  let milli = 0;
  for (const r of rs) if (r.name === name && r.type === 'SCALAR') milli += Math.max(0, toMilli(r.scalar?.value ?? 0));
  return fromMilli(milli);
}

/** Union of a RANGES resource over every identity, coalesced; `[]` when absent. */
export function rangesOf(rs: readonly Resource[], name: string): Range[] {
  const all: Range[] = [];
  for (const r of rs) if (r.name === name && r.type === 'RANGES') all.push(...(r.ranges?.range ?? []));
  return coalesceRanges(all);
}

/** True when the list holds nothing (no entries, or only zero/empty ones). */
export function isEmptyResources(rs: readonly Resource[]): boolean {
  // Without normalising a copy: only ranges need coalescing (invalid ones drop out) to tell.
  return rs.every((r) => (r.type === 'RANGES' ? coalesceRanges(r.ranges?.range ?? []).length === 0 : isEmptyEntry(r)));
}

/**
 * Name → quantity over every identity, for DRF shares: scalars sum (fixed point), ranges
 * count the integers they cover (number of ports), sets count their items. TEXT is skipped.
 */
export function resourceTotals(rs: readonly Resource[]): Map<string, number> {
  const milli = new Map<string, number>();
  const ranges = new Map<string, Range[]>();
  const sets = new Map<string, Set<string>>();
  for (const r of rs) {
    switch (r.type) {
      case 'SCALAR':
        milli.set(r.name, (milli.get(r.name) ?? 0) + Math.max(0, toMilli(r.scalar?.value ?? 0)));
        break;
      case 'RANGES': {
        // Ranges of different identities are disjoint on a sane agent; union avoids double counting.
        const list = ranges.get(r.name) ?? [];
        list.push(...(r.ranges?.range ?? []));
        ranges.set(r.name, list);
        break;
      }
      case 'SET': {
        const set = sets.get(r.name) ?? new Set<string>();
        for (const i of r.set?.item ?? []) set.add(i);
        sets.set(r.name, set);
        break;
      }
      case 'TEXT':
        break;
    }
  }
  const out = new Map<string, number>();
  for (const [name, m] of milli) out.set(name, fromMilli(m));
  for (const [name, list] of ranges) out.set(name, (out.get(name) ?? 0) + rangesSize(list));
  for (const [name, set] of sets) out.set(name, (out.get(name) ?? 0) + set.size);
  return out;
}
