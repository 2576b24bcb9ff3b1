/**
 * The decisions of Mesos's health checker (src/checks/health_checker.cpp, `success()` and
 * `failure()`), pure: given a check result and the time, what to report, whether to kill
 * the task, and when to check next. No timers, no I/O; `now` is a parameter.
 *
 * Mesos's rules, which this follows:
 * - the first check runs `delay` after the task started; the next one `interval` after the
 *   previous one ended (checks never overlap);
 * - a success is reported on the first success and on the first success after failures;
 * - a failure before the first success, within `grace period` of the start, is ignored
 *   (not counted, not reported); every other failure is counted and reported (healthy
 *   false, with the count);
 * - when the count reaches `consecutive_failures` the task is to be killed (and so on every
 *   later failure — the executor kills once). Agora reads 0 as "never kill", as Marathon's
 *   maxConsecutiveFailures 0 means.
 *
 * @module
 */
import type { HealthCheckSpec } from './health-check-spec.js';

/** What the checker knows between checks. */
export interface HealthState {
  /** When the task started (clock ms); the grace period counts from here. */
  readonly startedAt: number;
  /** True until the first success (Mesos `initializing`). */
  readonly initializing: boolean;
  readonly consecutiveFailures: number;
}

/** One health update for the framework: TASK_RUNNING with `healthy`. */
export interface HealthReport {
  healthy: boolean;
  consecutiveFailures: number;
}

export interface HealthDecision {
  state: HealthState;
  /** The update to send, if any. */
  report: HealthReport | undefined;
  /** True when the failures in a row reached the limit. */
  kill: boolean;
  /** True when a failure was ignored because of the grace period. */
  ignored: boolean;
  /** Milliseconds until the next check. */
  nextCheckInMs: number;
}

type Timing = Pick<HealthCheckSpec, 'delayMs' | 'intervalMs' | 'consecutiveFailures' | 'gracePeriodMs'>;

/** The state of a task that started at `startedAt`; the first check is due `delayMs` later. */
export function initialHealthState(startedAt: number): HealthState {
  return { startedAt, initializing: true, consecutiveFailures: 0 };
}

/** Milliseconds from the start of the task to its first check. */
export function firstCheckDelayMs(spec: Timing): number {
  return spec.delayMs;
}

/** Applies one check result, finished at `now`. */
export function onHealthResult(spec: Timing, state: HealthState, healthy: boolean, now: number): HealthDecision {
  const nextCheckInMs = spec.intervalMs;
  if (healthy) {
    const report = state.initializing || state.consecutiveFailures > 0 ? { healthy: true, consecutiveFailures: 0 } : undefined;
    return { state: { ...state, initializing: false, consecutiveFailures: 0 }, report, kill: false, ignored: false, nextCheckInMs };
  }
  if (inGracePeriod(spec, state, now)) {
    return { state, report: undefined, kill: false, ignored: true, nextCheckInMs };
  }
  const consecutiveFailures = state.consecutiveFailures + 1;
  const kill = spec.consecutiveFailures > 0 && consecutiveFailures >= spec.consecutiveFailures;
  return {
    state: { ...state, consecutiveFailures },
    report: { healthy: false, consecutiveFailures },
    kill,
    ignored: false,
    nextCheckInMs,
  };
}

/** Mesos: `initializing && grace > 0 && now - startTime <= grace`. */
export function inGracePeriod(spec: Pick<HealthCheckSpec, 'gracePeriodMs'>, state: HealthState, now: number): boolean {
  return state.initializing && spec.gracePeriodMs > 0 && now - state.startedAt <= spec.gracePeriodMs;
}
