/**
 * Launch backoff: Marathon's `RateLimiter` as pure state transitions.
 *
 * Delays are kept per app id *and* config version (`versionInfo.lastConfigChangeAt`, Marathon's
 * `RunSpecConfigRef`): scaling or restarting keeps the delay (same key), a config change
 * starts afresh (new key).
 *
 * - first failure: delay = `min(backoffSeconds, maxLaunchDelaySeconds)`;
 * - each further failure: delay = `min(previous delay × backoffFactor, maxLaunchDelaySeconds)`;
 * - the launch deadline is `time of the failure + delay`;
 * - `resetDelay` (a deployment restarting the app, or DELETE /v2/queue/{app}/delay) simply
 *   drops the state: keep `undefined`;
 * - Marathon drops a delay once `failure time + maxLaunchDelay` has passed
 *   ({@link isBackoffOverdue}), so an app that stays up long enough starts from scratch.
 *
 * The engine calls {@link backoffAfterFailure} only for instances that failed on their own
 * (TASK_FAILED, TASK_ERROR, …): instances Marathon kills itself (scale down, upgrade,
 * health-check kill by request, user kill) do not raise the delay.
 *
 * @module
 */
import type { AppDefinition, PathId, Timestamp } from '../model/types.js';

/** The launch delay of one app config version. */
export interface BackoffState {
  appId: PathId;
  /** `versionInfo.lastConfigChangeAt` of the app version the delay belongs to. */
  configVersion: Timestamp;
  /** When the delay was last set (ms since epoch). */
  referenceMs: number;
  /** The current delay in ms (fractional: Marathon keeps nanoseconds). */
  currentDelayMs: number;
  /** The app's `maxLaunchDelaySeconds` in ms when the delay was set. */
  maxLaunchDelayMs: number;
}

/** The key a delay is stored under: app id + config version. */
export function backoffKey(app: Pick<AppDefinition, 'id' | 'versionInfo'>): string {
  return `${app.id}@${app.versionInfo.lastConfigChangeAt}`;
}

function belongsTo(state: BackoffState, app: AppDefinition): boolean {
  return state.appId === app.id && state.configVersion === app.versionInfo.lastConfigChangeAt;
}

/**
 * The delay after a failed instance of `app` at `nowMs` (Marathon's `addDelay`). A `prev`
 * of another config version is ignored (a config change resets the backoff).
 *
 * @example
 * state = backoffAfterFailure(state, app, clock.now()); // 1 s, then 1.15 s, 1.3225 s, … ≤ 3600 s
 */
export function backoffAfterFailure(prev: BackoffState | undefined, app: AppDefinition, nowMs: number): BackoffState {
  const maxMs = app.maxLaunchDelaySeconds * 1000;
  const delayMs = prev && belongsTo(prev, app)
    ? Math.min(maxMs, Math.trunc(prev.currentDelayMs * app.backoffFactor * 1e6) / 1e6) // Marathon truncates to ns
    : Math.min(app.backoffSeconds * 1000, maxMs);
  return {
    appId: app.id,
    configVersion: app.versionInfo.lastConfigChangeAt,
    referenceMs: nowMs,
    currentDelayMs: delayMs,
    maxLaunchDelayMs: maxMs,
  };
}

/** When launches may resume (ms since epoch). */
export function backoffDeadlineMs(state: BackoffState): number {
  return state.referenceMs + state.currentDelayMs;
}

/**
 * Milliseconds until `app` may launch again; 0 when there is no delay or it belongs to
 * another config version.
 */
export function launchDelayRemainingMs(state: BackoffState | undefined, app: AppDefinition, nowMs: number): number {
  if (!state || !belongsTo(state, app)) return 0;
  return Math.max(0, backoffDeadlineMs(state) - nowMs);
}

/**
 * True when Marathon would forget the delay (`cleanUpOverdueDelays`: now is past the
 * failure time + maxLaunchDelay).
 */
export function isBackoffOverdue(state: BackoffState, nowMs: number): boolean {
  return nowMs > state.referenceMs + state.maxLaunchDelayMs;
}

/**
 * The `delay` object of a /v2/queue entry: `timeLeftSeconds` (whole seconds, never negative)
 * and `overdue` (the deadline has passed, or there is no delay at all).
 */
export function queueDelay(state: BackoffState | undefined, app: AppDefinition, nowMs: number): { timeLeftSeconds: number; overdue: boolean } {
  const left = launchDelayRemainingMs(state, app, nowMs);
  return { timeLeftSeconds: Math.floor(left / 1000), overdue: left <= 0 };
}
