/**
 * Which instances to kill when scaling down: Marathon's
 * `ScalingProposition.sortByConditionAndDate(killSelection)`.
 *
 * Order of kill preference (first killed first):
 * 1. `UnreachableInactive`, then `Unreachable` (Marathon treats UnreachableInactive as
 *    already sentenced and Unreachable as weight 1);
 * 2. not yet running: `Scheduled`, `Provisioned`, `Staging`;
 * 3. `Starting`;
 * 4. `Running`;
 * 5. anything else.
 *
 * Within a class the `killSelection` decides: `YOUNGEST_FIRST` kills the most recently
 * started (running) / staged (others) instance first, `OLDEST_FIRST` the least recent.
 * An instance without a timestamp sorts first in both modes (Marathon: `(None, Some) => true`).
 * Ties are broken by instance id so the result is deterministic.
 *
 * Deviation noted: Marathon 1.10 gives `Scheduled`/`Provisioned` the default weight (after
 * `Running`); we kill never-launched instances before launched ones, which loses nothing.
 *
 * @module
 */
import type { Instance, InstanceCondition, KillSelection } from '../model/types.js';

const WEIGHT: Partial<Record<InstanceCondition, number>> = {
  UnreachableInactive: 0,
  Unreachable: 1,
  Scheduled: 2,
  Provisioned: 2,
  Staging: 2,
  Starting: 3,
  Running: 4,
};
const weight = (c: InstanceCondition): number => WEIGHT[c] ?? 5;

/** The time that orders instances within a class, in ms (undefined when unknown). */
function since(i: Instance): number | undefined {
  const ts = i.condition === 'Running' ? (i.startedAt ?? i.stagedAt) : (i.stagedAt ?? i.startedAt);
  if (ts === undefined) return undefined;
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Comparator: negative when `a` should be killed before `b`. */
export function killOrder(killSelection: KillSelection): (a: Instance, b: Instance) => number {
  return (a, b) => {
    const w = weight(a.condition) - weight(b.condition);
    if (w !== 0) return w;
    const sa = since(a);
    const sb = since(b);
    if (sa === undefined && sb !== undefined) return -1;
    if (sa !== undefined && sb === undefined) return 1;
    if (sa !== undefined && sb !== undefined && sa !== sb) {
      return killSelection === 'YOUNGEST_FIRST' ? sb - sa : sa - sb;
    }
    return a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0;
  };
}

/**
 * Picks `count` instances to kill from `instances`. Only instances whose goal is still
 * `Running` are candidates (others are already being stopped).
 *
 * Marathon's `ScalingProposition.propose` order: `UnreachableInactive` instances first, then
 * instances whose removal evens out the app's `GROUP_BY` constraints (when `constraints` are
 * given, Marathon's `Constraints.selectInstancesToKill`), then the rest in {@link killOrder}.
 *
 * @example
 * selectInstancesToKill(instances, 2, app.killSelection, app.constraints) // the 2 to decommission
 */
export function selectInstancesToKill(
  instances: readonly Instance[],
  count: number,
  killSelection: KillSelection,
  constraints: readonly (readonly string[])[] = [],
): Instance[] {
  if (count <= 0) return [];
  const order = killOrder(killSelection);
  const candidates = instances.filter((i) => i.goal === 'Running').sort(order);
  const sentenced = candidates.filter((i) => i.condition === 'UnreachableInactive');
  const others = candidates.filter((i) => i.condition !== 'UnreachableInactive');
  const spread = selectToMeetConstraints(others, Math.max(0, count - sentenced.length), constraints);
  const picked = new Set(spread.map((i) => i.instanceId));
  return [...sentenced, ...spread, ...others.filter((i) => !picked.has(i.instanceId))].slice(0, count);
}

/** The value an instance has for a constraint field (undefined when the agent lacks it). */
function placedValue(i: Instance, field: string): string | undefined {
  switch (field) {
    case 'hostname':
    case '@hostname':
      return i.host;
    case '@region':
      return i.agentAttributes?.region;
    case '@zone':
      return i.agentAttributes?.zone;
    default:
      return i.agentAttributes?.[field];
  }
}

/** One GROUP_BY constraint's groups of instances (Marathon's `GroupByDistribution`). */
class Distribution {
  constructor(readonly groups: readonly Instance[][]) {}

  private sizes(without: ReadonlySet<string>): number[] {
    return this.groups.map((g) => g.filter((i) => !without.has(i.instanceId)).length);
  }

  difference(without: ReadonlySet<string> = new Set()): number {
    const sizes = this.sizes(without);
    return Math.max(...sizes) - Math.min(...sizes);
  }

  /** Diff after is 0 (perfect), 1 (tolerated), or smaller than before. */
  moreEvenWithout(selected: ReadonlySet<string>): boolean {
    const after = this.difference(selected);
    return after <= 1 || this.difference() > after;
  }

  /** The instances of the largest groups, unless all groups are the same size. */
  toKill(without: ReadonlySet<string>): Instance[] {
    const sizes = this.sizes(without);
    const max = Math.max(...sizes);
    if (sizes.every((s) => s === max)) return [];
    return this.groups.filter((_, k) => sizes[k] === max).flat().filter((i) => !without.has(i.instanceId));
  }
}

/**
 * Marathon's `Constraints.selectInstancesToKill`: up to `count` instances (in kill order
 * within a group) whose removal keeps every GROUP_BY constraint as even as possible.
 */
function selectToMeetConstraints(ordered: readonly Instance[], count: number, constraints: readonly (readonly string[])[]): Instance[] {
  if (count <= 0) return [];
  if (count >= ordered.length) return [...ordered];
  const distributions = constraints
    .filter((c) => (c[1] ?? '').toUpperCase() === 'GROUP_BY')
    .map((c) => {
      const groups = new Map<string | undefined, Instance[]>();
      for (const i of ordered) {
        const key = placedValue(i, c[0] ?? '');
        groups.set(key, [...(groups.get(key) ?? []), i]);
      }
      return new Distribution([...groups.values()]);
    });
  if (distributions.length === 0) return [];
  const chosen: Instance[] = [];
  const chosenIds = new Set<string>();
  while (chosen.length < count) {
    const tried = [...distributions]
      .sort((a, b) => b.difference(chosenIds) - a.difference(chosenIds))
      .flatMap((d) => d.toKill(chosenIds));
    tried.push(...ordered.filter((i) => !chosenIds.has(i.instanceId)));
    const next = tried.find((i) => {
      const withIt = new Set(chosenIds).add(i.instanceId);
      return distributions.every((d) => d.moreEvenWithout(withIt));
    });
    if (!next) break;
    chosen.push(next);
    chosenIds.add(next.instanceId);
  }
  return chosen;
}
