/**
 * The in-memory {@link MarathonStore} (tests, embedded use). Values are deep-copied on the
 * way in and out, so callers can never mutate what is "persisted".
 *
 * @module
 */
import type { AppDefinition, DeploymentPlan, Group, Instance, PathId, TaskFailure } from '../model/types.js';
import { addVersion, MAX_APP_VERSIONS, MAX_GROUP_VERSIONS, type MarathonStore, type StoredState } from './store.js';

export class MemoryStore implements MarathonStore {
  private frameworkId: string | undefined;
  private root: Group | undefined;
  private groupVersions: Group[] = [];
  private readonly appVersions = new Map<PathId, AppDefinition[]>();
  private readonly deployments = new Map<string, DeploymentPlan>();
  private readonly instances = new Map<string, Instance>();
  private readonly failures = new Map<PathId, TaskFailure>();

  async load(): Promise<StoredState> {
    return structuredClone({
      ...(this.frameworkId !== undefined ? { frameworkId: this.frameworkId } : {}),
      ...(this.root !== undefined ? { root: this.root } : {}),
      groupVersions: this.groupVersions,
      appVersions: new Map(this.appVersions),
      deployments: [...this.deployments.values()],
      instances: [...this.instances.values()],
      taskFailures: [...this.failures.values()],
    });
  }

  async saveFrameworkId(id: string): Promise<void> {
    this.frameworkId = id;
  }

  async saveRoot(root: Group): Promise<void> {
    this.root = structuredClone(root);
    this.groupVersions = addVersion(this.groupVersions, this.root, MAX_GROUP_VERSIONS);
  }

  async saveAppVersion(app: AppDefinition): Promise<void> {
    this.appVersions.set(app.id, addVersion(this.appVersions.get(app.id) ?? [], structuredClone(app), MAX_APP_VERSIONS));
  }

  async saveTaskFailure(failure: TaskFailure): Promise<void> {
    this.failures.set(failure.appId, structuredClone(failure));
  }

  async deleteApp(id: PathId): Promise<void> {
    this.appVersions.delete(id);
    this.failures.delete(id);
  }

  async saveDeployment(plan: DeploymentPlan): Promise<void> {
    this.deployments.set(plan.id, structuredClone(plan));
  }

  async deleteDeployment(id: string): Promise<void> {
    this.deployments.delete(id);
  }

  async saveInstance(instance: Instance): Promise<void> {
    this.instances.set(instance.instanceId, structuredClone(instance));
  }

  async deleteInstance(instanceId: string): Promise<void> {
    this.instances.delete(instanceId);
  }

  async close(): Promise<void> {
    // nothing to release
  }
}
