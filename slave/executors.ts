/**
 * Executor management: frameworks, executors and tasks on this slave, and both ends that
 * move them — the master's commands (`run_task`, `kill_task`, `shutdown_framework`, …) and
 * the executors' v1 API calls (SUBSCRIBE, UPDATE, MESSAGE). Follows the slave ↔ executor
 * contract (docs/slave.md) and Mesos's `slave/slave.cpp` where the contract is silent.
 *
 * - Command tasks (TaskInfo.command) of one framework share one built-in executor,
 *   `agora-command-executor`, spawned on the first task and sent SHUTDOWN once it has no
 *   live task and no unacknowledged update; a later task gets a fresh run.
 * - Tasks are queued until their executor subscribes, then sent as LAUNCH / LAUNCH_GROUP.
 * - An executor that does not subscribe within the registration timeout is killed and its
 *   tasks fail (REASON_EXECUTOR_REGISTRATION_TIMEOUT); one that exits with live tasks has
 *   them failed (REASON_EXECUTOR_TERMINATED) and the master told (`executor_exited`).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { randomUuidBase64 } from '../sdk/core/uuid.js';
import fs from 'node:fs';
import type { Clock, TimerHandle } from '../sdk/core/clock.js';
import type { Logger } from '../sdk/core/log.js';
import type { AgentMessage, AgentTask, StatusUpdate } from '../sdk/protocol/agent.js';
import type { ExecutorCall, ExecutorEvent } from '../sdk/protocol/executor.js';
import {
  isTerminalState, type AgentInfo, type ExecutorInfo, type FrameworkInfo, type KillPolicy, type TaskGroupInfo,
  type TaskInfo, type TaskState, type TaskStatus, type TaskStatusReason,
} from '../sdk/protocol/mesos.js';
import type { Containerizer, ExitInfo, LaunchSpec } from './containerizer.js';
import { executorEnvironment } from './executor-env.js';
import { fetchUris } from './fetcher.js';
import {
  MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK, MAX_COMPLETED_FRAMEWORKS, MAX_COMPLETED_TASKS_PER_EXECUTOR,
  MAX_STATUSES_PER_TASK, activateFramework, agentStatusUpdate, executorHasNoLiveTasks, pushBounded,
  type ExecutorKind, type ExecutorStream, type PendingTermination, type SlaveExecutor, type SlaveFramework, type SlaveTask,
} from './model.js';
import type { SlaveConfig } from './options.js';
import { commandExecutorPath, executorRunDir, isSafePathSegment } from './paths.js';
import { readProcessIdentity, signalPids } from './process-tree.js';
import type { CheckpointedFramework } from './checkpoint.js';
import type { RecoveredProcess } from './recovered-process.js';
import type { StatusUpdateManager } from './status-updates.js';

/**
 * Node flags of the built-in executor process (see where it is spawned). A young generation of
 * 4 MB semi-spaces, not V8's 16 MB: under a flood of tasks (bench/spawn.ts) 1 MB scavenged
 * every ~10 tasks and the executor spent ~0.11 ms per task in GC; 4 MB halves that for ~2 MB
 * more peak RSS, where 16 MB saves little more for ~20 MB.
 */
const EXECUTOR_NODE_FLAGS = ['--max-semi-space-size=4'];

/** Executor id of the built-in command executor (one per framework per slave). */
export const COMMAND_EXECUTOR_ID = 'agora-command-executor';

/** Result of an executor API call: the HTTP status and, for errors, the body. */
export type CallResult = { ok: true } | { ok: false; status: number; message: string };

/** What the executor manager needs from the rest of the slave. */
export interface ExecutorManagerDeps {
  config: SlaveConfig;
  clock: Clock;
  logger: Logger;
  containerizer: Containerizer;
  statusUpdates: StatusUpdateManager;
  /** Sends to the master (after the next checkpoint write; dropped when not connected then). */
  sendToMaster(msg: AgentMessage): boolean;
  agentId(): string | undefined;
  agentInfo(): AgentInfo;
  /** `ip:port` of the slave's HTTP server, for MESOS_AGENT_ENDPOINT. */
  endpoint(): string;
  logLevel: string;
  /** The slave's checkpoint: told of every change; what is sent to executors waits for its next write. */
  checkpoint?: CheckpointHooks;
}

/** How the executor manager drives the checkpoint (slave.ts owns the file). */
export interface CheckpointHooks {
  /** Something checkpointed changed: write it soon (coalesced). */
  changed(): void;
  /**
   * Runs `fn` once the change it `needs` (default: every change made so far) is on disk
   * (group commit: one write for a burst), after every earlier send of its `lane`.
   * Everything the slave tells an executor goes through here, in order on the lane of its
   * event stream, so a task is checkpointed before its LAUNCH leaves.
   */
  afterDurable(fn: () => void, options?: { needs?: number; lane?: unknown }): void;
}

/** What {@link ExecutorManager.restore} needs beyond the checkpoint. */
export interface RestoreInput {
  frameworks: readonly CheckpointedFramework[];
  /** Container ids of executors still running. */
  live: ReadonlySet<string>;
  /** Unacknowledged updates of the checkpoint: the tasks' states follow them. */
  updates: readonly StatusUpdate[];
  /** Starts watching a re-attached pid. */
  watch(pid: number, startTime: number | undefined): RecoveredProcess;
  /** How long re-attached executors have to re-subscribe. */
  reregistrationTimeoutMs: number;
}

const taskKey = (frameworkId: string, taskId: string): string => `${frameworkId}\u0000${taskId}`;
const newUuid = (): string => randomUuidBase64();
const err = (status: number, message: string): CallResult => ({ ok: false, status, message });

/** Frameworks, executors and tasks of one slave. */
export class ExecutorManager {
  readonly frameworks = new Map<string, SlaveFramework>();
  readonly completedFrameworks: SlaveFramework[] = [];
  /** Every task not yet completed (any phase), to find its executor by framework + task id. */
  private readonly taskIndex = new Map<string, SlaveExecutor>();
  private heartbeat: TimerHandle | undefined;
  private closed = false;
  /** Executors of the previous run found dead at recovery, terminated once the slave has re-registered. */
  private goneAtRecovery: SlaveExecutor[] = [];

