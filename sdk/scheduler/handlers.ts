/**
 * The scheduler's handler table (mesos-go style): one entry per event type, each with its
 * payload already unwrapped and typed, plus `'*'` (every event, after the typed handlers)
 * and the lifecycle notifications `disconnected`, `reconnected` and `stopped`.
 *
 * @module
 */
import type { MasterInfo, Offer, SchedulerEvent, TaskStatus } from '../protocol/index.js';

/** A handler may be synchronous or return a promise; the next event waits for it. */
export type Awaitable = void | Promise<void>;

/** The SUBSCRIBED payload. */
export interface SubscribedInfo {
  framework_id: { value: string };
  heartbeat_interval_seconds?: number;
  master_info?: MasterInfo;
}
/** The MESSAGE payload (`data` is base64, as on the wire). */
export type ExecutorMessage = NonNullable<SchedulerEvent['message']>;
/** The FAILURE payload (an agent was lost, or an executor exited with `status`). */
export type FailureInfo = NonNullable<SchedulerEvent['failure']>;

/** Handler signatures by event type. */
export interface SchedulerHandlers {
  /** Subscribed (first time or after a reconnection) — `framework_id` is the id to keep. */
  SUBSCRIBED: (subscribed: SubscribedInfo, event: SchedulerEvent) => Awaitable;
  /** New offers: launch on them, or decline them (otherwise they stay out until rescinded). */
  OFFERS: (offers: Offer[], event: SchedulerEvent) => Awaitable;
  INVERSE_OFFERS: (event: SchedulerEvent) => Awaitable;
  /** An offer is no longer valid (its id). */
  RESCIND: (offerId: string, event: SchedulerEvent) => Awaitable;
  RESCIND_INVERSE_OFFER: (event: SchedulerEvent) => Awaitable;
  /** A task status update; acknowledged after the handlers when it has a uuid and `autoAcknowledge` is on. */
  UPDATE: (status: TaskStatus, event: SchedulerEvent) => Awaitable;
  UPDATE_OPERATION_STATUS: (event: SchedulerEvent) => Awaitable;
  /** A message from an executor. */
  MESSAGE: (message: ExecutorMessage, event: SchedulerEvent) => Awaitable;
  /** An agent or executor failure. */
  FAILURE: (failure: FailureInfo, event: SchedulerEvent) => Awaitable;
  /** An unrecoverable error (e.g. "Framework failed over"): the scheduler stops after these handlers. */
  ERROR: (error: { message: string }, event: SchedulerEvent) => Awaitable;
  HEARTBEAT: (event: SchedulerEvent) => Awaitable;
  /** Every event, after its typed handlers and, for UPDATE, after the auto-acknowledgement (mesos-go's middleware spot). */
  '*': (event: SchedulerEvent) => Awaitable;
  /** The subscription was lost (stream ended, broke, or went silent); a reconnection follows if enabled. */
  disconnected: (info: { reason: Error }) => Awaitable;
  /** Resubscribed as the same framework after a disconnection (after the SUBSCRIBED handlers). */
  reconnected: (info: { frameworkId: string }) => Awaitable;
  /** The scheduler stopped for good: `reason` is absent for `stop()`/`teardown()`. */
  stopped: (info: { reason?: Error }) => Awaitable;
}

/** Every key of {@link SchedulerHandlers}. */
export type SchedulerHandlerType = keyof SchedulerHandlers;

/** The keys accepted by `Scheduler.on`, for validation of untyped callers. */
export const SCHEDULER_HANDLER_TYPES: readonly SchedulerHandlerType[] = [
  'SUBSCRIBED', 'OFFERS', 'INVERSE_OFFERS', 'RESCIND', 'RESCIND_INVERSE_OFFER', 'UPDATE',
  'UPDATE_OPERATION_STATUS', 'MESSAGE', 'FAILURE', 'ERROR', 'HEARTBEAT', '*',
  'disconnected', 'reconnected', 'stopped',
];
