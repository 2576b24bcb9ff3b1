/**
 * The framework SDK: a client of the Mesos v1 scheduler HTTP API (works against Agora and
 * Apache Mesos masters alike), typed events, call builders, offer matching and task
 * builders. See docs/sdk.md.
 *
 * @example
 * import { Scheduler, matchOffer, commandTask, isTerminalState } from './sdk/scheduler/index.js';
 * const scheduler = new Scheduler({ master: 'localhost:5050', frameworkInfo: { user: 'me', name: 'hello' } });
 * scheduler.on('OFFERS', async (offers) => { … }).on('UPDATE', (status) => { … });
 * await scheduler.start();
 *
 * @module
 */
export { Scheduler } from './scheduler.js';
export type { SchedulerOptions, MasterAddress } from './options.js';
export { parseMasterAddress, DEFAULT_MASTER_PORT, DEFAULT_HEARTBEAT_INTERVAL_SECONDS } from './options.js';
export type { SchedulerState } from './lifecycle.js';
export { SCHEDULER_TRANSITIONS } from './lifecycle.js';
export type {
  SchedulerHandlers, SchedulerHandlerType, SubscribedInfo, ExecutorMessage, FailureInfo, Awaitable,
} from './handlers.js';
export { calls, operations } from './calls.js';
export type { FilterOptions, ReconcileTask } from './calls.js';
export {
  TaskReconciliation, compileReconcileOptions, reconcileDelayMs, normalizeReconcileTasks, RECONCILE_DEFAULTS,
} from './reconcile.js';
export type {
  ReconcileOptions, CompiledReconcileOptions, ReconcileOutcome, ReconcileResult, ReconcileDriver,
} from './reconcile.js';
export { matchResources, matchOffer, remainingResources } from './match.js';
export type { ResourceRequest, MatchOptions } from './match.js';
export { commandTask, executorTask, commandInfo } from './task.js';
export type { CommandSpec, TaskOptions } from './task.js';
export type { SchedulerTransport, SubscriptionStream, OutgoingCall } from './transport.js';
export { HttpSchedulerTransport, SCHEDULER_API_PATH } from './http-transport.js';
export { leaderAddress, isZkUrl, openZkLeaderDetector, LEADER_DETECTION_FAILED } from './leader.js';
export type { OpenedDetector } from './leader.js';
export type { LeaderDetector } from '../core/leadership.js';
export type { HttpSchedulerTransportOptions } from './http-transport.js';
export {
  CallRejectedError, SubscribeRejectedError,
  SCHEDULER_OPTIONS_INVALID, SCHEDULER_STATE, SCHEDULER_NOT_SUBSCRIBED, SCHEDULER_STOPPED, CALL_REJECTED,
  SUBSCRIBE_REJECTED, MASTER_UNREACHABLE, TOO_MANY_REDIRECTS, FRAMEWORK_ERROR, HEARTBEAT_TIMEOUT, STREAM_ENDED,
  RESOURCES_INVALID, TASK_INVALID,
} from './errors.js';
export { isTerminalState } from '../protocol/index.js';
export type {
  FrameworkInfo, Offer, OfferOperation, TaskInfo, TaskStatus, TaskState, Filters, SchedulerCall, SchedulerEvent,
  Resource, ExecutorInfo, TaskGroupInfo, KillPolicy, MasterInfo, CommandURI,
} from '../protocol/index.js';
