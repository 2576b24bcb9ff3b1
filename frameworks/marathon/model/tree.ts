/**
 * Pure operations on the group tree. Every function returns a new tree (inputs are never
 * mutated); untouched subtrees are shared. Apps and groups keep Marathon's order of
 * insertion; lookups are by absolute id.
 *
 * @module
 */
import type { AppDefinition, Group, PathId, Timestamp } from './types.js';
import { isUnder, parentOf, pathSegments } from './ids.js';
import { scaleApp } from './app-update.js';

/** An empty root group at `version`. */
export function emptyRoot(version: Timestamp): Group {
  return { id: '/', apps: [], groups: [], dependencies: [], version };
}

/** The group with `id`, if any. */
export function findGroup(root: Group, id: PathId): Group | undefined {
  if (root.id === id) return root;
  for (const g of root.groups) {
    if (isUnder(id, g.id)) return findGroup(g, id);
  }
  return undefined;
}

/** The app with `id`, if any. */
export function findApp(root: Group, id: PathId): AppDefinition | undefined {
  return findGroup(root, parentOf(id))?.apps.find((a) => a.id === id);
}

/** Every app in the tree, depth first (a group's apps before its sub-groups'). */
export function allApps(root: Group): AppDefinition[] {
  return [...root.apps, ...root.groups.flatMap(allApps)];
}

/** Every group in the tree including `root`, depth first. */
export function allGroups(root: Group): Group[] {
  return [root, ...root.groups.flatMap(allGroups)];
}

/** Applies `fn` to the group at `id`, creating missing groups on the way (at `version`). */
function updateGroupAt(root: Group, id: PathId, fn: (g: Group) => Group, version?: Timestamp): Group {
  if (root.id === id) return fn(root);
  const rest = pathSegments(id).slice(pathSegments(root.id).length);
  const childId = (root.id === '/' ? '' : root.id) + '/' + rest[0]!;
  const existing = root.groups.find((g) => g.id === childId);
  const child = existing ?? { id: childId, apps: [], groups: [], dependencies: [], version: version ?? root.version };
  const updated = updateGroupAt(child, id, fn, version);
  const groups = existing ? root.groups.map((g) => (g === existing ? updated : g)) : [...root.groups, updated];
  return { ...root, groups, ...(version !== undefined ? { version } : {}) };
}

/**
 * Puts `app` into the tree (replacing the app with the same id), creating its parent groups.
 * Groups on the path get `version` when given.
 */
export function putApp(root: Group, app: AppDefinition, version?: Timestamp): Group {
  return updateGroupAt(root, parentOf(app.id), (g) => {
    const i = g.apps.findIndex((a) => a.id === app.id);
    const apps = i >= 0 ? g.apps.map((a, j) => (j === i ? app : a)) : [...g.apps, app];
    return { ...g, apps, ...(version !== undefined ? { version } : {}) };
  }, version);
}

/** Removes the app `id` (no-op when absent). */
export function removeApp(root: Group, id: PathId, version?: Timestamp): Group {
  if (!findApp(root, id)) return root;
  return updateGroupAt(root, parentOf(id), (g) => ({
    ...g, apps: g.apps.filter((a) => a.id !== id), ...(version !== undefined ? { version } : {}),
  }), version);
}

/** Puts `group` (with its subtree) at `group.id`, replacing any group there; `/` replaces the root. */
export function putGroup(root: Group, group: Group, version?: Timestamp): Group {
  if (group.id === '/') return group;
  return updateGroupAt(root, parentOf(group.id), (parent) => {
    const i = parent.groups.findIndex((g) => g.id === group.id);
    const groups = i >= 0 ? parent.groups.map((g, j) => (j === i ? group : g)) : [...parent.groups, group];
    return { ...parent, groups, ...(version !== undefined ? { version } : {}) };
  }, version);
}

/** Removes the group `id` and everything under it; removing `/` empties the root. */
export function removeGroup(root: Group, id: PathId, version?: Timestamp): Group {
  if (id === '/') return { ...root, apps: [], groups: [], ...(version !== undefined ? { version } : {}) };
  if (!findGroup(root, id)) return root;
  return updateGroupAt(root, parentOf(id), (parent) => ({
    ...parent, groups: parent.groups.filter((g) => g.id !== id), ...(version !== undefined ? { version } : {}),
  }), version);
}

/** Applies `fn` to every app under `groupId` (transitively). */
export function mapAppsUnder(root: Group, groupId: PathId, fn: (app: AppDefinition) => AppDefinition): Group {
  const mapAll = (g: Group): Group => ({ ...g, apps: g.apps.map(fn), groups: g.groups.map(mapAll) });
  if (!findGroup(root, groupId)) return root;
  return updateGroupAt(root, groupId, mapAll);
}

/**
 * Marathon's `scaleBy` on a group: every app under `groupId` gets
 * `ceil(instances × factor)` instances (a scaling change for versionInfo).
 */
export function scaleGroup(root: Group, groupId: PathId, factor: number, version?: Timestamp): Group {
  const v = version ?? root.version;
  const scaled = mapAppsUnder(root, groupId, (app) => scaleApp(app, Math.ceil(app.instances * factor), v));
  return version !== undefined ? setVersionOnPath(scaled, groupId, version) : scaled;
}

/** Sets `version` on `id`'s group and its ancestors. */
export function setVersionOnPath(root: Group, id: PathId, version: Timestamp): Group {
  return updateGroupAt(root, id, (g) => ({ ...g, version }), version);
}