  constructor(private readonly d: ExecutorManagerDeps) {
    this.heartbeat = d.clock.setInterval(() => this.sendHeartbeats(), d.config.executorHeartbeatMs);
  }

  // ---------------------------------------------------------------- master commands

  /** `run_task`: queue the task on its executor, starting the executor if needed. */
  runTask(frameworkInfo: FrameworkInfo, task: TaskInfo): void {
    const frameworkId = frameworkInfo.id?.value;
    if (frameworkId === undefined) {
      this.d.logger.warn({ task_id: task.task_id.value }, 'ignoring run_task without a framework id');
      return;
    }
    let executorInfo: ExecutorInfo;
    let kind: ExecutorKind;
    if (task.executor !== undefined) {
      executorInfo = { ...task.executor, framework_id: { value: frameworkId } };
      kind = task.executor.command?.value !== undefined ? 'custom' : 'default';
    } else if (task.command !== undefined) {
      executorInfo = this.commandExecutorInfo(frameworkId);
      kind = 'command';
    } else {
      this.rejectLaunch(frameworkId, [task], 'TASK_ERROR', 'REASON_TASK_INVALID', 'TaskInfo must have either command or executor set');
      return;
    }
    this.launch(frameworkInfo, executorInfo, kind, [task], 'task');
  }

  /** `run_task_group`: queue the group on its executor (built-in unless ExecutorInfo says CUSTOM with a command). */
  runTaskGroup(frameworkInfo: FrameworkInfo, executor: ExecutorInfo, group: TaskGroupInfo): void {
    const frameworkId = frameworkInfo.id?.value;
    if (frameworkId === undefined) {
      this.d.logger.warn({ executor_id: executor.executor_id.value }, 'ignoring run_task_group without a framework id');
      return;
    }
    const tasks = group.tasks ?? [];
    if (tasks.length === 0) {
      this.d.logger.warn({ framework_id: frameworkId }, 'ignoring empty task group');
      return;
    }
    const kind: ExecutorKind = executor.type !== 'DEFAULT' && executor.command?.value !== undefined ? 'custom' : 'default';
    this.launch(frameworkInfo, { ...executor, framework_id: { value: frameworkId } }, kind, tasks, 'group');
  }

  /** `kill_task`: KILL to the executor; a queued task is killed here; an unknown one is reported lost. */
  killTask(frameworkId: string, taskId: string, killPolicy?: KillPolicy): void {
    const executor = this.taskIndex.get(taskKey(frameworkId, taskId));
    const task = executor?.tasks.get(taskId);
    if (executor === undefined || task === undefined) {
      if (this.isCompletedTask(frameworkId, taskId)) {
        this.d.logger.info({ framework_id: frameworkId, task_id: taskId }, 'ignoring kill of a completed task');
        return;
      }
      // Mesos: "Cannot find executor" → TASK_LOST (TASK_DROPPED for partition-aware frameworks).
      const framework = this.frameworks.get(frameworkId);
      const partitionAware = framework?.info.capabilities?.some((c) => c.type === 'PARTITION_AWARE') ?? false;
      this.d.logger.warn({ framework_id: frameworkId, task_id: taskId }, 'kill of unknown task: reporting it lost');
      this.d.statusUpdates.update(this.agentUpdate(frameworkId, undefined, taskId, partitionAware ? 'TASK_DROPPED' : 'TASK_LOST', 'REASON_EXECUTOR_TERMINATED', 'Cannot find executor'));
      return;
    }
    switch (task.phase) {
      case 'terminated':
        this.d.logger.info({ framework_id: frameworkId, task_id: taskId, state: task.state }, 'ignoring kill of a terminal task');
        return;
      case 'queued': {
        // Mesos kills the whole group when one task of a queued group is killed.
        const entry = executor.queue.find((q) => (q.kind === 'task' ? q.taskId === taskId : q.taskIds.includes(taskId)));
        const ids = entry === undefined ? [taskId] : entry.kind === 'task' ? [entry.taskId] : entry.taskIds;
        if (entry !== undefined) executor.queue.splice(executor.queue.indexOf(entry), 1);
        for (const id of ids) {
          const t = executor.tasks.get(id);
          if (t !== undefined) this.agentStatus(executor, t, 'TASK_KILLED', 'REASON_TASK_KILLED_DURING_LAUNCH', 'Killed before delivery to the executor');
        }
        if (!executor.subscribed && executorHasNoLiveTasks(executor)) this.shutdownExecutor(executor);
        return;
      }
      case 'launched': {
        const policy = killPolicy ?? task.info.kill_policy;
        if (executor.stream !== undefined && !executor.stream.closed) {
          this.sendEvent(executor, { type: 'KILL', kill: { task_id: { value: taskId }, ...(policy ? { kill_policy: policy } : {}) } });
        } else {
          executor.pendingKills.push({ taskId, ...(policy ? { killPolicy: policy } : {}) });
        }
        return;
      }
    }
  }

  /** `shutdown_framework`: SHUTDOWN to its executors, drop its pending updates, forget it once they exit. */
  shutdownFramework(frameworkId: string): void {
    const framework = this.frameworks.get(frameworkId);
    this.d.statusUpdates.cleanupFramework(frameworkId);
    if (framework === undefined) return;
    this.d.logger.info({ framework_id: frameworkId }, 'shutting down framework');
    framework.state = 'terminating';
    this.changed();
    for (const e of [...framework.executors.values(), ...framework.retiring]) {
      for (const t of e.tasks.values()) if (t.phase === 'queued') t.phase = 'terminated';
      e.queue = [];
      this.shutdownExecutor(e);
    }
    this.maybeRemoveFramework(framework);
  }

  /** `shutdown_executor`. */
  shutdownExecutorById(frameworkId: string, executorId: string): void {
    const executor = this.frameworks.get(frameworkId)?.executors.get(executorId);
    if (executor === undefined) {
      this.d.logger.warn({ framework_id: frameworkId, executor_id: executorId }, 'ignoring shutdown of unknown executor');
      return;
    }
    this.shutdownExecutor(executor);
  }

