/**
 * What Marathon keeps across restarts, behind one small interface with a file and an
 * in-memory implementation (and, in the HA issue, ZooKeeper). Every `save…`/`delete…`
 * resolves only once the change is durable, so the engine can answer the HTTP request.
 *
 * @module
 */
import type { AppDefinition, DeploymentPlan, Group, Instance, PathId, TaskFailure, Timestamp } from '../model/types.js';

/** How many versions of one app are kept (Marathon's `--max_versions` default is 50). */
export const MAX_APP_VERSIONS = 50;
/** How many versions of the root group are kept. */
export const MAX_GROUP_VERSIONS = 50;

/** Everything the store holds, as {@link MarathonStore.load} returns it. */
export interface StoredState {
  frameworkId?: string;
  /** The current root group (absent on a fresh store). */
  root?: Group;
  /** Stored root group versions, oldest first. */
  groupVersions: Group[];
  /** Stored versions per app, oldest first (at most {@link MAX_APP_VERSIONS}). */
  appVersions: Map<PathId, AppDefinition[]>;
  /** Deployments still in flight. */
  deployments: DeploymentPlan[];
  instances: Instance[];
  /** The last task failure per app (GET /v2/apps/{id} → lastTaskFailure). */
  taskFailures: TaskFailure[];
}

/** Marathon's persistent state. Implementations: {@link FileStore}, {@link MemoryStore}. */
export interface MarathonStore {
  load(): Promise<StoredState>;
  saveFrameworkId(id: string): Promise<void>;
  /** Saves the root group as current and as a version (pruned to {@link MAX_GROUP_VERSIONS}). */
  saveRoot(root: Group): Promise<void>;
  /** Adds a version of an app (same version twice replaces it); keeps the newest {@link MAX_APP_VERSIONS}. */
  saveAppVersion(app: AppDefinition): Promise<void>;
  /** Remembers the app's last task failure (replacing the previous one). */
  saveTaskFailure(failure: TaskFailure): Promise<void>;
  /** Forgets every version and the last task failure of an app (the app was deleted). */
  deleteApp(id: PathId): Promise<void>;
  saveDeployment(plan: DeploymentPlan): Promise<void>;
  deleteDeployment(id: string): Promise<void>;
  saveInstance(instance: Instance): Promise<void>;
  deleteInstance(instanceId: string): Promise<void>;
  close(): Promise<void>;
}

/** Inserts `item` into versions sorted oldest first by `version`, replacing an equal version, pruned to `max`. */
export function addVersion<T extends { version: Timestamp }>(versions: readonly T[], item: T, max: number): T[] {
  const kept = versions.filter((v) => v.version !== item.version);
  kept.push(item);
  kept.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  return kept.slice(Math.max(0, kept.length - max));
}
