/**
 * The environment of a command task (pure). Mesos's command executor gives the task the
 * executor's own environment, then the sandbox and task variables, and lets
 * `CommandInfo.environment` override everything (src/launcher/executor.cpp); like Marathon
 * we add `PORT0…PORTn`, `PORTS` and `PORT` from the task's `ports` resource.
 *
 * @module
 */
import { AgoraError } from '../../sdk/core/errors.js';
import type { Resource, TaskInfo } from '../../sdk/protocol/mesos.js';

/** Most ports a task may hold; a larger `ports` resource is refused rather than expanded. */
export const MAX_TASK_PORTS = 1024;

/** Variables of the executor's environment that must not leak into a task. */
const EXECUTOR_ONLY = new Set(['AGORA_EXECUTOR_LOG_LEVEL', 'AGORA_TASK_LAUNCHER', 'MESOS_HTTP_COMMAND_EXECUTOR']);

/** What every task of an executor inherits of its environment ({@link taskEnvBase}). */
export type TaskEnvBase = Readonly<Record<string, string>>;

/**
 * The executor's own environment (PATH, HOME, MESOS_* from the slave, …) as its tasks
 * inherit it: without unset and executor-only variables. The executor builds it once; each
 * task's environment starts as a copy of it.
 */
export function taskEnvBase(executorEnv: NodeJS.ProcessEnv): TaskEnvBase {
  const base: Record<string, string> = {};
  for (const [name, value] of Object.entries(executorEnv)) {
    if (value !== undefined && !EXECUTOR_ONLY.has(name)) base[name] = value;
  }
  return base;
}

export interface TaskEnvInput {
  /** The executor's environment as tasks inherit it ({@link taskEnvBase}). */
  base: TaskEnvBase;
  task: TaskInfo;
  /** Absolute path of the task sandbox. */
  sandboxDir: string;
  frameworkId: string;
  agentId: string;
  /** The agent's hostname (AgentInfo.hostname from SUBSCRIBED). */
  hostname: string;
}

/**
 * The task's ports in ascending order, from every `ports` RANGES resource.
 * Throws `AgoraError('AGORA_TASK_INVALID')` beyond {@link MAX_TASK_PORTS} or for an inverted range.
 */
export function taskPorts(resources: readonly Resource[] | undefined): number[] {
  const ports: number[] = [];
  for (const resource of resources ?? []) {
    if (resource.name !== 'ports' || resource.type !== 'RANGES') continue;
    for (const range of resource.ranges?.range ?? []) {
      if (range.end < range.begin) {
        throw new AgoraError('AGORA_TASK_INVALID', `ports range [${range.begin}-${range.end}] ends before it begins`);
      }
      if (ports.length + (range.end - range.begin + 1) > MAX_TASK_PORTS) {
        throw new AgoraError('AGORA_TASK_INVALID', `task holds more than ${MAX_TASK_PORTS} ports`);
      }
      for (let p = range.begin; p <= range.end; p++) ports.push(p);
    }
  }
  return [...new Set(ports)].sort((a, b) => a - b);
}

/**
 * Builds the task's environment. Later layers win: executor env (minus executor-only
 * variables: {@link taskEnvBase}) < sandbox/task/port variables < `CommandInfo.environment`.
 * SECRET variables and variables without a value are skipped (Agora has no secret store).
 */
export function buildTaskEnv(input: TaskEnvInput): Record<string, string> {
  const env: Record<string, string> = { ...input.base };
  env.MESOS_SANDBOX = input.sandboxDir;
  env.MESOS_DIRECTORY = input.sandboxDir;
  env.MESOS_TASK_ID = input.task.task_id.value;
  env.MESOS_FRAMEWORK_ID = input.frameworkId;
  if (input.agentId !== '') {
    env.MESOS_AGENT_ID = input.agentId;
    env.MESOS_SLAVE_ID = input.agentId;
  }
  env.HOST = input.hostname;
  const ports = taskPorts(input.task.resources);
  ports.forEach((port, i) => {
    env[`PORT${i}`] = String(port);
  });
  if (ports.length > 0) {
    env.PORT = String(ports[0]);
    env.PORTS = ports.join(',');
  }
  for (const variable of input.task.command?.environment?.variables ?? []) {
    if (variable.type === 'SECRET' || variable.value === undefined) continue;
    env[variable.name] = variable.value;
  }
  return env;
}