  /** `framework_to_executor`: MESSAGE event (dropped when the executor is not subscribed, as Mesos does). */
  frameworkMessage(frameworkId: string, executorId: string, data: string): void {
    const executor = this.frameworks.get(frameworkId)?.executors.get(executorId);
    if (executor?.stream === undefined || executor.stream.closed) {
      this.d.logger.warn({ framework_id: frameworkId, executor_id: executorId }, 'dropping framework message for an executor that is not subscribed');
      return;
    }
    this.sendEvent(executor, { type: 'MESSAGE', message: { data } });
  }

  /** The master told the agent to shut down (or gave it a new id): kill everything. */
  shutdownAll(): void {
    for (const f of [...this.frameworks.values()]) this.shutdownFramework(f.id);
    this.d.statusUpdates.reset();
  }

  /** The head update of a task stream was acknowledged: tell the executor, complete terminal tasks, stop idle executors. */
  onAcknowledged(update: StatusUpdate): void {
    const frameworkId = update.framework_id.value;
    const taskId = update.status.task_id.value;
    const executor = this.taskIndex.get(taskKey(frameworkId, taskId));
    if (executor === undefined) return;
    if (update.status.uuid !== undefined && update.status.source === 'SOURCE_EXECUTOR') {
      this.sendEvent(executor, { type: 'ACKNOWLEDGED', acknowledged: { task_id: { value: taskId }, uuid: update.status.uuid } });
    }
    const task = executor.tasks.get(taskId);
    if (task !== undefined && task.phase === 'terminated' && !this.d.statusUpdates.hasPending(frameworkId, taskId)) {
      this.completeTask(executor, task);
    }
    this.maybeShutdownIdle(executor);
  }

  // ---------------------------------------------------------------- executor API

  /** SUBSCRIBE: attach the stream, send SUBSCRIBED, then every queued launch and kill. */
  subscribe(call: ExecutorCall, stream: ExecutorStream): CallResult {
    if (this.closed) return err(503, 'Agent is shutting down');
    const found = this.findExecutor(call);
    if (!found.ok) return found;
    const { framework, executor } = found;
    if (executor.state === 'terminated') return err(400, `Executor ${executor.id} has terminated`);
    if (executor.stream !== undefined && executor.stream !== stream) executor.stream.end();
    executor.stream = stream;
    executor.subscribed = true;
    this.changed();
    executor.registrationTimer?.cancel();
    executor.registrationTimer = undefined;
    if (executor.state === 'registering' || executor.state === 'launching') executor.state = 'running';
    this.d.logger.info({ framework_id: framework.id, executor_id: executor.id, container_id: executor.containerId }, 'executor subscribed');
    stream.send({
      type: 'SUBSCRIBED',
      subscribed: {
        executor_info: executor.info,
        framework_info: framework.info,
        agent_info: this.d.agentInfo(),
        container_id: { value: executor.containerId },
      },
    });
    // Updates the executor sent while disconnected: the status update manager drops the ones it already has.
    for (const u of call.subscribe?.unacknowledged_updates ?? []) {
      const task = executor.tasks.get(u.status.task_id.value);
      if (task === undefined || u.status.uuid === undefined) continue;
      this.acceptExecutorStatus(executor, task, u.status);
    }
    if (executor.state === 'terminating') {
      this.sendEvent(executor, { type: 'SHUTDOWN' });
      return { ok: true };
    }
    this.flushQueue(executor, new Set((call.subscribe?.unacknowledged_tasks ?? []).map((t) => t.task_id.value)));
    for (const k of executor.pendingKills.splice(0)) {
      const t = executor.tasks.get(k.taskId);
      if (t?.phase === 'launched') this.sendEvent(executor, { type: 'KILL', kill: { task_id: { value: k.taskId }, ...(k.killPolicy ? { kill_policy: k.killPolicy } : {}) } });
    }
    this.maybeShutdownIdle(executor);
    return { ok: true };
  }

  /** The subscription stream of an executor closed (the executor went away or will re-subscribe). */
  streamClosed(stream: ExecutorStream): void {
    for (const e of this.allExecutors()) {
      if (e.stream !== stream) continue;
      e.stream = undefined;
      this.d.logger.info({ framework_id: e.frameworkId, executor_id: e.id }, 'executor disconnected');
    }
  }

  /** UPDATE: validate and hand to the status update manager. */
  update(call: ExecutorCall): CallResult {
    const found = this.findExecutor(call);
    if (!found.ok) return found;
    let { executor } = found;
    const status = call.update?.status;
    if (status !== undefined && !executor.tasks.has(status.task_id.value)) {
      // An update from a retiring run of the same executor id (replaced by a fresh run).
      executor = [...found.framework.retiring].find((e) => e.id === executor.id && e.tasks.has(status.task_id.value)) ?? executor;
    }
    if (!executor.subscribed) return err(403, 'Executor is not subscribed');
    if (status === undefined) return err(400, "Expecting 'update' to be present");
    if (status.uuid === undefined || status.uuid === '') return err(400, "Expecting 'uuid' to be present");
    if (status.state === 'TASK_STAGING') return err(400, 'Received TASK_STAGING from executor which is not allowed');
    if (status.source !== undefined && status.source !== 'SOURCE_EXECUTOR') return err(400, `Received status update with source ${status.source} from an executor`);
    if (status.executor_id !== undefined && status.executor_id.value !== executor.id) return err(400, `Status update names executor ${status.executor_id.value}, not ${executor.id}`);
    const task = executor.tasks.get(status.task_id.value);
    if (task === undefined || task.phase === 'queued') {
      return err(400, `Task ${status.task_id.value} is not a task of executor ${executor.id}`);
    }
    this.acceptExecutorStatus(executor, task, status);
    return { ok: true };
  }

  /** MESSAGE: forward to the framework through the master. */
  message(call: ExecutorCall): CallResult {
    const found = this.findExecutor(call);
    if (!found.ok) return found;
    if (!found.executor.subscribed) return err(403, 'Executor is not subscribed');
    if (call.message === undefined) return err(400, "Expecting 'message' to be present");
    this.d.sendToMaster({
      type: 'executor_to_framework',
      framework_id: { value: found.framework.id },
      executor_id: { value: found.executor.id },
      data: call.message.data,
    });
    return { ok: true };
  }

