/**
 * Timestamps as Marathon prints them: ISO 8601, millisecond precision, `Z`.
 *
 * @module
 */
import type { Timestamp } from '../model/types.js';

/** Milliseconds since the epoch → `2015-09-25T15:13:48.343Z`. */
export function isoOf(ms: number): Timestamp {
  return new Date(ms).toISOString();
}

/** The inverse of {@link isoOf} (NaN for garbage). */
export function msOf(ts: Timestamp): number {
  return Date.parse(ts);
}
