/**
 * The instance tracker: every instance Marathon knows, by id, by app and by task id;
 * applies Mesos status updates (condition, health, agent), persists each change before
 * announcing it, remembers the last task failure per app, and publishes
 * `status_update_event` and `instance_changed_event`.
 *
 * The tracker only records; deciding what to do about a change is the listeners' job
 * (self-healing, the deployment executor).
 *
 * @module
 */
import type { Clock } from '../../../sdk/core/clock.js';
import type { TaskStatus } from '../../../sdk/protocol/index.js';
import type { Instance, PathId, TaskFailure } from '../model/types.js';
import { conditionOf, isFailureCondition, isTerminalCondition } from './conditions.js';
import type { EventBus } from './event-bus.js';
import { instanceChangedEvent, statusUpdateEvent } from './events.js';
import type { MarathonStore } from './store.js';
import { isoOf } from './time.js';

/** What changed about an instance. `previous` is undefined for a new instance; `current` undefined once expunged. */
export interface InstanceChange {
  previous?: Instance;
  current?: Instance;
  instanceId: string;
  appId: PathId;
  /** The status update behind the change, if any. */
  status?: TaskStatus;
}

export class InstanceTracker {
  private readonly byId = new Map<string, Instance>();
  private readonly byTask = new Map<string, string>();
  private readonly byApp = new Map<PathId, Map<string, Instance>>();
  private readonly failures = new Map<PathId, TaskFailure>();
  private readonly listeners = new Set<(change: InstanceChange) => void>();

  constructor(
    private readonly store: MarathonStore,
    private readonly bus: EventBus,
    private readonly clock: Clock,
  ) {}

  /** Loads instances and task failures from the store at start (no events). */
  restore(instances: readonly Instance[], failures: readonly TaskFailure[] = []): void {
    for (const i of instances) this.index(i);
    for (const f of failures) this.failures.set(f.appId, f);
  }

