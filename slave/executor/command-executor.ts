/**
 * Agora's built-in command executor (Mesos `mesos-executor`, src/launcher/executor.cpp, and
 * for LAUNCH_GROUP the default executor, src/launcher/default_executor.cpp), built on the
 * executor SDK. One process hosts every command task of one framework on one slave.
 *
 * Per task: sandbox `<executor sandbox>/tasks/<taskId>`, URIs fetched into it, the command
 * spawned in its own process group (`sh -c value`, or argv when `shell` is false) with the
 * environment of task-env.ts, and TASK_STARTING → TASK_RUNNING → TASK_FINISHED / TASK_FAILED /
 * TASK_KILLED. A kill sends TASK_KILLING when the framework has the TASK_KILLING_STATE
 * capability, SIGTERM to the process group, SIGKILL after the grace period. In a task group,
 * a task ending in anything but TASK_FINISHED kills the rest of its group.
 *
 * A task with a `health_check` is checked while it runs (health-checker.ts): each health
 * change is a TASK_RUNNING update with `healthy` and REASON_TASK_HEALTH_CHECK_STATUS_UPDATED;
 * after `consecutive_failures` failures in a row the task is killed and its TASK_KILLED
 * carries `healthy: false` (Mesos `CommandExecutor::taskHealthUpdated` and `reaped`).
 *
 * @module
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { systemClock, type Clock, type TimerHandle } from '../../sdk/core/clock.js';
import { AgoraError } from '../../sdk/core/errors.js';
import { silentLogger } from '../../sdk/core/log.js';
import type { ExecutorDriver, StatusUpdateInput } from '../../sdk/executor/driver.js';
import { nanosecondsToMs } from '../../sdk/executor/duration.js';
import type { KillPolicy, TaskGroupInfo, TaskID, TaskInfo, TaskStatusReason } from '../../sdk/protocol/mesos.js';
import { fetchUris } from '../fetcher.js';
import { terminalOutcome } from './exit-status.js';
import { parseHealthCheck, type HealthCheckSpec } from './health-check-spec.js';
import { HealthChecker } from './health-checker.js';
import { runHealthProbe, type ProbeResult } from './health-probes.js';
import type { HealthReport } from './health-schedule.js';
import { buildTaskEnv, taskEnvBase, type TaskEnvBase } from './task-env.js';
import { createTaskLauncher, type TaskLauncher } from './task-launcher.js';

/** Mesos's default kill grace period for command tasks. */
export const DEFAULT_KILL_GRACE_MS = 3_000;

/** Where a task is in its life inside this executor. */
type TaskPhase = 'launching' | 'running' | 'exited';

interface TaskRecord {
  readonly info: TaskInfo;
  /** Ids of the other tasks of its task group, when launched by LAUNCH_GROUP. */
  readonly group: readonly string[];
  phase: TaskPhase;
  /** Process group id (= the child's pid) while the process may be alive. */
  pgid: number | undefined;
  killRequested: boolean;
  /** When the pending SIGKILL fires (clock ms), while a kill is in progress. */
  escalateAt: number | undefined;
  escalation: TimerHandle | undefined;
  /** The task's compiled `health_check`, if it has one. */
  healthSpec: HealthCheckSpec | undefined;
  /** Runs the health check while the task runs. */
  checker: HealthChecker | undefined;
  /** The kill came from failing health checks (the terminal update then says `healthy: false`). */
  killedByHealthCheck: boolean;
  /** Resolves once the task has reached a terminal state. */
  readonly done: Promise<void>;
  markDone: () => void;
}

export interface CommandExecutorOptions {
  driver: ExecutorDriver;
  /** The executor's environment, the base of every task's environment; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  logger?: Logger;
  /** Fetcher; default slave/fetcher.ts `fetchUris`. */
  fetch?: typeof fetchUris;
  /** Grace period when neither KILL nor the task has a kill policy; default 3 s. */
  defaultGracePeriodMs?: number;
  /** Starts the tasks' processes; default {@link createTaskLauncher} (`AGORA_TASK_LAUNCHER` from `env`). */
  launcher?: TaskLauncher;
}

