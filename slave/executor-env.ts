/**
 * The environment of an executor process: the `MESOS_*` variables Mesos sets (see the
 * slave ↔ executor contract) on top of the slave's own environment, minus the `MESOS_*`
 * and `AGORA_*` variables the slave itself may have inherited, except the executor settings
 * an operator gives the slave for its executors ({@link EXECUTOR_SETTINGS}). Pure.
 *
 * @module
 */
import type { CommandInfo } from '../sdk/protocol/mesos.js';
import { mesosDuration } from './options.js';

export interface ExecutorEnvInput {
  /** The slave's environment (`process.env`). */
  base: NodeJS.ProcessEnv;
  frameworkId: string;
  executorId: string;
  agentId: string;
  /** `ip:port` of the slave's HTTP server. */
  agentEndpoint: string;
  directory: string;
  checkpoint: boolean;
  recoveryTimeoutMs: number;
  shutdownGraceMs: number;
  /** True for the built-in command executor (MESOS_HTTP_COMMAND_EXECUTOR=1). */
  commandExecutor: boolean;
  logLevel: string;
  /** Variables from ExecutorInfo.command.environment (custom executors). */
  command?: CommandInfo;
}

/**
 * `AGORA_*` variables of the slave's environment its executors get: how the command executor
 * starts task processes (`native`, `perl` or `node`, see slave/executor/task-launcher.ts).
 */
export const EXECUTOR_SETTINGS: readonly string[] = ['AGORA_TASK_LAUNCHER'];

/** Builds the executor's environment. */
export function executorEnvironment(i: ExecutorEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(i.base)) {
    if (v === undefined || k.startsWith('MESOS_') || (k.startsWith('AGORA_') && !EXECUTOR_SETTINGS.includes(k))) continue;
    env[k] = v;
  }
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  Object.assign(env, {
    MESOS_FRAMEWORK_ID: i.frameworkId,
    MESOS_EXECUTOR_ID: i.executorId,
    MESOS_SLAVE_ID: i.agentId,
    MESOS_AGENT_ID: i.agentId,
    MESOS_AGENT_ENDPOINT: i.agentEndpoint,
    MESOS_SLAVE_PID: `slave(1)@${i.agentEndpoint}`,
    MESOS_DIRECTORY: i.directory,
    MESOS_SANDBOX: i.directory,
    MESOS_CHECKPOINT: i.checkpoint ? '1' : '0',
    MESOS_RECOVERY_TIMEOUT: mesosDuration(i.recoveryTimeoutMs),
    MESOS_SUBSCRIPTION_BACKOFF_MAX: '2secs',
    MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: mesosDuration(i.shutdownGraceMs),
    AGORA_EXECUTOR_LOG_LEVEL: i.logLevel,
  });
  if (i.commandExecutor) env.MESOS_HTTP_COMMAND_EXECUTOR = '1';
  for (const v of i.command?.environment?.variables ?? []) {
    if (v.type === 'SECRET') continue;
    env[v.name] = v.value ?? '';
  }
  return env;
}
