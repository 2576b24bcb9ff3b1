/**
 * The root group and the stored versions of groups and apps, in memory and write-through
 * to the store: reads are synchronous snapshots, {@link GroupRepository.commit} resolves once
 * the new root and every new app version are durable.
 *
 * @module
 */
import { findApp } from '../model/index.js';
import type { AppDefinition, Group, PathId, Timestamp } from '../model/types.js';
import { addVersion, MAX_APP_VERSIONS, MAX_GROUP_VERSIONS, type MarathonStore, type StoredState } from './store.js';

/** Every app of a group tree, depth first. */
export function appsIn(group: Group): AppDefinition[] {
  return [...group.apps, ...group.groups.flatMap(appsIn)];
}

/** The group with this id in a tree. */
export function groupIn(group: Group, id: PathId): Group | undefined {
  if (group.id === id) return group;
  for (const g of group.groups) {
    if (id === g.id || id.startsWith(g.id + '/')) {
      const found = groupIn(g, id);
      if (found) return found;
    }
  }
  return undefined;
}

/** The app with this id in a tree (found through its parent group, not by listing every app). */
export function appIn(group: Group, id: PathId): AppDefinition | undefined {
  return findApp(group, id);
}

export function emptyRoot(version: Timestamp): Group {
  return { id: '/', apps: [], groups: [], dependencies: [], version };
}

export class GroupRepository {
  private current: Group;
  private rootVersions: Group[];
  private readonly appVersionsById: Map<PathId, AppDefinition[]>;
  private appIndex = new Map<PathId, AppDefinition>();
  /** The apps sorted by id (GET /v2/apps lists them all on every request). */
  private sortedApps: AppDefinition[] = [];

  constructor(private readonly store: MarathonStore, state: StoredState, fallbackVersion: Timestamp) {
    this.current = state.root ?? emptyRoot(fallbackVersion);
    this.rootVersions = [...state.groupVersions];
    this.appVersionsById = new Map(state.appVersions);
    this.reindex();
  }

  root(): Group {
    return this.current;
  }

  /** Apps sorted by id. */
  apps(): AppDefinition[] {
    return this.sortedApps.slice();
  }

  app(id: PathId): AppDefinition | undefined {
    return this.appIndex.get(id);
  }

  group(id: PathId): Group | undefined {
    return groupIn(this.current, id);
  }

  /** Versions newest first. */
  appVersions(id: PathId): Timestamp[] | undefined {
    const versions = this.appVersionsById.get(id);
    if (versions === undefined || (versions.length === 0 && !this.appIndex.has(id))) return this.appIndex.has(id) ? [this.appIndex.get(id)!.version] : undefined;
    return versions.map((v) => v.version).reverse();
  }

  appVersion(id: PathId, version: Timestamp): AppDefinition | undefined {
    const current = this.appIndex.get(id);
    if (current?.version === version) return current;
    return this.appVersionsById.get(id)?.find((v) => v.version === version);
  }

  groupVersions(id: PathId): Timestamp[] | undefined {
    if (groupIn(this.current, id) === undefined) return undefined;
    const versions = this.rootVersions.filter((r) => groupIn(r, id) !== undefined).map((r) => groupIn(r, id)!.version);
    return [...new Set(versions)].sort().reverse();
  }

  groupVersion(id: PathId, version: Timestamp): Group | undefined {
    for (const r of [...this.rootVersions].reverse()) {
      const g = groupIn(r, id);
      if (g?.version === version) return g;
    }
    return undefined;
  }

  /** Makes `root` current: new app versions and the root persisted first. */
  async commit(root: Group): Promise<void> {
    for (const app of appsIn(root)) {
      const known = this.appVersionsById.get(app.id) ?? [];
      if (known.some((v) => v.version === app.version)) continue;
      await this.store.saveAppVersion(app);
      this.appVersionsById.set(app.id, addVersion(known, app, MAX_APP_VERSIONS));
    }
    await this.store.saveRoot(root);
    this.rootVersions = addVersion(this.rootVersions, root, MAX_GROUP_VERSIONS);
    this.current = root;
    this.reindex();
  }

  /** Forgets an app's versions once it is gone. */
  async forgetApp(id: PathId): Promise<void> {
    if (this.appIndex.has(id)) return; // re-created meanwhile
    await this.store.deleteApp(id);
    this.appVersionsById.delete(id);
  }

  private reindex(): void {
    this.appIndex = new Map(appsIn(this.current).map((a) => [a.id, a]));
    this.sortedApps = [...this.appIndex.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}
