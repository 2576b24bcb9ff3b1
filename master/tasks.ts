/**
 * Task state transitions on the model: adding a launched task, applying a status, retiring a
 * task into `completedTasks`, and the terminal-state counters.
 *
 * @module
 */
import { isTerminalState, type Resource, type TaskState, type TaskStatus } from '../sdk/protocol/index.js';
import { addResources, unallocateResources } from '../sdk/resources/index.js';
import { ValueInterner } from '../sdk/resources/intern.js';
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

/**
 * Resource lists and ids shared between tasks (every master of the process: the values are
 * immutable and equal, so sharing them across masters is harmless).
 */
const shared = new ValueInterner();

/**
 * Records a task and charges its resources to its agent and framework (if not terminal).
 * Its resource list and agent id are replaced by shared equal ones (in the task's TaskInfo
 * too): tasks launched alike hold one copy between them instead of one parsed copy each.
 * With `charge` false the caller charges them (with others, see accounting.ts `addUsedAll`).
 */
export function addTask(state: MasterState, task: TaskRecord, charge = true): void {
  const resources = shared.resourceList(task.resources);
  if (task.info.resources === task.resources) task.info.resources = resources;
  task.resources = resources;
  if (task.info.agent_id !== undefined) task.info.agent_id = shared.idRef(task.info.agent_id);
  let tasks = state.tasks.get(task.frameworkId);
  if (tasks === undefined) {
    tasks = new Map();
    state.tasks.set(task.frameworkId, tasks);
  }
  tasks.set(task.info.task_id.value, task);
  if (charge && holdsResources(task.state)) addUsed(state, task.frameworkId, task.agentId, task.resources);
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
 * Points a status's ids at equal ones the master already holds: `task_id` at the task's own,
 * `agent_id` and `executor_id` at shared ones. Each parsed update brought its own copies,
 * kept for as long as the task's status history: three small objects and their strings per
 * status. Only ids holding nothing but `value` are swapped, so the status serialises as before.
 */
export function shareStatusIds(task: TaskRecord, status: TaskStatus): void {
  const taskId = task.info.task_id;
  if (status.task_id !== taskId && status.task_id.value === taskId.value && isValueOnly(status.task_id) && isValueOnly(taskId)) status.task_id = taskId;
  if (status.agent_id !== undefined) status.agent_id = shared.idRef(status.agent_id);
  if (status.executor_id !== undefined) status.executor_id = shared.idRef(status.executor_id);
}

/** True when an id object holds `value` and nothing else. */
function isValueOnly(id: { value: string }): boolean {
  for (const k in id) if (k !== 'value') return false;
  return typeof id.value === 'string';
}

/**
 * Appends a status to the task's history (at most {@link MAX_STATUSES_PER_TASK}, oldest
 * dropped) and makes it the latest. The history is rebuilt at its exact length while short:
 * a push grows an array's backing store by 16 or more slots, held by every task for its life.
 */
export function recordStatus(task: TaskRecord, status: TaskStatus): void {
  shareStatusIds(task, status);
  const old = task.statuses;
  const n = old.length;
  if (n === 0) task.statuses = [status];
  else if (n === 1) task.statuses = [old[0]!, status];
  else if (n === 2) task.statuses = [old[0]!, old[1]!, status];
  else if (n === 3) task.statuses = [old[0]!, old[1]!, old[2]!, status];
  else {
    old.push(status);
    if (old.length > MAX_STATUSES_PER_TASK) old.splice(0, old.length - MAX_STATUSES_PER_TASK);
  }
  task.latestStatus = status;
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
 *
 * `release`, when given, takes the resources of a task that just ended instead of releasing
 * them from its agent and framework here (framework removal sums them per agent).
 */
export function applyStatus(state: MasterState, task: TaskRecord, status: TaskStatus, latestState?: TaskState, release?: (task: TaskRecord) => void): boolean {
  recordStatus(task, status);
  if (status.uuid !== undefined) task.unacknowledgedUuid = status.uuid;
  if (isTerminalState(task.state)) return false;
  const held = holdsResources(task.state);
  const next = latestState ?? status.state;
  task.state = next;
  if (next !== 'TASK_UNREACHABLE') task.unreachableSince = undefined;
  if (isTerminalState(next)) {
    if (held) {
      if (release !== undefined) release(task);
      else releaseUsed(state, task.frameworkId, task.agentId, task.resources);
    }
    countTerminal(state.counters, next);
    return true;
  }
  if (next === 'TASK_UNREACHABLE') countTerminal(state.counters, next);
  return false;
}

/**
 * Ends and retires many tasks of one framework at once (framework removal): every task not
 * yet terminal gets `statusOf(task)` (a terminal status), as {@link applyStatus} would give
 * it, then all move to `completedTasks` as {@link completeTask} would move them, one by one.
 * The result is the same; the work is not: the resources are released once per agent (the
 * sum of its tasks') rather than once per task, and `completedTasks` is trimmed once. Per task,
 * each release replaced its agent's `used` list, which then lived until that agent's next
 * task came up: with thousands of tasks, megabytes of lists that survived young-generation
 * collections only to die later (and a trim of the 1000-entry list per task).
 */
export function retireTasks(state: MasterState, frameworkId: string, tasks: readonly TaskRecord[], statusOf: (task: TaskRecord) => TaskStatus): void {
  const releases = new Map<string, Resource[]>();
  // What applyStatus would release now, summed per agent and released below.
  const collect = (task: TaskRecord): void => {
    const held = releases.get(task.agentId);
    const own = unallocateResources(task.resources);
    releases.set(task.agentId, held === undefined ? own : addResources(held, own));
  };
  for (const task of tasks) {
    if (!isTerminalState(task.state)) applyStatus(state, task, statusOf(task), undefined, collect);
    completeTask(state, task, false);
  }
  for (const [agentId, resources] of releases) releaseUsed(state, frameworkId, agentId, resources);
  trimCompletedTasks(state);
}

/** Keeps the newest {@link MAX_COMPLETED_TASKS} of `completedTasks`. */
function trimCompletedTasks(state: MasterState): void {
  if (state.completedTasks.length > MAX_COMPLETED_TASKS) {
    state.completedTasks.splice(0, state.completedTasks.length - MAX_COMPLETED_TASKS);
  }
}

/**
 * Moves a task out of `tasks` into the bounded `completedTasks`, releasing resources if it
 * still held them. `trim: false` leaves the bound to the caller (who trims once after many).
 */
export function completeTask(state: MasterState, task: TaskRecord, trim = true): void {
  const tasks = state.tasks.get(task.frameworkId);
  if (tasks?.get(task.info.task_id.value) === task) {
    tasks.delete(task.info.task_id.value);
    if (tasks.size === 0) state.tasks.delete(task.frameworkId);
  }
  if (holdsResources(task.state)) {
    releaseUsed(state, task.frameworkId, task.agentId, task.resources);
  }
  state.completedTasks.push(task);
  if (trim) trimCompletedTasks(state);
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
  recordStatus(task, status);
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