  /** HEARTBEAT from an executor: nothing to do but check it is known. */
  executorHeartbeat(call: ExecutorCall): CallResult {
    const found = this.findExecutor(call);
    return found.ok ? { ok: true } : found;
  }

  // ---------------------------------------------------------------- queries

  /** Frameworks and live tasks for `reregister`. */
  reregistrationState(): { frameworks: FrameworkInfo[]; tasks: AgentTask[] } {
    const tasks: AgentTask[] = [];
    for (const e of new Set(this.taskIndex.values())) {
      for (const t of e.tasks.values()) {
        tasks.push({ framework_id: { value: t.frameworkId }, executor_id: { value: e.id }, task: t.info, state: t.state });
      }
    }
    return { frameworks: [...this.frameworks.values()].map((f) => f.info), tasks };
  }

  /** Every executor with a process (live or retiring), for `/monitor/statistics`. */
  liveExecutors(): SlaveExecutor[] {
    return this.allExecutors().filter((e) => e.state !== 'terminated');
  }

  // ---------------------------------------------------------------- checkpoint and recovery

  /** Frameworks with their live executors and unfinished tasks, as the checkpoint keeps them. */
  snapshot(): CheckpointedFramework[] {
    const out: CheckpointedFramework[] = [];
    for (const f of this.frameworks.values()) {
      const executors = [...f.executors.values(), ...f.retiring].filter((e) => e.state !== 'terminated');
      out.push({
        info: f.info,
        terminating: f.state === 'terminating',
        executors: executors.map((e) => ({
          info: e.info,
          kind: e.kind,
          container_id: e.containerId,
          directory: e.directory,
          ...(e.process !== undefined ? { pid: e.process.pid } : {}),
          ...(e.pidStartTime !== undefined ? { pid_start_time: e.pidStartTime } : {}),
          subscribed: e.subscribed,
          terminating: e.state === 'terminating',
          retiring: f.retiring.has(e),
          started_at: e.startedAt,
          tasks: [...e.tasks.values()].map((t) => ({ info: t.info, state: t.state, phase: t.phase })),
          queue: e.queue.map((q) => (q.kind === 'task' ? { kind: 'task' as const, taskId: q.taskId } : { kind: 'group' as const, taskIds: [...q.taskIds] })),
          pending_kills: e.pendingKills.map((k) => ({ ...k })),
        })),
      });
    }
    return out;
  }

  /**
   * Rebuilds frameworks, executors and tasks from a checkpoint (slave recovery, Mesos
   * `Slave::recover`). Executors in `live` are re-attached: their pid is watched, and they
   * have `reregistrationTimeoutMs` to re-subscribe before they are killed and their
   * unfinished tasks lost (`REASON_EXECUTOR_REREGISTRATION_TIMEOUT`). The others are gone:
   * their unfinished tasks are lost (`REASON_EXECUTOR_TERMINATED`) once the slave has
   * re-registered ({@link finishRecovery}).
   */
  restore(r: RestoreInput): void {
    const reattached: SlaveExecutor[] = [];
    const wasTerminating = new Set<SlaveExecutor>();
    for (const cf of r.frameworks) {
      const id = cf.info.id?.value;
      if (id === undefined) continue;
      const framework: SlaveFramework = {
        id, info: cf.info, state: cf.terminating ? 'terminating' : 'active', executors: new Map(), retiring: new Set(), completedExecutors: [],
      };
      this.frameworks.set(id, framework);
      for (const ce of cf.executors) {
        const executor: SlaveExecutor = {
          id: ce.info.executor_id.value,
          frameworkId: id,
          info: ce.info,
          kind: ce.kind,
          containerId: ce.container_id,
          directory: ce.directory,
          state: 'registering',
          tasks: new Map(),
          queue: ce.queue.map((q) => (q.kind === 'task' ? { kind: 'task' as const, taskId: q.taskId } : { kind: 'group' as const, taskIds: [...q.taskIds] })),
          completedTasks: [],
          pendingKills: ce.pending_kills.map((k) => ({ taskId: k.taskId, ...(k.killPolicy !== undefined ? { killPolicy: k.killPolicy } : {}) })),
          subscribed: false,
          launchStarted: true,
          startedAt: ce.started_at,
          ...(ce.pid_start_time !== undefined ? { pidStartTime: ce.pid_start_time } : {}),
        };
        for (const ct of ce.tasks) {
          executor.tasks.set(ct.info.task_id.value, { info: ct.info, frameworkId: id, executorId: executor.id, phase: ct.phase, state: ct.state, statuses: [] });
          this.taskIndex.set(taskKey(id, ct.info.task_id.value), executor);
        }
        if (ce.retiring) framework.retiring.add(executor);
        else framework.executors.set(executor.id, executor);
        if (ce.pid !== undefined && r.live.has(ce.container_id)) {
          const watched = r.watch(ce.pid, ce.pid_start_time);
          executor.process = watched.process;
          executor.recovered = watched;
          if (ce.terminating) wasTerminating.add(executor);
          reattached.push(executor);
          void watched.process.exited.then((exit) => this.executorTerminated(executor, exit));
        } else {
          this.goneAtRecovery.push(executor);
        }
      }
    }
    for (const f of [...this.frameworks.values()]) this.maybeRemoveFramework(f);
    // The tasks' states follow the updates not yet acknowledged (checkpointed before they were applied).
    for (const u of r.updates) {
      const task = this.taskIndex.get(taskKey(u.framework_id.value, u.status.task_id.value))?.tasks.get(u.status.task_id.value);
      if (task !== undefined) this.applyStatus(task, u.status);
    }
    for (const e of reattached) {
      const framework = this.frameworks.get(e.frameworkId);
      if (wasTerminating.has(e) || framework?.state === 'terminating') {
        // It was being shut down when the slave died: finish the job (no stream: SIGKILL).
        this.shutdownExecutor(e);
        continue;
      }
      this.d.logger.info({ framework_id: e.frameworkId, executor_id: e.id, pid: e.process?.pid }, 'waiting for a recovered executor to re-subscribe');
      e.registrationTimer = this.d.clock.setTimeout(() => {
        e.registrationTimer = undefined;
        if (e.state !== 'registering') return;
        const partitionAware = framework?.info.capabilities?.some((c) => c.type === 'PARTITION_AWARE') ?? false;
        this.d.logger.warn({ framework_id: e.frameworkId, executor_id: e.id, timeout_ms: r.reregistrationTimeoutMs }, 'recovered executor did not re-subscribe in time; killing it');
        e.pendingTermination ??= {
          state: partitionAware ? 'TASK_GONE' : 'TASK_LOST',
          reason: 'REASON_EXECUTOR_REREGISTRATION_TIMEOUT',
          message: `Executor did not re-register within ${r.reregistrationTimeoutMs / 1000}secs`,
        };
        this.shutdownExecutor(e);
        e.recovered?.checkNow();
      }, r.reregistrationTimeoutMs);
    }
  }

