/**
 * Dominant Resource Fairness arithmetic (Ghodsi et al., NSDI 2011), as Mesos's DRF sorter
 * does it: a framework's share of a resource is what it is allocated over the cluster's
 * total, and its dominant share is the largest of those. Only scalar resources count
 * (cpus, mem, disk, gpus, custom scalars), like Mesos's sorter, so that port ranges do not
 * dominate.
 *
 * @module
 */
import type { Resource } from '../../sdk/protocol/index.js';
import { resourceTotals } from '../../sdk/resources/index.js';

/** Name → summed quantity of the SCALAR resources in `rs` (any role or reservation). */
export function scalarTotals(rs: readonly Resource[]): Map<string, number> {
  return resourceTotals(rs.filter((r) => r.type === 'SCALAR'));
}

/**
 * max over resource names of `allocated / total`; names the cluster has none of are
 * ignored. 0 for a framework with nothing allocated.
 *
 * @example
 * dominantShare(new Map([['cpus', 1], ['mem', 512]]), new Map([['cpus', 4], ['mem', 1024]])) // 0.5
 */
export function dominantShare(allocated: ReadonlyMap<string, number>, totals: ReadonlyMap<string, number>): number {
  let share = 0;
  for (const [name, amount] of allocated) {
    const total = totals.get(name) ?? 0;
    if (total > 0 && amount / total > share) share = amount / total;
  }
  return share;
}

/**
 * The cluster's scalar totals (the DRF denominators) as a vector, with a name → position
 * index, so a pass keeps each framework's allocation as numbers in an array instead of a
 * map: a pass updates one framework's allocation and share per agent.
 */
export class ScalarVector {
  /** Resource names, in first-seen order. */
  readonly names: string[] = [];
  private readonly positions = new Map<string, number>();

  /** The position of `name`, or -1 when the cluster has none of it. */
  indexOf(name: string): number {
    // Clusters have a handful of scalar names: a scan of them beats a map lookup.
    const names = this.names;
    if (names.length <= 8) {
      for (let i = 0; i < names.length; i++) if (names[i] === name) return i;
      return -1;
    }
    return this.positions.get(name) ?? -1;
  }

  /** The position of `name`, adding it when new. */
  intern(name: string): number {
    const i = this.indexOf(name);
    if (i >= 0) return i;
    this.names.push(name);
    this.positions.set(name, this.names.length - 1);
    return this.names.length - 1;
  }
}

/**
 * {@link dominantShare} over vectors: max over positions of `allocated[i] / totals[i]`, where
 * `totals[i] > 0`. The same value as the map form (the maximum does not depend on the order,
 * and names missing from either side contribute nothing there either).
 */
export function dominantShareOf(allocated: Float64Array, totals: Float64Array): number {
  let share = 0;
  for (let i = 0; i < totals.length; i++) {
    const total = totals[i]!;
    if (total > 0 && allocated[i]! / total > share) share = allocated[i]! / total;
  }
  return share;
}
