/**
 * The scheduler's lifecycle as a string union with guarded transitions (Temporal's worker
 * state machine): a transition that is not in {@link SCHEDULER_TRANSITIONS} throws an
 * `AGORA_SCHEDULER_STATE` error naming the current state.
 *
 * ```
 * idle ──start()──▶ subscribing ──SUBSCRIBED──▶ subscribed
 *                     ▲    │                        │ stream lost / missed heartbeats
 *                     │    └──────────┐             ▼
 *                     └──backoff── reconnecting ◀───┘
 * any state ──stop() / teardown() / ERROR event / fatal rejection──▶ stopped
 * ```
 *
 * @module
 */
import { AgoraError } from '../core/errors.js';
import { SCHEDULER_STATE } from './errors.js';

/** Where a {@link Scheduler} is in its life. */
export type SchedulerState = 'idle' | 'subscribing' | 'subscribed' | 'reconnecting' | 'stopped';

/** The allowed transitions, from → to. */
export const SCHEDULER_TRANSITIONS: Readonly<Record<SchedulerState, readonly SchedulerState[]>> = {
  idle: ['subscribing', 'stopped'],
  subscribing: ['subscribed', 'reconnecting', 'stopped'],
  subscribed: ['reconnecting', 'stopped'],
  reconnecting: ['subscribing', 'stopped'],
  stopped: [],
};

/**
 * Returns `to` when `from → to` is allowed, else throws `AGORA_SCHEDULER_STATE`.
 *
 * @param action what the caller tried (used in the message), e.g. `'start'`.
 * @example
 * assertTransition('subscribed', 'subscribing', 'start')
 * // throws AgoraError AGORA_SCHEDULER_STATE: cannot start: scheduler is subscribed
 */
export function assertTransition(from: SchedulerState, to: SchedulerState, action: string = to): SchedulerState {
  if (!SCHEDULER_TRANSITIONS[from].includes(to)) {
    throw new AgoraError(SCHEDULER_STATE, `cannot ${action}: scheduler is ${from}`);
  }
  return to;
}