  /**
   * After the first (re-)registration that follows a recovery: the executors found dead are
   * terminated now, so that their tasks' updates and `executor_exited` reach the master.
   * Processes left in their sandboxes are killed.
   */
  finishRecovery(): void {
    for (const e of this.goneAtRecovery.splice(0)) {
      if (e.state === 'terminated') continue;
      const framework = this.frameworks.get(e.frameworkId);
      const partitionAware = framework?.info.capabilities?.some((c) => c.type === 'PARTITION_AWARE') ?? false;
      const killed = this.d.containerizer.destroyLeftovers(e.directory);
      this.d.logger.warn({ framework_id: e.frameworkId, executor_id: e.id, container_id: e.containerId, leftover_processes: killed }, 'executor of the previous run is gone; its tasks are lost');
      e.pendingTermination ??= { state: partitionAware ? 'TASK_GONE' : 'TASK_LOST', reason: 'REASON_EXECUTOR_TERMINATED', message: 'Executor terminated while the agent was down' };
      this.executorTerminated(e, undefined);
    }
  }

  private changed(): void {
    this.d.checkpoint?.changed();
  }

  // ---------------------------------------------------------------- shutdown

  /**
   * Stops timers and ends executor streams. With `cleanup`, terminates every executor and
   * its tasks (SIGTERM to the whole tree, SIGKILL after `graceMs`) and waits for them.
   */
  async close(cleanup: boolean, graceMs = 1500): Promise<void> {
    this.closed = true;
    this.heartbeat?.cancel();
    const executors = this.allExecutors().filter((e) => e.state !== 'terminated');
    for (const e of executors) {
      e.registrationTimer?.cancel();
      e.shutdownTimer?.cancel();
      e.idleTimer?.cancel();
      e.stream?.end();
      e.stream = undefined;
    }
    if (!cleanup) {
      for (const e of executors) e.recovered?.stopWatching();
      return;
    }
    const running = executors.filter((e) => e.process !== undefined);
    const trees = running.map((e) => ({ e, pids: e.process!.treePids() }));
    for (const { pids } of trees) signalPids(pids, 'SIGTERM');
    const allExited = Promise.all(running.map((e) => e.process!.exited));
    const exitedInTime = await this.raceTimeout(allExited, graceMs);
    if (!exitedInTime) {
      for (const { e, pids } of trees) signalPids([...pids, ...(e.exit === undefined ? e.process!.treePids() : [])], 'SIGKILL');
      await this.raceTimeout(allExited, 3000);
    }
    // Tasks in their own process groups may have outlived their executor.
    for (const { e, pids } of trees) {
      signalPids(pids.slice(1), 'SIGKILL');
      this.d.containerizer.destroyLeftovers(e.directory);
    }
    for (const e of executors) e.recovered?.stopWatching();
  }

  // ---------------------------------------------------------------- internals

