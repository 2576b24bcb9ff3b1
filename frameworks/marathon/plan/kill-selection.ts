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
 * Picks `count` instances to kill from `instances`, in kill order. Only instances whose goal
 * is still `Running` are candidates (others are already being stopped).
 *
 * @example
 * selectInstancesToKill(instances, 2, app.killSelection) // the 2 instances to decommission
 */
export function selectInstancesToKill(instances: readonly Instance[], count: number, killSelection: KillSelection): Instance[] {
  if (count <= 0) return [];
  return instances
    .filter((i) => i.goal === 'Running')
    .sort(killOrder(killSelection))
    .slice(0, count);
}
