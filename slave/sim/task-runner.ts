/**
 * The simulated containerizer's task runner: runs tasks without processes. Each task
 * follows a {@link SimTaskPlan} (from its `agora.sim.*` labels and the slave's defaults)
 * on the injected clock, and reports TASK_STARTING → TASK_RUNNING → TASK_FINISHED /
 * TASK_FAILED (or TASK_KILLED when killed) as an executor would: through the slave's
 * {@link StatusUpdateManager}, so uuids, retries, acknowledgements and re-registration
 * behave exactly as for real tasks.
 *
 * The model is the one the executor manager keeps (model.ts), so `/state` renders
 * simulated frameworks, executors and tasks like real ones. Executors are bookkeeping
 * only: command tasks share one simulated command executor per framework, tasks with an
 * ExecutorInfo (custom or default, task groups too) get that executor. An executor exists
 * while it has tasks: once its last task's terminal update is acknowledged it ends
 * (`executor_exited`, status 0) and the master releases its resources.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { randomUuidBase64 } from '../../sdk/core/uuid.js';
import { ValueInterner } from '../../sdk/resources/intern.js';
import type { Clock, TimerHandle } from '../../sdk/core/clock.js';
import type { Logger } from '../../sdk/core/log.js';
import type { AgentMessage, AgentTask, StatusUpdate } from '../../sdk/protocol/agent.js';
import {
  isTerminalState, type ExecutorInfo, type FrameworkInfo, type TaskGroupInfo, type TaskInfo, type TaskState,
  type TaskStatus, type TaskStatusReason,
} from '../../sdk/protocol/mesos.js';
import {
  MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK, MAX_COMPLETED_FRAMEWORKS, MAX_COMPLETED_TASKS_PER_EXECUTOR, MAX_STATUSES_PER_TASK,
  activateFramework, agentStatusUpdate, pushBounded, type ExecutorKind, type SlaveExecutor, type SlaveFramework, type SlaveTask,
} from '../model.js';
import type { StatusUpdateManager } from '../status-updates.js';
import type { TaskHost } from '../task-host.js';
import { planSimulatedTask, type SimDefaults, type SimTaskPlan } from './task-plan.js';

/** Executor id of the simulated command executor (the real one's id: agora-command-executor). */
export const SIM_COMMAND_EXECUTOR_ID = 'agora-command-executor';

export interface SimTaskRunnerDeps {
  clock: Clock;
  logger: Logger;
  /** Draws for the failure rate (seeded for reproducible runs). */
  random: () => number;
  defaults: SimDefaults;
  statusUpdates: StatusUpdateManager;
  /** Sends `executor_exited` (dropped when not connected: the master learns the rest at re-registration). */
  sendToMaster(msg: AgentMessage): boolean;
  agentId(): string | undefined;
  /**
   * History kept for `/state`: completed tasks per executor, completed executors per
   * framework, completed frameworks (default: the real slave's bounds). Emulated agents
   * keep none, to stay light.
   */
  keepHistory?: boolean;
  /** Logs each launch and kill at info (the slave) rather than debug (emulated agents). */
  verbose?: boolean;
  /**
   * Source of the status update uuids and container ids, in [0, 1): a seeded one makes
   * them reproducible (the test cluster on a virtual clock); default: crypto-random.
   */
  ids?: () => number;
}

/** A live simulated task: its model entry, its plan and its pending timer. */
interface SimTask {
  task: SlaveTask;
  executor: SlaveExecutor;
  plan?: SimTaskPlan;
  timer?: TimerHandle;
  /** Ids of the task group it was launched in (empty for a single task). */
  group: readonly string[];
  /**
   * `{ value }` of its framework and executor ids, shared by the tasks of one launch and by
   * every update they send (three or more per task; never mutated: they are serialised).
   */
  frameworkRef: { value: string };
  executorRef: { value: string };
}

