/**
 * The event loop: reads one subscription's RecordIO bytes, decodes and validates each
 * event, hands it to `dispatch` (which runs the handlers) one at a time, and watches the
 * stream's liveness. It knows nothing about reconnecting: it returns why the stream ended,
 * and {@link Scheduler}'s reconnect loop decides what to do. Tests drive it with an
 * in-memory stream and a manual clock.
 *
 * Liveness: Mesos sends HEARTBEAT every `heartbeat_interval_seconds` (15 s by default,
 * announced in SUBSCRIBED). If nothing at all arrives for `missedHeartbeats` intervals the
 * connection is presumed dead (a half-open TCP connection never errors by itself), the
 * stream is closed and the loop ends with `heartbeat-timeout`. The silence is counted from
 * the moment the handlers of the last chunk finished: exactly one watchdog timer is armed
 * per chunk received.
 *
 * @module
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../core/clock.js';
import { RecordIODecoder, SchedulerEvent as SchedulerEventSchema, safeParseJson, type SchedulerEvent } from '../protocol/index.js';
import { DEFAULT_HEARTBEAT_INTERVAL_SECONDS } from './options.js';
import type { SubscriptionStream } from './transport.js';

/** Why the event loop returned. */
export type EventLoopEnd =
  | { reason: 'ended' }
  | { reason: 'error'; error: Error }
  | { reason: 'heartbeat-timeout'; silentMs: number }
  | { reason: 'stopped' };

/** What `dispatch` tells the loop after an event: keep reading, or close the stream and return. */
export type DispatchResult = 'continue' | 'stop';

/** Inputs of {@link runEventLoop}. */
export interface EventLoopOptions {
  stream: SubscriptionStream;
  /**
   * Runs the handlers of one event; the next event is not dispatched before it settles. It
   * may answer without a promise (all its handlers were synchronous): the loop then goes on
   * at once, without a turn of the microtask queue per event.
   */
  dispatch: (event: SchedulerEvent) => DispatchResult | Promise<DispatchResult>;
  clock: Clock;
  logger: Logger;
  missedHeartbeats: number;
  /** Used until SUBSCRIBED announces the interval. Default 15. */
  heartbeatIntervalSeconds?: number;
  /** Default: a fresh `RecordIODecoder`. */
  decoder?: { push(chunk: Uint8Array): string[] };
}

/** Event types whose payload field must be present for the event to mean anything. */
const REQUIRED_EVENT_PAYLOAD: Partial<Record<SchedulerEvent['type'], 'subscribed' | 'rescind' | 'update' | 'message'>> = {
  SUBSCRIBED: 'subscribed',
  RESCIND: 'rescind',
  UPDATE: 'update',
  MESSAGE: 'message',
};

/**
 * Parses and validates one RecordIO record as a scheduler event; `undefined` (with the
 * reason) when it is not valid JSON or not a valid event.
 *
 * @example
 * parseSchedulerEvent('{"type":"HEARTBEAT"}') // { event: { type: 'HEARTBEAT' } }
 */
export function parseSchedulerEvent(record: string): { event: SchedulerEvent } | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(record);
  } catch (err) {
    return { error: `not JSON: ${(err as Error).message}` };
  }
  const parsed = safeParseJson(SchedulerEventSchema, json);
  if (!parsed.success) {
    return { error: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  }
  const payload = REQUIRED_EVENT_PAYLOAD[parsed.data.type];
  if (payload !== undefined && parsed.data[payload] === undefined) {
    return { error: `${parsed.data.type} event without its '${payload}' field` };
  }
  return { event: parsed.data };
}

/**
 * Runs until the stream ends, breaks, goes silent, or `dispatch` answers `'stop'`.
 * Never throws: failures are reported in the result.
 *
 * @example
 * const end = await runEventLoop({ stream, dispatch: async (e) => { console.log(e.type); return 'continue'; },
 *   clock: systemClock, logger, missedHeartbeats: 5 });
 * if (end.reason === 'heartbeat-timeout') reconnect();
 */
export async function runEventLoop(opts: EventLoopOptions): Promise<EventLoopEnd> {
  const { stream, clock, logger } = opts;
  const decoder = opts.decoder ?? new RecordIODecoder();
  let silenceLimitMs = opts.missedHeartbeats * (opts.heartbeatIntervalSeconds ?? DEFAULT_HEARTBEAT_INTERVAL_SECONDS) * 1000;
  let watchdog: TimerHandle | undefined;
  let timedOut = false;

  const arm = (): void => {
    watchdog?.cancel();
    watchdog = clock.setTimeout(() => {
      timedOut = true;
      logger.warn({ silentMs: silenceLimitMs }, 'no heartbeat from the master; closing the event stream');
      stream.close();
    }, silenceLimitMs);
  };

  arm();
  try {
    for await (const chunk of stream.chunks) {
      if (timedOut) break;
      // Something arrived: the connection is alive. The watchdog is paused while the
      // handlers run (a slow handler is not a dead master) and re-armed once they are done.
      watchdog?.cancel();
      const records = decoder.push(chunk);
      for (const record of records) {
        const parsed = parseSchedulerEvent(record);
        if ('error' in parsed) {
          logger.warn({ error: parsed.error, record: record.slice(0, 512) }, 'invalid event from the master skipped');
          continue;
        }
        const event = parsed.event;
        if (event.type === 'SUBSCRIBED' && event.subscribed?.heartbeat_interval_seconds !== undefined && event.subscribed.heartbeat_interval_seconds > 0) {
          silenceLimitMs = opts.missedHeartbeats * event.subscribed.heartbeat_interval_seconds * 1000;
        }
        const dispatched = opts.dispatch(event);
        if ((typeof dispatched === 'string' ? dispatched : await dispatched) === 'stop') {
          stream.close();
          return { reason: 'stopped' };
        }
      }
      arm();
    }
    if (timedOut) return { reason: 'heartbeat-timeout', silentMs: silenceLimitMs };
    return { reason: 'ended' };
  } catch (err) {
    if (timedOut) return { reason: 'heartbeat-timeout', silentMs: silenceLimitMs };
    stream.close();
    return { reason: 'error', error: err instanceof Error ? err : new Error(String(err)) };
  } finally {
    watchdog?.cancel();
  }
}
