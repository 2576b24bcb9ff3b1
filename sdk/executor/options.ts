/**
 * The executor's configuration, compiled once from the `MESOS_*` environment the slave
 * sets (Mesos `executor::Flags` and the variables of `src/slave/containerizer/containerizer.cpp`).
 * Inside the SDK nothing re-reads the environment: durations are milliseconds here.
 *
 * @module
 */
import { AgoraError } from '../core/errors.js';
import { parseMesosDuration } from './duration.js';

/**
 * Everything an executor learns from its environment, validated, with defaults filled.
 *
 * @example
 * ```ts
 * const config: ExecutorConfig = executorConfigFromEnv(process.env);
 * const driver = new ExecutorDriver({ config });
 * ```
 */
export interface ExecutorConfig {
  /** MESOS_FRAMEWORK_ID. */
  readonly frameworkId: string;
  /** MESOS_EXECUTOR_ID. */
  readonly executorId: string;
  /** MESOS_AGENT_ID (or MESOS_SLAVE_ID); empty until SUBSCRIBED when neither is set. */
  readonly agentId: string;
  /** MESOS_AGENT_ENDPOINT, `host:port` of the slave's HTTP server. */
  readonly agentEndpoint: string;
  /** MESOS_SANDBOX (or MESOS_DIRECTORY): the executor sandbox. */
  readonly sandboxDir: string;
  /** MESOS_CHECKPOINT === '1'. */
  readonly checkpoint: boolean;
  /** MESOS_RECOVERY_TIMEOUT in ms; Mesos default 15 minutes. */
  readonly recoveryTimeoutMs: number;
  /** MESOS_SUBSCRIPTION_BACKOFF_MAX in ms; Mesos default 2 seconds. */
  readonly subscriptionBackoffMaxMs: number;
  /** MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD in ms; Mesos default 5 seconds. */
  readonly shutdownGracePeriodMs: number;
}

/**
 * Mesos defaults for the optional variables.
 *
 * @example
 * ```ts
 * const graceMs = env.MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD ? config.shutdownGracePeriodMs : EXECUTOR_CONFIG_DEFAULTS.shutdownGracePeriodMs;
 * ```
 */
export const EXECUTOR_CONFIG_DEFAULTS = {
  recoveryTimeoutMs: 15 * 60_000,
  subscriptionBackoffMaxMs: 2_000,
  shutdownGracePeriodMs: 5_000,
} as const;

/**
 * Reads and validates the `MESOS_*` variables. Throws `AgoraError('AGORA_EXECUTOR_CONFIG')`
 * naming every missing or malformed variable.
 *
 * @example
 * ```ts
 * const config = executorConfigFromEnv(process.env);
 * console.log(config.agentEndpoint, config.recoveryTimeoutMs);
 * ```
 */
export function executorConfigFromEnv(env: NodeJS.ProcessEnv): ExecutorConfig {
  const problems: string[] = [];
  const required = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '') {
      problems.push(`${name} is not set`);
      return '';
    }
    return value;
  };
  const duration = (name: string, fallback: number): number => {
    const value = env[name];
    if (value === undefined || value === '') return fallback;
    try {
      return parseMesosDuration(value);
    } catch (err) {
      problems.push(`${name}: ${(err as Error).message}`);
      return fallback;
    }
  };
  const frameworkId = required('MESOS_FRAMEWORK_ID');
  const executorId = required('MESOS_EXECUTOR_ID');
  const agentEndpoint = required('MESOS_AGENT_ENDPOINT');
  if (agentEndpoint !== '' && !/^[^\s/:]+:\d{1,5}$|^\[[0-9a-fA-F:.]+\]:\d{1,5}$/.test(agentEndpoint)) {
    problems.push(`MESOS_AGENT_ENDPOINT must be host:port, got ${JSON.stringify(agentEndpoint)}`);
  }
  const sandboxDir = env.MESOS_SANDBOX || env.MESOS_DIRECTORY || '';
  if (sandboxDir === '') problems.push('MESOS_SANDBOX (or MESOS_DIRECTORY) is not set');
  const config: ExecutorConfig = {
    frameworkId,
    executorId,
    agentId: env.MESOS_AGENT_ID || env.MESOS_SLAVE_ID || '',
    agentEndpoint,
    sandboxDir,
    checkpoint: env.MESOS_CHECKPOINT === '1',
    recoveryTimeoutMs: duration('MESOS_RECOVERY_TIMEOUT', EXECUTOR_CONFIG_DEFAULTS.recoveryTimeoutMs),
    subscriptionBackoffMaxMs: duration('MESOS_SUBSCRIPTION_BACKOFF_MAX', EXECUTOR_CONFIG_DEFAULTS.subscriptionBackoffMaxMs),
    shutdownGracePeriodMs: duration('MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD', EXECUTOR_CONFIG_DEFAULTS.shutdownGracePeriodMs),
  };
  if (problems.length > 0) {
    throw new AgoraError('AGORA_EXECUTOR_CONFIG', `invalid executor environment: ${problems.join('; ')}`);
  }
  return config;
}