/**
 * Live tasks by framework id, then task id. Two lookups on the ids as they arrived rather
 * than one on a joined key: a joined key is a new string to build, flatten and hash on every
 * launch, update and acknowledgement, which showed in an emulator running thousands of tasks.
 */
class TaskIndex {
  private readonly byFramework = new Map<string, Map<string, SimTask>>();

  get(frameworkId: string, taskId: string): SimTask | undefined {
    return this.byFramework.get(frameworkId)?.get(taskId);
  }

  has(frameworkId: string, taskId: string): boolean {
    return this.byFramework.get(frameworkId)?.has(taskId) ?? false;
  }

  set(frameworkId: string, taskId: string, t: SimTask): void {
    let tasks = this.byFramework.get(frameworkId);
    if (tasks === undefined) {
      tasks = new Map();
      this.byFramework.set(frameworkId, tasks);
    }
    tasks.set(taskId, t);
  }

  delete(frameworkId: string, taskId: string): void {
    const tasks = this.byFramework.get(frameworkId);
    if (tasks === undefined) return;
    tasks.delete(taskId);
    if (tasks.size === 0) this.byFramework.delete(frameworkId);
  }

  /** Every task, framework by framework. */
  *values(): IterableIterator<SimTask> {
    for (const tasks of this.byFramework.values()) yield* tasks.values();
  }
}

/**
 * Resource lists and ids shared by the tasks of every simulated agent of the process: an
 * emulator's tasks are mostly launched alike, and each run_task brought its own parsed copy
 * of the same resources, agent id, framework id and executor id, held for the task's life.
 */
const shared = new ValueInterner();

/** The group of a task launched alone (shared: never written). */
const NO_GROUP: readonly string[] = Object.freeze([]);

/** Fills `b` (16 bytes, reused: one per runner, read at once) from a [0, 1) source. */
function bytesFrom(random: () => number, b: Buffer): Buffer {
  for (let i = 0; i < 16; i++) b[i] = Math.floor(random() * 256);
  return b;
}

