/**
 * What the slave knows about frameworks, executors and tasks. Plain data mutated only by
 * {@link ExecutorManager}; read by the `/state` renderer.
 *
 * @module
 */
import type { TimerHandle } from '../sdk/core/clock.js';
import type { StatusUpdate } from '../sdk/protocol/agent.js';
import type { ExecutorEvent } from '../sdk/protocol/executor.js';
import type {
  ExecutorInfo, FrameworkInfo, KillPolicy, TaskInfo, TaskState, TaskStatus, TaskStatusReason,
} from '../sdk/protocol/mesos.js';
import type { ContainerProcess, ExitInfo } from './containerizer.js';

/** `command`: the built-in executor for TaskInfo.command tasks; `default`: the built-in one for task groups; `custom`: ExecutorInfo.command. */
export type ExecutorKind = 'command' | 'default' | 'custom';

/**
 * `launching` (sandbox, fetch) → `registering` (process started, waiting for SUBSCRIBE)
 * → `running` (subscribed) → `terminating` (SHUTDOWN sent / being killed) → `terminated`.
 */
export type ExecutorState = 'launching' | 'registering' | 'running' | 'terminating' | 'terminated';

/** `queued` until delivered to the executor, `launched` once delivered, `terminated` after a terminal update (until it is acknowledged: then the task moves to `completedTasks`). */
export type TaskPhase = 'queued' | 'launched' | 'terminated';

export interface SlaveTask {
  info: TaskInfo;
  frameworkId: string;
  executorId: string;
  phase: TaskPhase;
  /** Latest state reported (TASK_STAGING until the executor says otherwise). */
  state: TaskState;
  /** Status history, oldest first (bounded). */
  statuses: TaskStatus[];
}

/** A launch waiting for its executor to subscribe: a single task or a whole group. */
export type QueuedLaunch = { kind: 'task'; taskId: string } | { kind: 'group'; taskIds: string[] };

/** Why the slave is terminating an executor; the state its unfinished tasks get. */
export interface PendingTermination {
  state: TaskState;
  reason: TaskStatusReason;
  message: string;
}

/** The connection an executor subscribed with (the SUBSCRIBE response stream). */
export interface ExecutorStream {
  send(event: ExecutorEvent): void;
  end(): void;
  readonly closed: boolean;
}

export interface SlaveExecutor {
  id: string;
  frameworkId: string;
  info: ExecutorInfo;
  kind: ExecutorKind;
  containerId: string;
  directory: string;
  state: ExecutorState;
  /** Tasks in every phase but completed, by task id. */
  tasks: Map<string, SlaveTask>;
  queue: QueuedLaunch[];
  completedTasks: SlaveTask[];
  /** Kills asked for while the executor was disconnected; sent when it re-subscribes. */
  pendingKills: { taskId: string; killPolicy?: KillPolicy }[];
  process?: ContainerProcess;
  stream?: ExecutorStream;
  /** True once the sandbox/fetch/spawn sequence was started. */
  launchStarted: boolean;
  /** True once it subscribed at least once. */
  subscribed: boolean;
  pendingTermination?: PendingTermination;
  registrationTimer?: TimerHandle;
  shutdownTimer?: TimerHandle;
  /** Runs while a built-in executor sits idle: it is shut down when it fires (executorIdleTimeoutMs). */
  idleTimer?: TimerHandle;
  exit?: ExitInfo;
  startedAt: number;
  /** `/proc/<pid>/stat` start time of the process (checkpointed: tells a reused pid apart). */
  pidStartTime?: number;
  /** Set for an executor re-attached after a slave restart (not our child: its pid is polled). */
  recovered?: { stopWatching(): void; checkNow(): void };
}

export interface SlaveFramework {
  id: string;
  info: FrameworkInfo;
  state: 'active' | 'terminating';
  /** Live executors by executor id (at most one per id). */
  executors: Map<string, SlaveExecutor>;
  /** Executors told to shut down that were replaced in `executors` by a fresh run of the same id, until they exit. */
  retiring: Set<SlaveExecutor>;
  completedExecutors: SlaveExecutor[];
}

/** Bounds of the history kept for `/state` (Mesos keeps similar numbers). */
export const MAX_COMPLETED_TASKS_PER_EXECUTOR = 200;
export const MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK = 150;
export const MAX_COMPLETED_FRAMEWORKS = 50;
export const MAX_STATUSES_PER_TASK = 20;

/** Pushes onto a history array, dropping the oldest beyond `max`. */
export function pushBounded<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

/** True when every task of the executor is terminal and nothing is queued. */
export function executorHasNoLiveTasks(e: SlaveExecutor): boolean {
  return e.queue.length === 0 && [...e.tasks.values()].every((t) => t.phase === 'terminated');
}

/** What an update the slave itself generates (not an executor) says. */
export interface AgentStatusUpdateFields {
  frameworkId: string;
  executorId: string | undefined;
  taskId: string;
  state: TaskState;
  reason: TaskStatusReason;
  message: string;
  /** This slave's id, when registered. */
  agentId: string | undefined;
  nowMs: number;
  uuid: string;
}

/** A status update from the slave itself (`SOURCE_AGENT`), as Mesos's agent makes them. */
export function agentStatusUpdate(f: AgentStatusUpdateFields): StatusUpdate {
  return {
    framework_id: { value: f.frameworkId },
    ...(f.executorId !== undefined ? { executor_id: { value: f.executorId } } : {}),
    status: {
      task_id: { value: f.taskId },
      state: f.state,
      reason: f.reason,
      message: f.message,
      source: 'SOURCE_AGENT',
      ...(f.agentId !== undefined ? { agent_id: { value: f.agentId } } : {}),
      ...(f.executorId !== undefined ? { executor_id: { value: f.executorId } } : {}),
      timestamp: f.nowMs / 1000,
      uuid: f.uuid,
    },
  };
}

/**
 * The active record of a framework on this slave for a task it sends: the live one (its
 * FrameworkInfo refreshed while active), or a completed one brought back, or a new one.
 */
export function activateFramework(frameworks: Map<string, SlaveFramework>, completed: SlaveFramework[], info: FrameworkInfo): SlaveFramework {
  const id = info.id!.value;
  let framework = frameworks.get(id);
  if (framework !== undefined) {
    if (framework.state === 'active') framework.info = info;
    return framework;
  }
  const i = completed.findIndex((f) => f.id === id);
  framework = i >= 0 ? completed.splice(i, 1)[0]! : { id, info, state: 'active', executors: new Map(), retiring: new Set(), completedExecutors: [] };
  framework.info = info;
  framework.state = 'active';
  frameworks.set(id, framework);
  return framework;
}