  private raceTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = this.d.clock.setTimeout(() => resolve(false), ms);
      void p.then(() => { t.cancel(); resolve(true); });
    });
  }

  private allExecutors(): SlaveExecutor[] {
    const out: SlaveExecutor[] = [];
    for (const f of this.frameworks.values()) out.push(...f.executors.values(), ...f.retiring);
    return out;
  }

  private commandExecutorInfo(frameworkId: string): ExecutorInfo {
    const program = commandExecutorPath();
    return {
      executor_id: { value: COMMAND_EXECUTOR_ID },
      framework_id: { value: frameworkId },
      name: 'Agora Command Executor',
      source: COMMAND_EXECUTOR_ID,
      command: { value: process.execPath, arguments: [process.execPath, ...EXECUTOR_NODE_FLAGS, program], shell: false },
    };
  }

  private findExecutor(call: ExecutorCall): { ok: true; framework: SlaveFramework; executor: SlaveExecutor } | { ok: false; status: number; message: string } {
    const framework = this.frameworks.get(call.framework_id.value);
    if (framework === undefined) return { ok: false, status: 400, message: `Framework ${call.framework_id.value} not found` };
    let executor = framework.executors.get(call.executor_id.value);
    if (executor === undefined || executor.state === 'terminated') {
      // A retiring run of the same id (replaced by a fresh one) may still talk to us.
      executor = [...framework.retiring].find((e) => e.id === call.executor_id.value && e.state !== 'terminated') ?? executor;
    }
    if (executor === undefined) return { ok: false, status: 400, message: `Executor ${call.executor_id.value} of framework ${framework.id} not found` };
    return { ok: true, framework, executor };
  }

  private launch(frameworkInfo: FrameworkInfo, executorInfo: ExecutorInfo, kind: ExecutorKind, tasks: TaskInfo[], as: 'task' | 'group'): void {
    const frameworkId = frameworkInfo.id!.value;
    const executorId = executorInfo.executor_id.value;
    if (this.closed) return;
    if (!isSafePathSegment(frameworkId) || !isSafePathSegment(executorId)) {
      this.rejectLaunch(frameworkId, tasks, 'TASK_ERROR', 'REASON_TASK_INVALID', 'Framework and executor ids must be usable as directory names');
      return;
    }
    const fresh = tasks.filter((t) => {
      const known = this.taskIndex.has(taskKey(frameworkId, t.task_id.value));
      if (known) this.d.logger.warn({ framework_id: frameworkId, task_id: t.task_id.value }, 'ignoring launch of a task that already exists');
      return !known;
    });
    if (fresh.length !== tasks.length) return;
    const framework = this.getOrCreateFramework(frameworkInfo);
    if (framework.state === 'terminating') {
      this.d.logger.warn({ framework_id: frameworkId }, 'ignoring launch for a framework that is shutting down');
      return;
    }
    let executor = framework.executors.get(executorId);
    if (executor !== undefined && (executor.state === 'terminating' || executor.state === 'terminated')) {
      if (executor.state === 'terminating') framework.retiring.add(executor);
      framework.executors.delete(executorId);
      executor = undefined;
    }
    if (executor === undefined) {
      executor = this.createExecutor(framework, executorInfo, kind);
      framework.executors.set(executorId, executor);
    }
    const ids: string[] = [];
    for (const info of tasks) {
      const task: SlaveTask = {
        info,
        frameworkId,
        executorId,
        phase: 'queued',
        state: 'TASK_STAGING',
        statuses: [],
      };
      executor.tasks.set(info.task_id.value, task);
      this.taskIndex.set(taskKey(frameworkId, info.task_id.value), executor);
      ids.push(info.task_id.value);
    }
    executor.queue.push(as === 'task' ? { kind: 'task', taskId: ids[0]! } : { kind: 'group', taskIds: ids });
    // An idle executor kept for the next task has it now.
    executor.idleTimer?.cancel();
    executor.idleTimer = undefined;
    this.changed();
    this.d.logger.info({ framework_id: frameworkId, executor_id: executorId, tasks: ids }, 'queued task(s)');
    if (executor.subscribed && executor.stream !== undefined && !executor.stream.closed) {
      this.flushQueue(executor);
    } else if (executor.state === 'launching' && executor.process === undefined && !executor.launchStarted) {
      executor.launchStarted = true;
      void this.startExecutor(framework, executor);
    }
  }

  /** Delivers every queued launch (skipping tasks the re-subscribing executor says it already has). */
  private flushQueue(executor: SlaveExecutor, alreadyKnown: ReadonlySet<string> = new Set()): void {
    if (executor.queue.length === 0) return;
    const queue = executor.queue.splice(0);
    for (const q of queue) {
      const ids = q.kind === 'task' ? [q.taskId] : q.taskIds;
      for (const id of ids) {
        const t = executor.tasks.get(id);
        if (t?.phase === 'queued') t.phase = 'launched';
      }
    }
    // Mesos checkpoints a task before it launches it: the LAUNCH events below leave after
    // the next checkpoint write (sendEvent goes through the group commit).
    this.changed();
    for (const q of queue) {
      const ids = q.kind === 'task' ? [q.taskId] : q.taskIds;
      const tasks = ids.map((id) => executor.tasks.get(id)).filter((t): t is SlaveTask => t !== undefined && t.phase === 'launched');
      if (tasks.length === 0 || tasks.every((t) => alreadyKnown.has(t.info.task_id.value))) continue;
      if (q.kind === 'task') this.sendEvent(executor, { type: 'LAUNCH', launch: { task: tasks[0]!.info } });
      else this.sendEvent(executor, { type: 'LAUNCH_GROUP', launch_group: { task_group: { tasks: tasks.map((t) => t.info) } } });
    }
  }

  private getOrCreateFramework(info: FrameworkInfo): SlaveFramework {
    return activateFramework(this.frameworks, this.completedFrameworks, info);
  }


  private createExecutor(framework: SlaveFramework, info: ExecutorInfo, kind: ExecutorKind): SlaveExecutor {
    const containerId = randomUUID();
    const agentId = this.d.agentId() ?? 'unregistered';
    return {
      id: info.executor_id.value,
      frameworkId: framework.id,
      info,
      kind,
      containerId,
      directory: executorRunDir(this.d.config.workDir, agentId, framework.id, info.executor_id.value, containerId),
      state: 'launching',
      tasks: new Map(),
      queue: [],
      completedTasks: [],
      pendingKills: [],
      subscribed: false,
      startedAt: this.d.clock.now(),
      launchStarted: false,
    };
  }

  /** Sandbox, fetch (custom executors), spawn, registration timer. */
  private async startExecutor(framework: SlaveFramework, executor: SlaveExecutor): Promise<void> {
    const log = this.d.logger.child({ framework_id: framework.id, executor_id: executor.id, container_id: executor.containerId });
    let spec: LaunchSpec;
    try {
      fs.mkdirSync(executor.directory, { recursive: true });
      const command = executor.kind === 'custom' ? executor.info.command! : undefined;
      if (command?.uris !== undefined && command.uris.length > 0) await fetchUris(command.uris, executor.directory);
      const graceMs = executor.info.shutdown_grace_period !== undefined
        ? Number(executor.info.shutdown_grace_period.nanoseconds) / 1e6
        : this.d.config.executorShutdownGraceMs;
      const env = executorEnvironment({
        base: process.env,
        frameworkId: framework.id,
        executorId: executor.id,
        agentId: this.d.agentId() ?? '',
        agentEndpoint: this.d.endpoint(),
        directory: executor.directory,
        checkpoint: framework.info.checkpoint === true,
        recoveryTimeoutMs: this.d.config.recoveryTimeoutMs,
        shutdownGraceMs: graceMs,
        commandExecutor: executor.kind === 'command',
        logLevel: this.d.logLevel,
        ...(command ? { command } : {}),
      });
      if (command === undefined) {
        const program = commandExecutorPath();
        if (!fs.existsSync(program)) throw new Error(`built-in executor ${program} not found (run \`npm run build\`)`);
        // A smaller young generation than V8's default (EXECUTOR_NODE_FLAGS: why).
        spec = { file: process.execPath, args: [...EXECUTOR_NODE_FLAGS, program], cwd: executor.directory, env };
      } else if (command.shell !== false) {
        spec = { file: '/bin/sh', args: ['-c', command.value ?? ''], cwd: executor.directory, env };
      } else {
        const argv = command.arguments ?? [];
        spec = { file: command.value!, args: argv.slice(1), cwd: executor.directory, env, ...(argv[0] !== undefined ? { argv0: argv[0] } : {}) };
      }
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'executor launch failed');
      executor.pendingTermination ??= { state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: `Failed to launch executor: ${(e as Error).message}` };
      this.executorTerminated(executor, undefined);
      return;
    }
    if (executor.state !== 'launching' || this.closed) {
      // Killed (or the slave closed) while fetching.
      this.executorTerminated(executor, undefined);
      return;
    }
    try {
      executor.process = await this.d.containerizer.launch(spec);
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'executor launch failed');
      executor.pendingTermination ??= { state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: (e as Error).message };
      this.executorTerminated(executor, undefined);
      return;
    }
    executor.pidStartTime = readProcessIdentity(executor.process.pid)?.startTime;
    log.info({ pid: executor.process.pid, directory: executor.directory }, 'executor started');
    // The pid goes into the next checkpoint write, which precedes any LAUNCH to this executor.
    this.changed();
    void executor.process.exited.then((exit) => this.executorTerminated(executor, exit));
    if (executor.state === 'launching') {
      executor.state = 'registering';
      executor.registrationTimer = this.d.clock.setTimeout(() => {
        executor.registrationTimer = undefined;
        if (executor.state !== 'registering') return;
        log.warn({ timeout_ms: this.d.config.executorRegistrationTimeoutMs }, 'executor did not subscribe in time; killing it');
        executor.pendingTermination ??= {
          state: 'TASK_FAILED',
          reason: 'REASON_EXECUTOR_REGISTRATION_TIMEOUT',
          message: `Executor did not register within ${this.d.config.executorRegistrationTimeoutMs / 1000}secs`,
        };
        this.shutdownExecutor(executor);
      }, this.d.config.executorRegistrationTimeoutMs);
    } else if (executor.state === 'terminating') {
      // Shut down while the process was being spawned.
      executor.process.signalTree('SIGKILL');
    }
  }

  /** Sends SHUTDOWN (or kills a process that never subscribed) and kills it after the grace period. */
  private shutdownExecutor(executor: SlaveExecutor): void {
    if (executor.state === 'terminating' || executor.state === 'terminated') return;
    const wasLaunching = executor.state === 'launching';
    executor.state = 'terminating';
    executor.registrationTimer?.cancel();
    executor.registrationTimer = undefined;
    executor.idleTimer?.cancel();
    executor.idleTimer = undefined;
    this.changed();
    this.d.logger.info({ framework_id: executor.frameworkId, executor_id: executor.id }, 'shutting down executor');
    if (wasLaunching) {
      // startExecutor sees the state and finishes the termination (no process yet).
      if (executor.process === undefined) return;
    }
    if (executor.stream !== undefined && !executor.stream.closed) {
      this.sendEvent(executor, { type: 'SHUTDOWN' });
      const graceMs = executor.info.shutdown_grace_period !== undefined
        ? Number(executor.info.shutdown_grace_period.nanoseconds) / 1e6
        : this.d.config.executorShutdownGraceMs;
      executor.shutdownTimer = this.d.clock.setTimeout(() => {
        executor.shutdownTimer = undefined;
        if (executor.state === 'terminated') return;
        this.d.logger.warn({ framework_id: executor.frameworkId, executor_id: executor.id }, 'executor did not exit after SHUTDOWN; killing it');
        executor.process?.signalTree('SIGKILL');
      }, graceMs + 2000);
    } else {
      executor.process?.signalTree('SIGKILL');
    }
  }

  /** The executor process is gone (or never started): fail its live tasks, tell the master, file it as completed. */
  private executorTerminated(executor: SlaveExecutor, exit: ExitInfo | undefined): void {
    if (executor.state === 'terminated') return;
    executor.state = 'terminated';
    executor.exit = exit;
    executor.registrationTimer?.cancel();
    executor.shutdownTimer?.cancel();
    executor.idleTimer?.cancel();
    executor.idleTimer = undefined;
    executor.recovered?.stopWatching();
    this.changed();
    executor.stream?.end();
    executor.stream = undefined;
    if (exit !== undefined) {
      // A container ends with its executor: kill tasks it left behind (Mesos destroys the container).
      const killed = this.d.containerizer.destroyLeftovers(executor.directory);
      if (killed > 0) this.d.logger.info({ executor_id: executor.id, processes: killed }, 'killed processes left in the sandbox of an exited executor');
    }
    const framework = this.frameworks.get(executor.frameworkId);
    const how = exit === undefined ? (executor.recovered !== undefined || executor.pidStartTime !== undefined ? 'terminated while the agent was down' : 'never started')
      : exit.signal !== null ? `terminated with signal ${exit.signal}`
        : exit.code !== null ? `exited with status ${exit.code}` : 'exited (status unknown: not a child of this agent process)';
    this.d.logger.info({ framework_id: executor.frameworkId, executor_id: executor.id, container_id: executor.containerId }, `executor ${how}`);
    const termination: PendingTermination = executor.pendingTermination ?? {
      state: 'TASK_FAILED', reason: 'REASON_EXECUTOR_TERMINATED', message: `Executor ${how}`,
    };
    executor.queue = [];
    const frameworkTerminating = framework === undefined || framework.state === 'terminating';
    for (const task of [...executor.tasks.values()]) {
      if (task.phase === 'terminated') {
        if (frameworkTerminating) this.completeTask(executor, task);
        continue;
      }
      if (frameworkTerminating || this.closed) {
        task.phase = 'terminated';
        this.completeTask(executor, task);
      } else {
        this.agentStatus(executor, task, termination.state, termination.reason, termination.message);
      }
    }
    if (!this.closed) {
      // Also for an executor that never started: the master releases what it accounted to it.
      this.d.sendToMaster({
        type: 'executor_exited',
        framework_id: { value: executor.frameworkId },
        executor_id: { value: executor.id },
        ...(exit !== undefined ? { status: exit.status } : {}),
      });
    }
    if (framework !== undefined) {
      if (framework.executors.get(executor.id) === executor) framework.executors.delete(executor.id);
      framework.retiring.delete(executor);
      pushBounded(framework.completedExecutors, executor, MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK);
      this.maybeRemoveFramework(framework);
    }
  }

  private maybeRemoveFramework(framework: SlaveFramework): void {
    if (framework.executors.size > 0 || framework.retiring.size > 0) return;
    if (this.frameworks.get(framework.id) !== framework) return;
    this.frameworks.delete(framework.id);
    this.changed();
    pushBounded(this.completedFrameworks, framework, MAX_COMPLETED_FRAMEWORKS);
    this.d.logger.info({ framework_id: framework.id }, 'framework has no executors left; removed');
  }

  /**
   * Built-in executors are shut down when idle — no live task, no unacknowledged update —
   * for `executorIdleTimeoutMs`: a burst of short tasks arriving in waves keeps its executor
   * instead of starting a Node process per wave (~0.3 s of CPU each, and the wave waits).
   */
  private maybeShutdownIdle(executor: SlaveExecutor): void {
    if (!this.isIdle(executor)) return;
    const idleMs = this.d.config.executorIdleTimeoutMs;
    if (idleMs <= 0) {
      this.shutdownExecutor(executor);
      return;
    }
    executor.idleTimer ??= this.d.clock.setTimeout(() => {
      executor.idleTimer = undefined;
      if (this.isIdle(executor)) this.shutdownExecutor(executor);
    }, idleMs);
  }

  private isIdle(executor: SlaveExecutor): boolean {
    if (executor.kind === 'custom' || executor.state !== 'running') return false;
    if (!executorHasNoLiveTasks(executor)) return false;
    for (const t of executor.tasks.values()) if (this.d.statusUpdates.hasPending(executor.frameworkId, t.info.task_id.value)) return false;
    return true;
  }

  private completeTask(executor: SlaveExecutor, task: SlaveTask): void {
    const taskId = task.info.task_id.value;
    executor.tasks.delete(taskId);
    if (this.taskIndex.get(taskKey(task.frameworkId, taskId)) === executor) this.taskIndex.delete(taskKey(task.frameworkId, taskId));
    this.changed();
    pushBounded(executor.completedTasks, task, MAX_COMPLETED_TASKS_PER_EXECUTOR);
  }

  private isCompletedTask(frameworkId: string, taskId: string): boolean {
    const framework = this.frameworks.get(frameworkId) ?? this.completedFrameworks.find((f) => f.id === frameworkId);
    if (framework === undefined) return false;
    for (const e of [...framework.executors.values(), ...framework.retiring, ...framework.completedExecutors]) {
      if (e.completedTasks.some((t) => t.info.task_id.value === taskId)) return true;
    }
    return false;
  }

  /** An update from the executor: into the status update manager; the task's state follows what was accepted. */
  private acceptExecutorStatus(executor: SlaveExecutor, task: SlaveTask, raw: TaskStatus): void {
    const status: TaskStatus = {
      ...raw,
      source: 'SOURCE_EXECUTOR',
      executor_id: { value: executor.id },
      ...(this.d.agentId() !== undefined ? { agent_id: { value: this.d.agentId()! } } : {}),
      timestamp: raw.timestamp ?? this.d.clock.now() / 1000,
    };
    const outcome = this.d.statusUpdates.update({ framework_id: { value: executor.frameworkId }, executor_id: { value: executor.id }, status });
    if (outcome === 'queued' || outcome === 'forwarded_once') this.applyStatus(task, status);
  }

  /** Generates an update on the executor's behalf (SOURCE_AGENT) and applies it. */
  private agentStatus(executor: SlaveExecutor, task: SlaveTask, state: TaskState, reason: TaskStatusReason, message: string): void {
    const update = this.agentUpdate(executor.frameworkId, executor.id, task.info.task_id.value, state, reason, message);
    this.applyStatus(task, update.status);
    this.d.statusUpdates.update(update);
  }

  private agentUpdate(frameworkId: string, executorId: string | undefined, taskId: string, state: TaskState, reason: TaskStatusReason, message: string): StatusUpdate {
    return agentStatusUpdate({ frameworkId, executorId, taskId, state, reason, message, agentId: this.d.agentId(), nowMs: this.d.clock.now(), uuid: newUuid() });
  }


  private applyStatus(task: SlaveTask, status: TaskStatus): void {
    this.changed();
    task.state = status.state;
    pushBounded(task.statuses, status, MAX_STATUSES_PER_TASK);
    if (isTerminalState(status.state)) task.phase = 'terminated';
  }

  private rejectLaunch(frameworkId: string, tasks: TaskInfo[], state: TaskState, reason: TaskStatusReason, message: string): void {
    this.d.logger.warn({ framework_id: frameworkId, message }, 'rejecting task launch');
    for (const t of tasks) this.d.statusUpdates.update(this.agentUpdate(frameworkId, undefined, t.task_id.value, state, reason, message));
  }

  private sendEvent(executor: SlaveExecutor, event: ExecutorEvent): void {
    const stream = executor.stream;
    if (stream === undefined || stream.closed) {
      this.d.logger.debug({ executor_id: executor.id, type: event.type }, 'executor not connected; event dropped');
      return;
    }
    // On the stream it was meant for (a re-subscription gets what it needs on its own), in
    // order on that stream. ACKNOWLEDGED needs no write of its own: if the slave dies before
    // the acknowledgement is on disk, the restarted slave resends the update to the master
    // (a duplicate, which at-least-once delivery allows); everything else needs the state
    // changed so far (the task launched, killed, the executor shutting down) on disk.
    if (this.d.checkpoint === undefined) stream.send(event);
    else this.d.checkpoint.afterDurable(() => stream.send(event), { lane: stream, ...(event.type === 'ACKNOWLEDGED' ? { needs: 0 } : {}) });
  }

  private sendHeartbeats(): void {
    for (const e of this.allExecutors()) {
      if (e.stream !== undefined && !e.stream.closed) e.stream.send({ type: 'HEARTBEAT' });
    }
  }
}
