/**
 * Agora's executor SDK: a client for the Mesos v1 executor HTTP API.
 *
 * @example
 * ```ts
 * import { ExecutorDriver } from './sdk/executor/index.js';
 *
 * const driver = new ExecutorDriver();
 * driver.onLaunch(async (task) => {
 *   await driver.update({ task_id: task.task_id, state: 'TASK_RUNNING' });
 * });
 * driver.start();
 * ```
 *
 * @module
 */
export {
  ExecutorDriver,
  type ExecutorDriverOptions,
  type ExecutorDriverState,
  type ExecutorDriverEvent,
  type StatusUpdateInput,
  type SubscribedInfo,
} from './driver.js';
export { executorConfigFromEnv, EXECUTOR_CONFIG_DEFAULTS, type ExecutorConfig } from './options.js';
export { parseMesosDuration, formatMesosDuration, nanosecondsToMs } from './duration.js';
export { subscriptionBackoffMs } from './backoff.js';
export {
  HttpExecutorTransport,
  type ExecutorTransport,
  type HttpExecutorTransportOptions,
  type SubscriptionStream,
} from './transport.js';
