/**
 * Mesos duration strings (stout's `Duration::parse`): a decimal number followed by one of
 * the units `ns`, `us`, `ms`, `secs`, `mins`, `hrs`, `days`, `weeks`. The slave passes
 * them to executors in `MESOS_RECOVERY_TIMEOUT`, `MESOS_SUBSCRIPTION_BACKOFF_MAX` and
 * `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`.
 *
 * Pure functions; no I/O.
 *
 * @module
 */
import { AgoraError } from '../core/errors.js';

/** Milliseconds per unit, keyed by the Mesos unit suffix. */
const MS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  ms: 1,
  secs: 1_000,
  mins: 60_000,
  hrs: 3_600_000,
  days: 86_400_000,
  weeks: 604_800_000,
};

const DURATION_PATTERN = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ns|us|ms|secs|mins|hrs|days|weeks)\s*$/;

/**
 * Parses a Mesos duration string into milliseconds (fractional for sub-millisecond units).
 *
 * Throws `AgoraError('AGORA_INVALID_DURATION')` on anything else (no unit, an unknown unit,
 * a negative number, an empty string).
 *
 * @example
 * ```ts
 * parseMesosDuration('15mins'); // 900000
 * parseMesosDuration('2secs');  // 2000
 * parseMesosDuration('10us');   // 0.01
 * ```
 */
export function parseMesosDuration(text: string): number {
  const match = DURATION_PATTERN.exec(text);
  if (match === null) {
    throw new AgoraError(
      'AGORA_INVALID_DURATION',
      `invalid Mesos duration ${JSON.stringify(text)}: expected a number followed by one of ${Object.keys(MS_PER_UNIT).join(', ')} (e.g. '15mins')`,
    );
  }
  const value = Number(match[1]);
  const perUnit = MS_PER_UNIT[match[2]!]!;
  // Divide for sub-millisecond units so that '5ns' is exactly 5e-6 (5 * 1e-6 is not).
  const ms = perUnit < 1 ? value / Math.round(1 / perUnit) : value * perUnit;
  if (!Number.isFinite(ms)) {
    throw new AgoraError('AGORA_INVALID_DURATION', `Mesos duration ${JSON.stringify(text)} is out of range`);
  }
  return ms;
}

/**
 * Formats milliseconds the way Mesos prints durations: the largest unit that represents the
 * value exactly as an integer (`900000` → `'15mins'`, `1500` → `'1500ms'`). The result
 * parses back with {@link parseMesosDuration} to the same number.
 *
 * @example
 * ```ts
 * formatMesosDuration(2000);   // '2secs'
 * formatMesosDuration(900000); // '15mins'
 * ```
 */
export function formatMesosDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new AgoraError('AGORA_INVALID_DURATION', `cannot format ${ms} ms as a Mesos duration`);
  }
  const units: Array<[string, number]> = [['weeks', 604_800_000], ['days', 86_400_000], ['hrs', 3_600_000], ['mins', 60_000], ['secs', 1_000], ['ms', 1]];
  for (const [unit, size] of units) {
    if (ms >= size && Number.isInteger(ms / size)) return `${ms / size}${unit}`;
  }
  if (ms === 0) return '0secs';
  const ns = Math.round(ms * 1e6);
  return Number.isInteger(ns / 1000) ? `${ns / 1000}us` : `${ns}ns`;
}

/**
 * Converts a Mesos `DurationInfo.nanoseconds` value to milliseconds.
 *
 * @example
 * ```ts
 * nanosecondsToMs(task.kill_policy?.grace_period?.nanoseconds ?? 3e9); // 3000 by default
 * ```
 */
export function nanosecondsToMs(nanoseconds: number): number {
  return nanoseconds / 1e6;
}
