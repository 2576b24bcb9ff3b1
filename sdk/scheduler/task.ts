/**
 * TaskInfo builders (pure): a command task run by the agent's command executor, or a task
 * handed to a custom executor.
 *
 * @module
 */
import { AgoraError } from '../core/errors.js';
import type { CommandInfo, CommandURI, ContainerInfo, ExecutorInfo, Labels, Resource, TaskInfo } from '../protocol/index.js';
import { cloneResource } from '../resources/index.js';
import { TASK_INVALID } from './errors.js';

/** The command of a {@link commandTask}: a shell string, or the CommandInfo fields with an environment as a plain record. */
export type CommandSpec = string | {
  value?: string;
  /** Default: `true` when no `arguments` are given (Mesos runs `value` with `sh -c`), else `false` (exec `value` with `arguments`). */
  shell?: boolean;
  arguments?: string[];
  environment?: Record<string, string>;
  uris?: CommandURI[];
  user?: string;
};

/** Fields every task builder takes. */
export interface TaskOptions {
  taskId: string;
  /** Default: the task id. */
  name?: string;
  agentId: string;
  /** Usually from {@link matchResources}. */
  resources: Resource[];
  /** Sent as `kill_policy.grace_period` (nanoseconds): time between SIGTERM and SIGKILL. */
  killGracePeriodMs?: number;
  labels?: Record<string, string>;
  container?: ContainerInfo;
  /** Opaque bytes for the executor; a string is sent as UTF-8. Base64 on the wire. */
  data?: Buffer | Uint8Array | string;
}

function fail(message: string): never {
  throw new AgoraError(TASK_INVALID, message);
}

/**
 * Turns a {@link CommandSpec} into a Mesos `CommandInfo`.
 *
 * @example
 * commandInfo('echo hi')                                        // { value: 'echo hi', shell: true }
 * commandInfo({ value: '/bin/echo', arguments: ['echo', 'hi'] }) // shell: false
 */
export function commandInfo(spec: CommandSpec): CommandInfo {
  if (typeof spec === 'string') {
    if (spec.trim() === '') fail('command must not be empty');
    return { value: spec, shell: true };
  }
  const shell = spec.shell ?? spec.arguments === undefined;
  if (shell && (spec.value === undefined || spec.value.trim() === '')) fail('a shell command needs a value');
  const info: CommandInfo = { shell };
  if (spec.value !== undefined) info.value = spec.value;
  if (spec.arguments !== undefined) info.arguments = [...spec.arguments];
  if (spec.user !== undefined) info.user = spec.user;
  if (spec.uris !== undefined) info.uris = spec.uris.map((u) => ({ ...u }));
  if (spec.environment !== undefined) {
    info.environment = {
      variables: Object.entries(spec.environment).map(([name, value]) => ({ name, type: 'VALUE' as const, value })),
    };
  }
  return info;
}

function labelsOf(labels: Record<string, string>): Labels {
  return { labels: Object.entries(labels).map(([key, value]) => ({ key, value })) };
}

function baseTask(opts: TaskOptions): TaskInfo {
  if (typeof opts.taskId !== 'string' || opts.taskId === '') fail('taskId is required');
  if (typeof opts.agentId !== 'string' || opts.agentId === '') fail('agentId is required');
  const task: TaskInfo = {
    name: opts.name ?? opts.taskId,
    task_id: { value: opts.taskId },
    agent_id: { value: opts.agentId },
    // Copies (the caller may reuse its list), made by cloneResource rather than structuredClone: cheaper per task.
    resources: opts.resources.map((r) => cloneResource(r)),
  };
  if (opts.killGracePeriodMs !== undefined) {
    if (!Number.isFinite(opts.killGracePeriodMs) || opts.killGracePeriodMs < 0) fail(`killGracePeriodMs must be >= 0, got ${opts.killGracePeriodMs}`);
    task.kill_policy = { grace_period: { nanoseconds: Math.round(opts.killGracePeriodMs * 1e6) } };
  }
  if (opts.labels !== undefined) task.labels = labelsOf(opts.labels);
  if (opts.container !== undefined) task.container = opts.container;
  if (opts.data !== undefined) {
    task.data = (typeof opts.data === 'string' ? Buffer.from(opts.data, 'utf8') : Buffer.from(opts.data)).toString('base64');
  }
  return task;
}

/**
 * A task run by the agent's built-in command executor.
 *
 * @throws AgoraError `AGORA_TASK_INVALID` for an empty id/command or a negative grace period.
 * @example
 * const task = commandTask({
 *   taskId: 'job-1', agentId: offer.agent_id.value, command: 'echo hi',
 *   resources: matchResources(offer.resources ?? [], { cpus: 0.1, mem: 32 })!,
 *   killGracePeriodMs: 5000, labels: { owner: 'me' },
 * });
 */
export function commandTask(opts: TaskOptions & { command: CommandSpec }): TaskInfo {
  // Set on the task rather than spread into a copy of it: the same keys in the same order
  // (command last), one object fewer per task.
  const task = baseTask(opts);
  task.command = commandInfo(opts.command);
  return task;
}

/**
 * A task handed to a custom executor (`ExecutorInfo`), which the agent starts on first use
 * and reuses for later tasks with the same executor id.
 *
 * @example
 * const executor = { executor_id: { value: 'custom-executor' }, command: { value: 'node executor.js', shell: true } };
 * const task = executorTask({ taskId: 't1', agentId, executor, resources, data: 'payload' });
 */
export function executorTask(opts: TaskOptions & { executor: ExecutorInfo }): TaskInfo {
  if (opts.executor?.executor_id?.value === undefined) fail('executor.executor_id is required');
  return { ...baseTask(opts), executor: structuredClone(opts.executor) };
}
