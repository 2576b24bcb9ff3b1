/**
 * The root group's app dependency graph, as Marathon's `RootGroup.dependencyGraph` builds
 * it, and the "layered" topological order the deployment planner deploys in
 * (`DeploymentPlan.runSpecsGroupedByLongestPath`).
 *
 * An edge `a → b` means "a depends on b". Edges come from an app's own `dependencies` and
 * from the `dependencies` of every group that contains it (transitively). A dependency
 * naming an app yields that app; one naming a group yields every app in that group.
 *
 * @module
 */
import type { AppDefinition, Group, PathId } from '../model/types.js';

/** Every app in `group` and its subgroups, depth first. */
export function transitiveApps(group: Group): AppDefinition[] {
  const out: AppDefinition[] = [...group.apps];
  for (const g of group.groups) out.push(...transitiveApps(g));
  return out;
}

/** Every group below (and including) `group`. */
function transitiveGroups(group: Group): Group[] {
  const out: Group[] = [group];
  for (const g of group.groups) out.push(...transitiveGroups(g));
  return out;
}

/** Map app id → app for the whole tree. */
export function appsById(root: Group): Map<PathId, AppDefinition> {
  return new Map(transitiveApps(root).map((a) => [a.id, a]));
}

/** App id → ids of the apps it depends on (deduplicated, never itself). */
export function dependencyGraph(root: Group): Map<PathId, Set<PathId>> {
  const apps = appsById(root);
  const groups = new Map(transitiveGroups(root).map((g) => [g.id, g]));
  const resolve = (dep: PathId): PathId[] => {
    if (apps.has(dep)) return [dep];
    const g = groups.get(dep);
    return g ? transitiveApps(g).map((a) => a.id) : [];
  };
  const edges = new Map<PathId, Set<PathId>>();
  const addEdges = (from: PathId, deps: readonly PathId[]): void => {
    let set = edges.get(from);
    if (!set) edges.set(from, (set = new Set()));
    for (const dep of deps) for (const to of resolve(dep)) if (to !== from) set.add(to);
  };
  for (const app of apps.values()) addEdges(app.id, app.dependencies);
  for (const g of groups.values()) {
    if (g.dependencies.length === 0) continue;
    for (const app of transitiveApps(g)) addEdges(app.id, g.dependencies);
  }
  return edges;
}

/**
 * Number of vertices on the longest dependency path starting at `id` (1 for an app without
 * dependencies). Cycles are rejected by validation before planning; here a vertex already on
 * the current path is not followed again, so a cycle cannot recurse forever.
 */
export function longestPathLength(
  graph: Map<PathId, Set<PathId>>,
  id: PathId,
  memo: Map<PathId, number> = new Map(),
): number {
  const visit = (v: PathId, onPath: Set<PathId>): number => {
    const known = memo.get(v);
    if (known !== undefined) return known;
    onPath.add(v);
    let longest = 0;
    for (const to of graph.get(v) ?? []) {
      if (onPath.has(to)) continue;
      longest = Math.max(longest, visit(to, onPath));
    }
    onPath.delete(v);
    memo.set(v, longest + 1);
    return longest + 1;
  };
  return visit(id, new Set());
}

/**
 * Groups `ids` (apps of `root`) into dependency levels: level k holds the apps whose longest
 * dependency path has k vertices, so every app's dependencies sit in earlier levels.
 * Levels are returned in ascending order; ids within a level are sorted.
 */
export function dependencyLevels(root: Group, ids: Iterable<PathId>): PathId[][] {
  const graph = dependencyGraph(root);
  const byLength = new Map<number, PathId[]>();
  const memo = new Map<PathId, number>();
  for (const id of ids) {
    const len = longestPathLength(graph, id, memo);
    const level = byLength.get(len) ?? [];
    level.push(id);
    byLength.set(len, level);
  }
  return [...byLength.keys()].sort((a, b) => a - b).map((k) => byLength.get(k)!.sort());
}
