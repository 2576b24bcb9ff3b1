/**
 * Task state transitions on the model: adding a launched task, applying a status, retiring a
 * task into `completedTasks`, and the terminal-state counters.
 *
 * @module
 */
import { isTerminalState, type TaskState, type TaskStatus } from '../sdk/protocol/index.js';
import { releaseUsed, addUsed } from './accounting.js';
import {
  MAX_COMPLETED_TASKS, MAX_UNREACHABLE_TASKS_PER_FRAMEWORK, type FrameworkRecord, type MasterCounters,
  type MasterState, type TaskRecord,
} from './model.js';

/** Statuses remembered per task (oldest dropped first). */
export const MAX_STATUSES_PER_TASK = 50;

export function isPartitionAware(fw: FrameworkRecord | undefined): boolean {
  return fw?.capabilities.has('PARTITION_AWARE') ?? false;
}

export function getTask(state: MasterState, frameworkId: string, taskId: string): TaskRecord | undefined {
  return state.tasks.get(frameworkId)?.get(taskId);
}

/**
 * True when a task in `state` holds resources on its agent: launched and not terminal, and
 * not TASK_UNREACHABLE (its agent was removed; Mesos frees those resources too).
 */
export function holdsResources(state: TaskState): boolean {
  return !isTerminalState(state) && state !== 'TASK_UNREACHABLE';
}

/** Records a task and charges its resources to its agent and framework (if not terminal). */
export function addTask(state: MasterState, task: TaskRecord): void {
  let tasks = state.tasks.get(task.frameworkId);
  if (tasks === undefined) {
    tasks = new Map();
    state.tasks.set(task.frameworkId, tasks);
  }
  tasks.set(task.info.task_id.value, task);
  if (holdsResources(task.state)) addUsed(state, task.frameworkId, task.agentId, task.resources);
}

/** Bumps the counter of a terminal state (`/metrics/snapshot` master/tasks_*). */
export function countTerminal(counters: MasterCounters, state: TaskState): void {
  switch (state) {
    case 'TASK_FINISHED': counters.tasksFinished++; break;
    case 'TASK_FAILED': counters.tasksFailed++; break;
    case 'TASK_KILLED': counters.tasksKilled++; break;
    case 'TASK_LOST': counters.tasksLost++; break;
    case 'TASK_ERROR': counters.tasksError++; break;
    case 'TASK_DROPPED': counters.tasksDropped++; break;
    case 'TASK_GONE':
    case 'TASK_GONE_BY_OPERATOR': counters.tasksGone++; break;
    case 'TASK_UNREACHABLE': counters.tasksUnreachable++; break;
    default: break;
  }
}

/**
 * Applies a status to a task. A terminal task keeps its state (Mesos ignores transitions out
 * of a terminal state) but the status is still recorded. Returns true when the task just
 * became terminal, in which case its resources were released.
 *
 * `latestState` is the update's `latest_state` (Mesos `Master::updateTask`): the state of the
 * newest update the slave holds behind this one. The task takes that state, so a task that
 * already ended frees its resources now, while the framework still gets its updates in order
 * (`latestStatus` stays the status forwarded).
 */
export function applyStatus(state: MasterState, task: TaskRecord, status: TaskStatus, latestState?: TaskState): boolean {
  task.statuses.push(status);
  if (task.statuses.length > MAX_STATUSES_PER_TASK) task.statuses.splice(0, task.statuses.length - MAX_STATUSES_PER_TASK);
  task.latestStatus = status;
  if (status.uuid !== undefined) task.unacknowledgedUuid = status.uuid;
  if (isTerminalState(task.state)) return false;
  const held = holdsResources(task.state);
  const next = latestState ?? status.state;
  task.state = next;
  if (next !== 'TASK_UNREACHABLE') task.unreachableSince = undefined;
  if (isTerminalState(next)) {
    if (held) releaseUsed(state, task.frameworkId, task.agentId, task.resources);
    countTerminal(state.counters, next);
    return true;
  }
  if (next === 'TASK_UNREACHABLE') countTerminal(state.counters, next);
  return false;
}

/** Moves a task out of `tasks` into the bounded `completedTasks`, releasing resources if it still held them. */
export function completeTask(state: MasterState, task: TaskRecord): void {
  const tasks = state.tasks.get(task.frameworkId);
  if (tasks?.get(task.info.task_id.value) === task) {
    tasks.delete(task.info.task_id.value);
    if (tasks.size === 0) state.tasks.delete(task.frameworkId);
  }
  if (holdsResources(task.state)) {
    releaseUsed(state, task.frameworkId, task.agentId, task.resources);
  }
  state.completedTasks.push(task);
  if (state.completedTasks.length > MAX_COMPLETED_TASKS) {
    state.completedTasks.splice(0, state.completedTasks.length - MAX_COMPLETED_TASKS);
  }
}

/** Every task of every framework on one agent. */
export function tasksOnAgent(state: MasterState, agentId: string): TaskRecord[] {
  const out: TaskRecord[] = [];
  for (const tasks of state.tasks.values()) for (const t of tasks.values()) if (t.agentId === agentId) out.push(t);
  return out;
}

/**
 * The task's agent was marked unreachable (Mesos `markUnreachable`): `status` (TASK_UNREACHABLE
 * or, for a framework that is not partition-aware, TASK_LOST) is recorded, the task frees its
 * resources and stays known as TASK_UNREACHABLE — whatever the framework was told — so that
 * reconciliation, `/master/state` and `/master/tasks` show it and it can be restored when the
 * agent re-registers. At most {@link MAX_UNREACHABLE_TASKS_PER_FRAMEWORK} per framework are
 * kept (the oldest are forgotten).
 */
export function markTaskUnreachable(state: MasterState, task: TaskRecord, status: TaskStatus, since: number): void {
  task.statuses.push(status);
  if (task.statuses.length > MAX_STATUSES_PER_TASK) task.statuses.splice(0, task.statuses.length - MAX_STATUSES_PER_TASK);
  task.latestStatus = status;
  if (holdsResources(task.state)) releaseUsed(state, task.frameworkId, task.agentId, task.resources);
  task.state = 'TASK_UNREACHABLE';
  task.unreachableSince = since;
  countTerminal(state.counters, status.state);
  const tasks = state.tasks.get(task.frameworkId);
  if (tasks === undefined) return;
  const unreachable = [...tasks.values()].filter((t) => t.state === 'TASK_UNREACHABLE');
  if (unreachable.length <= MAX_UNREACHABLE_TASKS_PER_FRAMEWORK) return;
  unreachable.sort((a, b) => (a.unreachableSince ?? 0) - (b.unreachableSince ?? 0));
  for (const old of unreachable.slice(0, unreachable.length - MAX_UNREACHABLE_TASKS_PER_FRAMEWORK)) tasks.delete(old.info.task_id.value);
}

/** Forgets the unreachable tasks of agents the registry GC dropped; returns how many. */
export function forgetUnreachableTasks(state: MasterState, agentIds: ReadonlySet<string>): number {
  let n = 0;
  for (const [frameworkId, tasks] of state.tasks) {
    for (const [taskId, task] of tasks) {
      if (task.state === 'TASK_UNREACHABLE' && agentIds.has(task.agentId)) {
        tasks.delete(taskId);
        n++;
      }
    }
    if (tasks.size === 0) state.tasks.delete(frameworkId);
  }
  return n;
}