/**
 * Runs command tasks for the slave. `run()` subscribes and resolves with the exit status
 * for the process: 0 after SHUTDOWN, 1 after the recovery timeout.
 *
 * @example
 * ```ts
 * const driver = new ExecutorDriver({ env: process.env, logger });
 * const code = await new CommandExecutor({ driver, logger }).run();
 * process.exit(code);
 * ```
 */
export class CommandExecutor {
  private readonly driver: ExecutorDriver;
  /** What each task inherits of the executor's environment, filtered once. */
  private readonly taskEnv: TaskEnvBase;
  /** `<executor sandbox>/tasks`, normalised: each task's sandbox is a directory in it. */
  private readonly tasksDir: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly fetch: typeof fetchUris;
  private readonly defaultGraceMs: number;
  private readonly launcher: TaskLauncher;
  /** The tasks of this executor by id, until their terminal update is handed to the driver (see `terminate`). */
  private readonly tasks = new Map<string, TaskRecord>();
  /** Ended tasks whose terminal update is still being sent (shutdown waits for them). */
  private readonly ending = new Set<TaskRecord>();
  private shuttingDown = false;
  private finished = false;
  private resolveRun: ((code: number) => void) | undefined;

  constructor(options: CommandExecutorOptions) {
    this.driver = options.driver;
    const env = options.env ?? process.env;
    // Read once: every task's environment starts from it, and enumerating `process.env`
    // (each variable read through libc) cost ~0.5 ms per task.
    this.taskEnv = taskEnvBase(env);
    this.tasksDir = path.join(this.driver.config.sandboxDir, 'tasks');
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger();
    this.fetch = options.fetch ?? fetchUris;
    this.defaultGraceMs = options.defaultGracePeriodMs ?? DEFAULT_KILL_GRACE_MS;
    this.launcher = options.launcher ?? createTaskLauncher({ clock: this.clock, logger: this.logger, env });
  }

  /** Subscribes and runs until SHUTDOWN or the recovery timeout; resolves with the exit status. */
  run(): Promise<number> {
    const result = new Promise<number>((resolve) => {
      this.resolveRun = resolve;
    });
    this.driver
      .onSubscribed((info) => {
        this.logger.info({ agent: info.agentInfo.hostname, containerId: info.containerId }, 'subscribed to the agent');
      })
      .onLaunch((task) => this.launch(task, []))
      .onLaunchGroup((group) => this.launchGroup(group))
      .onKill((taskId, policy) => this.kill(taskId, policy))
      .onShutdown(() => this.shutdown('SHUTDOWN from the agent', 0))
      .onRecoveryTimeout(() => this.shutdown('recovery timeout', 1))
      .onError((err) => {
        this.logger.error({ err }, 'executor error');
      });
    this.driver.start();
    return result;
  }

  /** Ids of the tasks whose process may still be alive. */
  liveTaskIds(): string[] {
    return [...this.tasks.values()].filter((t) => t.phase !== 'exited').map((t) => t.info.task_id.value);
  }

  /** SIGKILLs every task's process group now (last resort when the executor itself is dying). Synchronous. */
  killAllNow(): void {
    for (const task of this.tasks.values()) {
      if (task.pgid !== undefined) signalGroup(task.pgid, 'SIGKILL');
    }
  }