  /** Called after every persisted change. */
  onChange(listener: (change: InstanceChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get(instanceId: string): Instance | undefined {
    return this.byId.get(instanceId);
  }

  byTaskId(taskId: string): Instance | undefined {
    const id = this.byTask.get(taskId);
    return id === undefined ? undefined : this.byId.get(id);
  }

  /** Instances of an app. */
  ofApp(appId: PathId): Instance[] {
    return [...(this.byApp.get(appId)?.values() ?? [])];
  }

  all(): Instance[] {
    return [...this.byId.values()];
  }

  lastTaskFailure(appId: PathId): TaskFailure | undefined {
    return this.failures.get(appId);
  }

  forgetApp(appId: PathId): void {
    this.failures.delete(appId);
  }

  /** Adds or replaces an instance (persisted first). */
  async put(instance: Instance): Promise<void> {
    const previous = this.byId.get(instance.instanceId);
    await this.store.saveInstance(instance);
    this.recordPut(instance, previous);
  }

  /**
   * Adds or replaces several instances: all are written to the store together (one write
   * after another made scheduling 1,000 instances take seconds), then indexed and announced
   * in the order given. Rejects, changing nothing in memory, if a write fails.
   */
  async putAll(instances: readonly Instance[]): Promise<void> {
    const previous = instances.map((i) => this.byId.get(i.instanceId));
    await Promise.all(instances.map((i) => this.store.saveInstance(i)));
    instances.forEach((i, n) => this.recordPut(i, previous[n]));
  }

  private recordPut(instance: Instance, previous: Instance | undefined): void {
    this.index(instance, previous);
    if (previous?.condition !== instance.condition || previous?.goal !== instance.goal) {
      this.bus.publish(instanceChangedEvent(instance, isoOf(this.clock.now())));
    }
    this.emit({ previous, current: instance, instanceId: instance.instanceId, appId: instance.appId });
  }

  /** Changes fields of an instance (persisted first). Returns the new instance, undefined if unknown. */
  async update(instanceId: string, patch: Partial<Instance>): Promise<Instance | undefined> {
    const previous = this.byId.get(instanceId);
    if (previous === undefined) return undefined;
    const current: Instance = { ...previous, ...patch };
    await this.put(current);
    return current;
  }

  /** Forgets an instance for good (persisted first). */
  async expunge(instanceId: string): Promise<void> {
    const previous = this.byId.get(instanceId);
    if (previous === undefined) return;
    await this.store.deleteInstance(instanceId);
    this.byId.delete(instanceId);
    const ofApp = this.byApp.get(previous.appId);
    ofApp?.delete(instanceId);
    if (ofApp?.size === 0) this.byApp.delete(previous.appId);
    if (this.byTask.get(previous.taskId) === instanceId) this.byTask.delete(previous.taskId);
    this.emit({ previous, instanceId, appId: previous.appId });
  }

  /**
   * Applies a Mesos status update to the instance owning the task. Returns the change, or
   * undefined when no instance has this task (the caller decides what to do with it).
   */
  async applyStatus(status: TaskStatus): Promise<InstanceChange | undefined> {
    const previous = this.byTaskId(status.task_id.value);
    if (previous === undefined) return undefined;
    const now = this.clock.now();
    const condition = conditionOf(status.state);
    const current: Instance = { ...previous, condition, mesosState: status.state };
    if (status.agent_id !== undefined) current.agentId = status.agent_id.value;
    if (status.message !== undefined) current.message = status.message;
    if (status.healthy !== undefined) current.healthy = status.healthy;
    if (condition === 'Running' && previous.startedAt === undefined) current.startedAt = isoOf(now);
    if (condition === 'Running' || condition === 'Staging' || condition === 'Starting') delete current.unreachableSince;
    if (condition === 'Unreachable') {
      const since = status.unreachable_time !== undefined ? Number(status.unreachable_time.nanoseconds) / 1e6 : now;
      // Keep the first time it went unreachable (and the inactive mark once given).
      if (previous.condition === 'UnreachableInactive') current.condition = 'UnreachableInactive';
      current.unreachableSince = previous.unreachableSince ?? isoOf(since);
    }
    if (condition !== 'Running') delete current.ready;
    if (isTerminalCondition(condition) && isFailureCondition(condition) && previous.goal === 'Running') {
      const failure: TaskFailure = {
        appId: previous.appId,
        host: previous.host ?? '',
        message: status.message ?? '',
        state: status.state,
        taskId: status.task_id.value,
        timestamp: isoOf(now),
        version: previous.runSpecVersion,
        ...(previous.agentId !== undefined ? { slaveId: previous.agentId } : {}),
      };
      await this.store.saveTaskFailure(failure);
      this.failures.set(previous.appId, failure);
    }
    const changed = previous.condition !== current.condition || previous.healthy !== current.healthy
      || previous.agentId !== current.agentId || previous.mesosState !== current.mesosState;
    if (changed) {
      await this.store.saveInstance(current);
      this.index(current, previous);
    }
    this.bus.publish(statusUpdateEvent(status, current, isoOf(now)));
    if (previous.condition !== current.condition) this.bus.publish(instanceChangedEvent(current, isoOf(now)));
    const change = { previous, current, instanceId: current.instanceId, appId: current.appId, status };
    if (changed) this.emit(change);
    return change;
  }

  private index(instance: Instance, previous?: Instance): void {
    if (previous !== undefined && previous.taskId !== instance.taskId && this.byTask.get(previous.taskId) === instance.instanceId) {
      this.byTask.delete(previous.taskId);
    }
    this.byId.set(instance.instanceId, instance);
    let ofApp = this.byApp.get(instance.appId);
    if (ofApp === undefined) {
      ofApp = new Map();
      this.byApp.set(instance.appId, ofApp);
    }
    ofApp.set(instance.instanceId, instance);
    if (instance.taskId !== '') this.byTask.set(instance.taskId, instance.instanceId);
  }

  private emit(change: InstanceChange): void {
    for (const l of [...this.listeners]) l(change);
  }
}