/** A uuid-shaped id (version 4 layout) from 16 bytes. */
function uuidString(b: Buffer): string {
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Runs the tasks of one simulated slave. */
export class SimTaskRunner implements TaskHost {
  readonly frameworks = new Map<string, SlaveFramework>();
  readonly completedFrameworks: SlaveFramework[] = [];
  /** Every task not yet completed (terminal and acknowledged), by framework and task id. */
  private readonly tasks = new TaskIndex();
  private closed = false;
  private readonly keepHistory: boolean;

  private readonly newUuid: () => string;
  /** `{ value }` of the last agent id seen, reused by every update while the id stays. */
  private agentRef: { value: string } | undefined;
  private readonly newContainerId: () => string;

  constructor(private readonly d: SimTaskRunnerDeps) {
    this.keepHistory = d.keepHistory ?? true;
    const ids = d.ids;
    // Status update uuids travel as base64 of 16 bytes (as the slave's own). The bytes go
    // through one scratch buffer: both ids are strings made from it at once, and a buffer
    // per update was a visible share of an emulator sending thousands of updates a second.
    const scratch = Buffer.alloc(16);
    this.newUuid = ids !== undefined ? () => bytesFrom(ids, scratch).toString('base64') : () => randomUuidBase64();
    this.newContainerId = ids !== undefined ? () => uuidString(bytesFrom(ids, scratch)) : () => randomUUID();
  }

  /** Tasks not yet terminal. */
  liveTaskCount(): number {
    let n = 0;
    for (const t of this.tasks.values()) if (t.task.phase !== 'terminated') n++;
    return n;
  }

  // ---------------------------------------------------------------- master commands

  runTask(frameworkInfo: FrameworkInfo, task: TaskInfo): void {
    const frameworkId = frameworkInfo.id?.value;
    if (frameworkId === undefined) return;
    if (task.executor !== undefined) {
      const kind: ExecutorKind = task.executor.command?.value !== undefined ? 'custom' : 'default';
      this.launch(frameworkInfo, { ...task.executor, framework_id: { value: frameworkId } }, kind, [task], false);
    } else if (task.command !== undefined) {
      this.launch(frameworkInfo, this.commandExecutorInfo(frameworkId), 'command', [task], false);
    } else {
      this.agentUpdate(frameworkId, undefined, task.task_id.value, 'TASK_ERROR', 'REASON_TASK_INVALID', 'TaskInfo must have either command or executor set');
    }
  }

  runTaskGroup(frameworkInfo: FrameworkInfo, executor: ExecutorInfo, group: TaskGroupInfo): void {
    const frameworkId = frameworkInfo.id?.value;
    const tasks = group.tasks ?? [];
    if (frameworkId === undefined || tasks.length === 0) return;
    const kind: ExecutorKind = executor.type !== 'DEFAULT' && executor.command?.value !== undefined ? 'custom' : 'default';
    this.launch(frameworkInfo, { ...executor, framework_id: { value: frameworkId } }, kind, tasks, true);
  }

  /** Kills a live task (TASK_KILLING first when the framework asked for it, then TASK_KILLED); an unknown one is reported lost. */
  killTask(frameworkId: string, taskId: string): void {
    const t = this.tasks.get(frameworkId, taskId);
    if (t === undefined) {
      if (this.isCompletedTask(frameworkId, taskId)) return;
      const framework = this.frameworks.get(frameworkId);
      const partitionAware = framework?.info.capabilities?.some((c) => c.type === 'PARTITION_AWARE') ?? false;
      this.agentUpdate(frameworkId, undefined, taskId, partitionAware ? 'TASK_DROPPED' : 'TASK_LOST', 'REASON_EXECUTOR_TERMINATED', 'Cannot find executor');
      return;
    }
    if (t.task.phase === 'terminated') return;
    this.log({ framework_id: frameworkId, task_id: taskId }, 'killing simulated task');
    const framework = this.frameworks.get(frameworkId);
    if (framework?.info.capabilities?.some((c) => c.type === 'TASK_KILLING_STATE') === true) this.executorUpdate(t, 'TASK_KILLING');
    this.end(t, 'TASK_KILLED', 'Command terminated with signal SIGTERM');
  }

  /** Forgets the framework: its tasks end silently (nobody will acknowledge), its executors exit. */
  shutdownFramework(frameworkId: string): void {
    this.d.statusUpdates.cleanupFramework(frameworkId);
    const framework = this.frameworks.get(frameworkId);
    if (framework === undefined) return;
    framework.state = 'terminating';
    for (const e of [...framework.executors.values()]) {
      for (const task of [...e.tasks.values()]) {
        const t = this.tasks.get(frameworkId, task.info.task_id.value);
        t?.timer?.cancel();
        task.phase = 'terminated';
        this.completeTask(e, task);
      }
      this.executorTerminated(e);
      this.forgetExecutor(e);
    }
  }

  /** The executor kills its live tasks (TASK_KILLED) and exits. */
  shutdownExecutorById(frameworkId: string, executorId: string): void {
    const executor = this.frameworks.get(frameworkId)?.executors.get(executorId);
    if (executor === undefined) return;
    for (const task of [...executor.tasks.values()]) {
      const t = this.tasks.get(frameworkId, task.info.task_id.value);
      if (t !== undefined && t.task.phase !== 'terminated') this.end(t, 'TASK_KILLED', 'Command terminated with signal SIGTERM');
    }
    this.executorTerminated(executor);
  }

  /** A simulated executor has nobody to read framework messages: dropped. */
  frameworkMessage(frameworkId: string, executorId: string): void {
    this.d.logger.debug({ framework_id: frameworkId, executor_id: executorId }, 'dropping framework message to a simulated executor');
  }

  shutdownAll(): void {
    for (const f of [...this.frameworks.values()]) this.shutdownFramework(f.id);
    this.d.statusUpdates.reset();
  }

  /** A task whose terminal update was acknowledged is completed; an executor left without tasks exits. */
  onAcknowledged(update: StatusUpdate): void {
    const t = this.tasks.get(update.framework_id.value, update.status.task_id.value);
    if (t === undefined) return;
    if (t.task.phase === 'terminated' && !this.d.statusUpdates.hasPending(t.task.frameworkId, t.task.info.task_id.value)) {
      this.completeTask(t.executor, t.task);
      if (t.executor.tasks.size === 0) {
        this.executorTerminated(t.executor);
        this.forgetExecutor(t.executor);
      }
    }
  }

  reregistrationState(): { frameworks: FrameworkInfo[]; tasks: AgentTask[] } {
    const tasks: AgentTask[] = [];
    for (const t of this.tasks.values()) {
      tasks.push({ framework_id: { value: t.task.frameworkId }, executor_id: { value: t.executor.id }, task: t.task.info, state: t.task.state });
    }
    return { frameworks: [...this.frameworks.values()].map((f) => f.info), tasks };
  }

  /** Cancels every timer; nothing happens afterwards. */
  close(): void {
    this.closed = true;
    for (const t of this.tasks.values()) t.timer?.cancel();
  }

  // ---------------------------------------------------------------- internals

  private launch(frameworkInfo: FrameworkInfo, executorInfo: ExecutorInfo, kind: ExecutorKind, infos: TaskInfo[], asGroup: boolean): void {
    if (this.closed) return;
    const frameworkId = frameworkInfo.id!.value;
    if (infos.some((i) => this.tasks.has(frameworkId, i.task_id.value))) {
      this.d.logger.warn({ framework_id: frameworkId }, 'ignoring launch of a task that already exists');
      return;
    }
    const framework = this.getOrCreateFramework(frameworkInfo);
    if (framework.state === 'terminating') return;
    const executorId = executorInfo.executor_id.value;
    let executor = framework.executors.get(executorId);
    if (executor === undefined || executor.state === 'terminated') {
      executor = this.createExecutor(framework, executorInfo, kind);
      framework.executors.set(executorId, executor);
    }
    const group = asGroup ? infos.map((i) => i.task_id.value) : NO_GROUP;
    const launched: SimTask[] = [];
    const frameworkRef = shared.idRef({ value: frameworkId });
    const executorRef = shared.idRef({ value: executorId });
    for (const info of infos) {
      // The TaskInfo is kept as received but for these equal shared values (it is re-sent
      // as is at re-registration; never mutated otherwise).
      if (Array.isArray(info.resources)) info.resources = shared.resourceList(info.resources);
      if (info.agent_id !== undefined) info.agent_id = shared.idRef(info.agent_id);
      const task: SlaveTask = { info, frameworkId, executorId, phase: 'launched', state: 'TASK_STAGING', statuses: [] };
      executor.tasks.set(info.task_id.value, task);
      const t: SimTask = { task, executor, group, frameworkRef, executorRef };
      this.tasks.set(frameworkId, info.task_id.value, t);
      launched.push(t);
    }
    if (this.logsTasks()) this.log({ framework_id: frameworkId, executor_id: executorId, tasks: group.length > 0 ? group : infos[0]!.task_id.value }, 'launching simulated task(s)');
    for (const t of launched) this.start(t);
  }

  /** TASK_STARTING now, then the plan: TASK_RUNNING after the start delay, the end after the duration. */
  private start(t: SimTask): void {
    if (t.task.phase === 'terminated') return; // a task of its group failed first
    const planned = planSimulatedTask(t.task.info.labels?.labels, this.d.defaults, this.d.random);
    if (!planned.ok) {
      this.agentStatus(t, 'TASK_FAILED', 'REASON_TASK_INVALID', planned.message);
      this.endGroup(t);
      return;
    }
    const plan = planned.plan;
    t.plan = plan;
    this.executorUpdate(t, 'TASK_STARTING');
    this.after(t, plan.startDelayMs, () => {
      if (plan.failsAtStart) {
        this.end(t, 'TASK_FAILED', plan.message);
        return;
      }
      this.executorUpdate(t, 'TASK_RUNNING');
      if (plan.outcome === 'forever') return;
      this.after(t, plan.durationMs, () => this.end(t, plan.outcome === 'finish' ? 'TASK_FINISHED' : 'TASK_FAILED', plan.message));
    });
  }

  /** Runs `fn` after `ms` on the clock (at once for 0, so a virtual clock needs no tick for instant tasks). */
  private after(t: SimTask, ms: number, fn: () => void): void {
    if (ms <= 0) {
      fn();
      return;
    }
    t.timer = this.d.clock.setTimeout(() => {
      t.timer = undefined;
      if (!this.closed && t.task.phase !== 'terminated') fn();
    }, ms);
  }

  /** The terminal update; a task group does not outlive a member that did not finish (Mesos's default executor). */
  private end(t: SimTask, state: 'TASK_FINISHED' | 'TASK_FAILED' | 'TASK_KILLED', message: string): void {
    if (t.task.phase === 'terminated') return;
    t.timer?.cancel();
    t.timer = undefined;
    this.executorUpdate(t, state, message);
    if (state !== 'TASK_FINISHED') this.endGroup(t);
  }

  private endGroup(t: SimTask): void {
    for (const id of t.group) {
      const other = this.tasks.get(t.task.frameworkId, id);
      if (other === undefined || other === t || other.task.phase === 'terminated') continue;
      // Not started yet (the group is being launched): it is killed before it starts.
      if (other.plan === undefined) this.agentStatus(other, 'TASK_KILLED', 'REASON_TASK_KILLED_DURING_LAUNCH', 'Killed because another task of its group did not start');
      else this.end(other, 'TASK_KILLED', 'Command terminated with signal SIGTERM');
    }
  }

  /** An update on the executor's behalf (SOURCE_EXECUTOR), as the command executor sends it. */
  private executorUpdate(t: SimTask, state: TaskState, message?: string): void {
    const agentId = this.d.agentId();
    // Built field by field (no spreads of temporary objects), in the order the spreads gave.
    const status: TaskStatus = { task_id: t.task.info.task_id, state, source: 'SOURCE_EXECUTOR', executor_id: t.executorRef };
    if (agentId !== undefined) status.agent_id = this.agentIdRef(agentId);
    if (message !== undefined) status.message = message;
    status.timestamp = this.d.clock.now() / 1000;
    status.uuid = this.newUuid();
    this.apply(t.task, status);
    this.d.statusUpdates.update({ framework_id: t.frameworkRef, executor_id: t.executorRef, status });
  }

  private agentIdRef(agentId: string): { value: string } {
    if (this.agentRef?.value !== agentId) this.agentRef = { value: agentId };
    return this.agentRef;
  }

  /** An update the agent generates (SOURCE_AGENT): invalid labels, kills before start. */
  private agentStatus(t: SimTask, state: TaskState, reason: TaskStatusReason, message: string): void {
    const update = this.agentUpdate(t.task.frameworkId, t.executor.id, t.task.info.task_id.value, state, reason, message);
    this.apply(t.task, update.status);
  }

  private agentUpdate(frameworkId: string, executorId: string | undefined, taskId: string, state: TaskState, reason: TaskStatusReason, message: string): StatusUpdate {
    const update = agentStatusUpdate({ frameworkId, executorId, taskId, state, reason, message, agentId: this.d.agentId(), nowMs: this.d.clock.now(), uuid: this.newUuid() });
    this.d.statusUpdates.update(update);
    return update;
  }


  private apply(task: SlaveTask, status: TaskStatus): void {
    task.state = status.state;
    if (this.keepHistory) pushBounded(task.statuses, status, MAX_STATUSES_PER_TASK);
    // A one-element literal: storing into the launch's empty array would grow it to 17
    // slots, held by every running task of an emulated agent.
    else if (task.statuses.length === 0) task.statuses = [status];
    else task.statuses[0] = status;
    if (isTerminalState(status.state)) task.phase = 'terminated';
  }

  private completeTask(executor: SlaveExecutor, task: SlaveTask): void {
    const taskId = task.info.task_id.value;
    executor.tasks.delete(taskId);
    if (this.tasks.get(task.frameworkId, taskId)?.task === task) this.tasks.delete(task.frameworkId, taskId);
    if (this.keepHistory) pushBounded(executor.completedTasks, task, MAX_COMPLETED_TASKS_PER_EXECUTOR);
  }

  /** The simulated executor exits (status 0): the master releases what it accounted to it. */
  private executorTerminated(executor: SlaveExecutor): void {
    if (executor.state === 'terminated') return;
    executor.state = 'terminated';
    const framework = this.frameworks.get(executor.frameworkId);
    if (!this.closed) {
      this.d.sendToMaster({ type: 'executor_exited', framework_id: { value: executor.frameworkId }, executor_id: { value: executor.id }, status: 0 });
    }
    if (framework !== undefined && this.keepHistory) pushBounded(framework.completedExecutors, executor, MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK);
  }

  /**
   * Drops an exited executor from its framework once its tasks are completed (an executor
   * that exited with unacknowledged terminal updates stays listed until they are
   * acknowledged), and the framework once it has no executor left.
   */
  private forgetExecutor(executor: SlaveExecutor): void {
    if (executor.state !== 'terminated' || executor.tasks.size > 0) return;
    const framework = this.frameworks.get(executor.frameworkId);
    if (framework === undefined) return;
    if (framework.executors.get(executor.id) === executor) framework.executors.delete(executor.id);
    if (framework.executors.size > 0) return;
    this.frameworks.delete(framework.id);
    if (this.keepHistory) pushBounded(this.completedFrameworks, framework, MAX_COMPLETED_FRAMEWORKS);
  }

  private isCompletedTask(frameworkId: string, taskId: string): boolean {
    const framework = this.frameworks.get(frameworkId) ?? this.completedFrameworks.find((f) => f.id === frameworkId);
    if (framework === undefined) return false;
    for (const e of [...framework.executors.values(), ...framework.completedExecutors]) {
      if (e.completedTasks.some((t) => t.info.task_id.value === taskId)) return true;
    }
    return false;
  }

  private getOrCreateFramework(info: FrameworkInfo): SlaveFramework {
    return activateFramework(this.frameworks, this.completedFrameworks, info);
  }


  private createExecutor(framework: SlaveFramework, info: ExecutorInfo, kind: ExecutorKind): SlaveExecutor {
    return {
      id: info.executor_id.value,
      frameworkId: framework.id,
      info,
      kind,
      containerId: this.newContainerId(),
      directory: '',
      state: 'running',
      tasks: new Map(),
      queue: [],
      completedTasks: [],
      pendingKills: [],
      subscribed: true,
      launchStarted: true,
      startedAt: this.d.clock.now(),
    };
  }

  private commandExecutorInfo(frameworkId: string): ExecutorInfo {
    return {
      executor_id: { value: SIM_COMMAND_EXECUTOR_ID },
      framework_id: { value: frameworkId },
      name: 'Agora Command Executor (simulated)',
      source: SIM_COMMAND_EXECUTOR_ID,
    };
  }

  /** Whether launches and kills are logged at all (emulated agents log them at debug, usually off): the fields are not built otherwise. */
  private logsTasks(): boolean {
    return this.d.verbose === true || (this.d.logger.isLevelEnabled?.('debug') ?? true);
  }

  private log(fields: Record<string, unknown>, msg: string): void {
    if (this.d.verbose === true) this.d.logger.info(fields, msg);
    else this.d.logger.debug(fields, msg);
  }
}
