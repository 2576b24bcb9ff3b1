/**
 * Whole-tree checks Marathon runs on the root group before accepting a change
 * (state/RootGroup.scala `validRootGroup`, state/Group.scala `validGroup`).
 *
 * @module
 */
import type { AppDefinition, Group, PathId } from './types.js';
import type { ErrorDetail } from './json-read.js';
import { allApps, allGroups } from './tree.js';
import { isUnder } from './ids.js';

export const GROUP_MESSAGES = {
  sameId: 'Groups and Applications may not have the same identifier.',
  cycle: 'Dependency graph has cyclic dependencies.',
} as const;

/** Options for {@link validateRoot}. */
export interface ValidateRootOptions {
  /**
   * Also report dependencies that name no app or group. Marathon 1.10 does not (a missing
   * dependency is ignored by the deployment order), so this is off by default.
   */
  requireDependencies?: boolean;
}

/**
 * The apps each app depends on: its own dependencies and those of its ancestor groups, each
 * naming an app or every app under a group (Marathon's `RootGroup.dependencyGraph`).
 */
export function dependencyEdges(root: Group): Map<PathId, Set<PathId>> {
  const apps = allApps(root);
  const groups = allGroups(root);
  const appIds = new Set(apps.map((a) => a.id));
  const groupById = new Map(groups.map((g) => [g.id, g]));
  const targets = (dep: PathId): PathId[] => {
    if (appIds.has(dep)) return [dep];
    const g = groupById.get(dep);
    return g ? allApps(g).map((a) => a.id) : [];
  };
  const edges = new Map<PathId, Set<PathId>>();
  for (const app of apps) edges.set(app.id, new Set(app.dependencies.flatMap(targets)));
  for (const g of groups) {
    if (g.dependencies.length === 0) continue;
    const deps = g.dependencies.flatMap(targets);
    for (const app of allApps(g)) for (const d of deps) edges.get(app.id)!.add(d);
  }
  return edges;
}

/** True when the dependency graph has a cycle (including an app depending on itself). */
export function hasCycle(edges: Map<PathId, Set<PathId>>): boolean {
  const state = new Map<PathId, 1 | 2>();
  const visit = (id: PathId): boolean => {
    const s = state.get(id);
    if (s === 1) return true;
    if (s === 2) return false;
    state.set(id, 1);
    for (const d of edges.get(id) ?? []) if (visit(d)) return true;
    state.set(id, 2);
    return false;
  };
  return [...edges.keys()].some(visit);
}

/** Whole-tree validation of a root group; returns Marathon-style details (empty when valid). */
export function validateRoot(root: Group, opts: ValidateRootOptions = {}): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  const groups = allGroups(root);
  const groupIds = new Set(groups.map((g) => g.id));
  const seenApps = new Map<PathId, AppDefinition>();
  const seenGroups = new Set<PathId>();
  for (const g of groups) {
    if (seenGroups.has(g.id)) details.push({ path: '/', errors: [`Group '${g.id}' is defined more than once`] });
    seenGroups.add(g.id);
    for (const child of g.groups) {
      if (!isUnder(child.id, g.id) || child.id === g.id) details.push({ path: '/', errors: [`Identifier is not child of '${g.id}'`] });
    }
  }
  for (const app of allApps(root)) {
    if (seenApps.has(app.id)) details.push({ path: '/', errors: [`App '${app.id}' is defined more than once`] });
    seenApps.set(app.id, app);
    if (groupIds.has(app.id)) details.push({ path: '/', errors: [GROUP_MESSAGES.sameId] });
  }
  if (opts.requireDependencies) {
    const known = new Set([...seenApps.keys(), ...groupIds]);
    for (const app of seenApps.values()) {
      for (const d of app.dependencies) {
        if (!known.has(d)) details.push({ path: '/', errors: [`Dependency '${d}' of '${app.id}' does not exist`] });
      }
    }
  }
  if (hasCycle(dependencyEdges(root))) details.push({ path: '/', errors: [GROUP_MESSAGES.cycle] });
  details.push(...servicePortConflicts(root));
  return dedupe(details);
}

/** Explicit (non-zero) service ports of container port mappings must not clash across apps. */
function servicePortConflicts(root: Group): ErrorDetail[] {
  const owner = new Map<number, PathId>();
  const out: ErrorDetail[] = [];
  for (const app of allApps(root)) {
    const mappings = (app.container?.['portMappings'] as Array<{ servicePort?: number }> | undefined) ?? [];
    for (const m of mappings) {
      const p = m.servicePort ?? 0;
      if (p === 0) continue;
      const other = owner.get(p);
      if (other !== undefined && other !== app.id) {
        out.push({ path: '/', errors: [`Requested service port ${p} conflicts with a service port in app ${other}`] });
      } else owner.set(p, app.id);
    }
  }
  return out;
}

function dedupe(details: ErrorDetail[]): ErrorDetail[] {
  const byPath = new Map<string, string[]>();
  for (const d of details) {
    const list = byPath.get(d.path) ?? [];
    for (const e of d.errors) if (!list.includes(e)) list.push(e);
    byPath.set(d.path, list);
  }
  return [...byPath].map(([path, errors]) => ({ path, errors }));
}
