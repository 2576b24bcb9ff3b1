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
