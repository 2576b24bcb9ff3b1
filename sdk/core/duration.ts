/**
 * Durations on the command line, Mesos style (`15secs`, `500ms`, `2mins`, `1hrs`, `3days`,
 * `1weeks`, `10ns`, `5us`) and the short human forms (`15s`, `2m`, `1h`, `1d`, `1.5 hours`).
 * A bare number is refused: Mesos flags always name their unit, and guessing seconds vs
 * milliseconds is how timeouts end up 1000× off.
 *
 * @module
 */
import { AgoraError } from './errors.js';

/** Nanoseconds per unit (integers, so `value * ns / 1e6` rounds once). */
const UNIT_NS: ReadonlyArray<[RegExp, number]> = [
  [/^(ns|nanos?|nanoseconds?)$/, 1],
  [/^(us|µs|micros?|microseconds?)$/, 1e3],
  [/^(ms|millis?|milliseconds?)$/, 1e6],
  [/^(s|secs?|seconds?)$/, 1e9],
  [/^(m|mins?|minutes?)$/, 60e9],
  [/^(h|hrs?|hours?)$/, 3600e9],
  [/^(d|days?)$/, 86400e9],
  [/^(w|weeks?)$/, 604800e9],
];

/**
 * Parses a duration into milliseconds.
 *
 * @throws AgoraError `AGORA_DURATION_INVALID` naming the text.
 * @example
 * parseDuration('15s')     // 15000
 * parseDuration('2mins')   // 120000
 * parseDuration('500ms')   // 500
 */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-zµ]+)\s*$/i.exec(text);
  if (!m) {
    throw new AgoraError('AGORA_DURATION_INVALID', `invalid duration "${text}": expected a number and a unit, e.g. 15s, 500ms, 2mins`);
  }
  const value = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  for (const [re, ns] of UNIT_NS) if (re.test(unit)) return (value * ns) / 1e6;
  throw new AgoraError('AGORA_DURATION_INVALID', `invalid duration "${text}": unknown unit "${m[2]}" (use ns, us, ms, secs, mins, hrs, days, weeks)`);
}
