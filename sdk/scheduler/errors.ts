/**
 * The errors the scheduler SDK raises. Each is an {@link AgoraError} with a stable `code`;
 * match on `err.code` (or `instanceof` for the two that carry an HTTP status).
 *
 * | code | when |
 * |---|---|
 * | `AGORA_SCHEDULER_OPTIONS_INVALID` | `new Scheduler(options)` got a bad option |
 * | `AGORA_SCHEDULER_STATE` | a lifecycle method was called in the wrong state (the message names it) |
 * | `AGORA_SCHEDULER_NOT_SUBSCRIBED` | a call was made while no subscription is open |
 * | `AGORA_SCHEDULER_STOPPED` | the scheduler was stopped before `start()` completed |
 * | `AGORA_CALL_REJECTED` | the master answered a call with a non-2xx status ({@link CallRejectedError}) |
 * | `AGORA_SUBSCRIBE_REJECTED` | the master refused SUBSCRIBE ({@link SubscribeRejectedError}) |
 * | `AGORA_MASTER_UNREACHABLE` | the HTTP connection to the master failed (cause attached) |
 * | `AGORA_TOO_MANY_REDIRECTS` | more 307 hops than `maxRedirects` while looking for the leader |
 * | `AGORA_FRAMEWORK_ERROR` | the master sent an ERROR event (e.g. "Framework failed over"); the scheduler stopped |
 * | `AGORA_HEARTBEAT_TIMEOUT` | nothing arrived on the stream for `missedHeartbeats` heartbeat intervals |
 * | `AGORA_STREAM_ENDED` | the master closed the event stream |
 * | `AGORA_RESOURCES_INVALID` | `matchResources` got a negative or non-finite request |
 * | `AGORA_TASK_INVALID` | `commandTask`/`executorTask` got inconsistent options |
 *
 * @module
 */
import { AgoraError } from '../core/errors.js';

export const SCHEDULER_OPTIONS_INVALID = 'AGORA_SCHEDULER_OPTIONS_INVALID';
export const SCHEDULER_STATE = 'AGORA_SCHEDULER_STATE';
export const SCHEDULER_NOT_SUBSCRIBED = 'AGORA_SCHEDULER_NOT_SUBSCRIBED';
export const SCHEDULER_STOPPED = 'AGORA_SCHEDULER_STOPPED';
export const CALL_REJECTED = 'AGORA_CALL_REJECTED';
export const SUBSCRIBE_REJECTED = 'AGORA_SUBSCRIBE_REJECTED';
export const MASTER_UNREACHABLE = 'AGORA_MASTER_UNREACHABLE';
export const TOO_MANY_REDIRECTS = 'AGORA_TOO_MANY_REDIRECTS';
export const FRAMEWORK_ERROR = 'AGORA_FRAMEWORK_ERROR';
export const HEARTBEAT_TIMEOUT = 'AGORA_HEARTBEAT_TIMEOUT';
export const STREAM_ENDED = 'AGORA_STREAM_ENDED';
export const RESOURCES_INVALID = 'AGORA_RESOURCES_INVALID';
export const TASK_INVALID = 'AGORA_TASK_INVALID';

/**
 * The master answered a scheduler call (anything but SUBSCRIBE) with a status other than
 * 202 Accepted. `status` and `body` are the master's answer verbatim.
 *
 * @example
 * try { await scheduler.kill('t1'); }
 * catch (err) { if (err instanceof CallRejectedError && err.status === 400) console.error(err.body); }
 */
export class CallRejectedError extends AgoraError {
  constructor(readonly callType: string, readonly status: number, readonly body: string, options?: { cause?: unknown }) {
    super(CALL_REJECTED, `${callType} call rejected by the master: ${status}${body ? ` ${body.trim()}` : ''}`, options);
  }
}

/**
 * The master answered SUBSCRIBE with a status other than 200 (after following redirects).
 * 4xx answers (bad FrameworkInfo, unauthorised, framework removed) are fatal: the scheduler
 * stops. 503 and other 5xx are retried with backoff.
 *
 * @example
 * scheduler.on('stopped', ({ reason }) => {
 *   if (reason instanceof SubscribeRejectedError) console.error(reason.status, reason.body);
 * });
 */
export class SubscribeRejectedError extends AgoraError {
  constructor(readonly status: number, readonly body: string, options?: { cause?: unknown }) {
    super(SUBSCRIBE_REJECTED, `SUBSCRIBE rejected by the master: ${status}${body ? ` ${body.trim()}` : ''}`, options);
  }

  /** True when retrying cannot help (a 4xx other than 408/429). */
  get fatal(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 408 && this.status !== 429;
  }
}