  /** Kills every task with its grace (capped at `graceCapMs`), waits for the terminal updates, then finishes with `code`. */
  async shutdown(reason: string, code: number): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    const canReport = code === 0;
    const budgetMs = this.driver.config.shutdownGracePeriodMs;
    // Leave the slave's own shutdown grace a margin to receive the terminal updates.
    const graceCapMs = Math.max(0, Math.min(budgetMs * 0.8, budgetMs - 1_000));
    this.logger.info({ reason, tasks: this.liveTaskIds() }, 'shutting down');
    const deadline = this.clock.setTimeout(() => {
      this.logger.warn({ tasks: this.liveTaskIds() }, 'shutdown grace period over; killing what is left');
      this.killAllNow();
      this.finish(code);
    }, budgetMs);
    for (const task of this.tasks.values()) {
      if (task.phase !== 'exited') this.killTask(task, undefined, graceCapMs, canReport);
    }
    await Promise.all([...this.tasks.values(), ...this.ending].map((t) => t.done));
    if (canReport) {
      const acked = await this.driver.waitForAcknowledgements(budgetMs);
      if (!acked) this.logger.warn('exiting with unacknowledged status updates');
    }
    deadline.cancel();
    this.finish(code);
  }

  private finish(code: number): void {
    if (this.finished) return;
    this.finished = true;
    this.launcher.close();
    void this.driver.stop().then(() => this.resolveRun?.(code));
  }

  // ---- launching ----

  private launchGroup(group: TaskGroupInfo): void {
    const tasks = group.tasks ?? [];
    const ids = tasks.map((t) => t.task_id.value);
    for (const task of tasks) {
      void this.launch(task, ids.filter((id) => id !== task.task_id.value));
    }
  }

  private async launch(task: TaskInfo, group: readonly string[]): Promise<void> {
    const id = task.task_id.value;
    if (this.tasks.has(id)) {
      this.logger.warn({ taskId: id }, 'ignoring LAUNCH of a task this executor already has');
      return;
    }
    if (this.shuttingDown) {
      this.logger.warn({ taskId: id }, 'ignoring LAUNCH while shutting down');
      return;
    }
    let markDone!: () => void;
    const done = new Promise<void>((resolve) => {
      markDone = resolve;
    });
    const record: TaskRecord = {
      info: task, group, phase: 'launching', pgid: undefined, killRequested: false,
      escalateAt: undefined, escalation: undefined, healthSpec: undefined, checker: undefined, killedByHealthCheck: false, done, markDone,
    };
    this.tasks.set(id, record);
    this.logger.debug({ taskId: id, name: task.name }, 'launching task');
    // Not awaited: the driver sends a task's updates in order, so the launch need not wait
    // for the slave's answer (Mesos's executor does not wait either).
    void this.send(task.task_id, { state: 'TASK_STARTING' });

    if (!isSafePathComponent(id)) {
      return this.terminate(record, 'TASK_FAILED', `Task id ${JSON.stringify(id)} cannot name a sandbox directory`, 'REASON_TASK_INVALID');
    }
    const command = task.command;
    if (command?.value === undefined || command.value === '') {
      return this.terminate(record, 'TASK_FAILED', 'Task has no command to run (CommandInfo.value is empty)', 'REASON_TASK_INVALID');
    }
    if (task.health_check !== undefined) {
      // Mesos's master refuses such a task ("Task's health check is invalid: …"); ours does
      // not validate health checks, so the executor does, before starting anything.
      const health = parseHealthCheck(task.health_check);
      if (!health.ok) return this.terminate(record, 'TASK_FAILED', `Task's health check is invalid: ${health.error}`, 'REASON_TASK_INVALID');
      record.healthSpec = health.spec;
    }
    // Joined by hand: the id is one safe path segment (checked above) and the tasks
    // directory is normalised once; path.join normalised the whole long path, three times a task.
    const sandboxDir = `${this.tasksDir}/${id}`;
    let env: Record<string, string>;
    const uris = command.uris ?? [];
    // Without URIs the launcher creates the sandbox as it starts the process.
    if (uris.length > 0) {
      try {
        await mkdir(sandboxDir, { recursive: true });
        await this.fetch(uris, sandboxDir, { logger: this.logger.child({ taskId: id }) });
      } catch (err) {
        if (record.killRequested) return this.terminate(record, 'TASK_KILLED', 'Task killed before it started', 'REASON_TASK_KILLED_DURING_LAUNCH');
        return this.terminate(record, 'TASK_FAILED', `Failed to fetch URIs: ${(err as Error).message}`, 'REASON_CONTAINER_LAUNCH_FAILED');
      }
    }
    if (record.killRequested) {
      return this.terminate(record, 'TASK_KILLED', 'Task killed before it started', 'REASON_TASK_KILLED_DURING_LAUNCH');
    }
    try {
      env = buildTaskEnv({
        base: this.taskEnv,
        task,
        sandboxDir,
        frameworkId: this.driver.config.frameworkId,
        agentId: this.driver.agentId,
        hostname: this.driver.subscription?.agentInfo.hostname ?? '',
      });
    } catch (err) {
      return this.terminate(record, 'TASK_FAILED', (err as Error).message, 'REASON_TASK_INVALID');
    }
    this.spawnTask(record, sandboxDir, env, uris.length === 0);
  }

  private spawnTask(record: TaskRecord, sandboxDir: string, env: Record<string, string>, makeSandbox: boolean): void {
    const id = record.info.task_id.value;
    const command = record.info.command!;
    const shell = command.shell !== false;
    this.launcher.launch({
      file: shell ? '/bin/sh' : command.value!,
      // Mesos passes `arguments` as the whole argv, argv[0] included.
      args: shell ? ['-c', command.value!] : (command.arguments ?? []).slice(1),
      argv0: shell ? 'sh' : (command.arguments?.[0] ?? command.value!),
      cwd: sandboxDir,
      makeCwd: makeSandbox,
      env,
      stdoutPath: `${sandboxDir}/stdout`,
      stderrPath: `${sandboxDir}/stderr`,
    }).then((proc) => {
      record.pgid = proc.pid;
      record.phase = 'running';
      this.logger.info({ taskId: id, pid: proc.pid }, 'task running');
      void this.send(record.info.task_id, { state: 'TASK_RUNNING' });
      // A KILL that came while the process was starting.
      if (record.killRequested && record.escalateAt === undefined) this.killTask(record, undefined, undefined, true);
      else this.startHealthChecks(record, sandboxDir, env);
      void proc.exited.then(({ code, signal, groupKilled }) => {
        // Mesos destroys the whole container when the task's process ends; here that is its
        // process group (which the helper launchers kill themselves as they reap the task).
        if (record.pgid !== undefined && groupKilled !== true) signalGroup(record.pgid, 'SIGKILL');
        record.pgid = undefined;
        const outcome = terminalOutcome({ code, signal, killed: record.killRequested });
        this.logger.info({ taskId: id, code, signal, state: outcome.state }, 'task process exited');
        void this.terminate(record, outcome.state, outcome.message);
      });
    }, (err: unknown) => {
      void this.terminate(record, 'TASK_FAILED', `Failed to launch the command: ${(err as Error).message}`, 'REASON_CONTAINER_LAUNCH_FAILED');
    });
  }

  // ---- health checks ----

  private startHealthChecks(record: TaskRecord, sandboxDir: string, env: Record<string, string>): void {
    const spec = record.healthSpec;
    if (spec === undefined) return;
    const taskId = record.info.task_id.value;
    const logger = this.logger.child({ taskId, healthCheck: spec.probe.type });
    record.checker = new HealthChecker({
      spec,
      clock: this.clock,
      logger,
      probe: (signal) => runHealthProbe(spec.probe, spec.timeoutMs, { clock: this.clock, env, cwd: sandboxDir, signal }),
      onReport: (report, kill, result) => this.onHealthReport(record, report, kill, result),
    });
    record.checker.start();
  }

  /** Mesos `CommandExecutor::taskHealthUpdated`: no health updates once a kill started. */
  private onHealthReport(record: TaskRecord, report: HealthReport, kill: boolean, result: ProbeResult): void {
    if (record.phase !== 'running' || record.killRequested) return;
    this.logger.info({ taskId: record.info.task_id.value, healthy: report.healthy, consecutiveFailures: report.consecutiveFailures, message: result.message }, 'task health changed');
    void this.send(record.info.task_id, { state: 'TASK_RUNNING', healthy: report.healthy, reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED' });
    if (kill) {
      this.logger.warn({ taskId: record.info.task_id.value, consecutiveFailures: report.consecutiveFailures }, 'killing the task: health check failed');
      record.killedByHealthCheck = true;
      this.killTask(record, undefined, undefined, true);
    }
  }

  // ---- killing ----

  private kill(taskId: TaskID, policy: KillPolicy | undefined): void {
    const record = this.tasks.get(taskId.value);
    if (record === undefined) {
      this.logger.warn({ taskId: taskId.value }, 'KILL for an unknown task ignored');
      return;
    }
    this.killTask(record, policy, undefined, true);
  }

  /**
   * Starts (or shortens) a kill. `graceCapMs` bounds the grace period (shutdown);
   * `report` is false when updates can no longer be sent (recovery timeout).
   */
  private killTask(record: TaskRecord, policy: KillPolicy | undefined, graceCapMs: number | undefined, report: boolean): void {
    if (record.phase === 'exited') return;
    // Mesos pauses health checking when a kill starts.
    record.checker?.stop();
    const nanos = policy?.grace_period?.nanoseconds ?? record.info.kill_policy?.grace_period?.nanoseconds;
    let graceMs = nanos !== undefined ? Math.max(0, nanosecondsToMs(nanos)) : this.defaultGraceMs;
    if (graceCapMs !== undefined) graceMs = Math.min(graceMs, graceCapMs);
    const firstKill = !record.killRequested;
    record.killRequested = true;
    // Still fetching or starting: the launch path checks killRequested once it gets there.
    if (record.phase === 'launching') return;
    const pgid = record.pgid;
    if (pgid === undefined) return;
    const escalateAt = this.clock.now() + graceMs;
    if (record.escalateAt !== undefined && record.escalateAt <= escalateAt) return; // a kill with an earlier deadline is running
    if (firstKill || record.escalateAt === undefined) {
      this.logger.info({ taskId: record.info.task_id.value, graceMs }, 'killing task');
      if (report && this.frameworkHas('TASK_KILLING_STATE')) void this.send(record.info.task_id, { state: 'TASK_KILLING' });
      signalGroup(pgid, 'SIGTERM');
    }
    record.escalation?.cancel();
    record.escalateAt = escalateAt;
    record.escalation = this.clock.setTimeout(() => {
      if (record.pgid !== undefined) {
        this.logger.warn({ taskId: record.info.task_id.value }, 'grace period over; sending SIGKILL');
        signalGroup(record.pgid, 'SIGKILL');
      }
    }, graceMs);
  }

  // ---- endings ----

  private async terminate(record: TaskRecord, state: 'TASK_FINISHED' | 'TASK_FAILED' | 'TASK_KILLED', message: string, reason?: TaskStatusReason): Promise<void> {
    if (record.phase === 'exited') return;
    record.phase = 'exited';
    record.escalation?.cancel();
    record.escalation = undefined;
    record.checker?.stop();
    // Mesos marks the end of a task killed by its health check with `healthy: false` (no special reason).
    const healthy = state === 'TASK_KILLED' && record.killedByHealthCheck ? { healthy: false } : {};
    const sent = this.send(record.info.task_id, { state, message, ...(reason !== undefined ? { reason } : {}), ...healthy });
    // Forgotten as its terminal update goes to the driver (which keeps the update until the
    // slave acknowledges it): this executor runs every command task of its framework on this
    // slave for as long as there is one (a record kept per task ever run grew without bound),
    // and Mesos lets a framework reuse the id of a task that has ended. Not after the send
    // resolves: the slave may forward the update, and the framework relaunch the id, first.
    if (this.tasks.get(record.info.task_id.value) === record) this.tasks.delete(record.info.task_id.value);
    this.ending.add(record);
    await sent;
    this.ending.delete(record);
    record.markDone();
    // Mesos's default executor kills the rest of a task group when one task does not finish.
    if (state !== 'TASK_FINISHED' && record.group.length > 0) {
      for (const otherId of record.group) {
        const other = this.tasks.get(otherId);
        if (other !== undefined && other.phase !== 'exited' && !other.killRequested) {
          this.logger.info({ taskId: otherId, because: record.info.task_id.value }, 'killing the rest of the task group');
          this.killTask(other, undefined, undefined, true);
        }
      }
    }
  }

  private async send(taskId: TaskID, update: Omit<StatusUpdateInput, 'task_id'>): Promise<void> {
    if (this.driver.state === 'stopped') return;
    try {
      await this.driver.update({ task_id: taskId, ...update });
    } catch (err) {
      this.logger.error({ err, taskId: taskId.value, state: update.state }, 'status update failed');
    }
  }

  private frameworkHas(capability: string): boolean {
    return (this.driver.subscription?.frameworkInfo.capabilities ?? []).some((c) => c.type === capability);
  }
}

/** Signals a process group, ignoring one that is already gone. */
function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') {
      throw new AgoraError('AGORA_EXECUTOR_KILL', `cannot send ${signal} to process group ${pgid}: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** Mesos task ids become directory names; these cannot. */
function isSafePathComponent(id: string): boolean {
  return id !== '' && id !== '.' && id !== '..' && !id.includes('/') && !id.includes('\0');
}
