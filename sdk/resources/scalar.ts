/**
 * Scalar resource values in 3-decimal fixed point, as Mesos does (`Value::Scalar` is
 * rounded to the nearest 0.001 in every operation, see mesos/src/common/values.cpp).
 *
 * All arithmetic is done on integer thousandths ("millis") so that `0.1 + 0.2` is exactly
 * `0.3` and repeated adds/subtracts never accumulate float noise.
 *
 * @module
 */

/** Fixed-point scale: scalars are kept to 3 decimals. */
export const SCALAR_SCALE = 1000;

/** Converts a scalar to integer thousandths (rounded half away from zero like Mesos' `llround`). */
export function toMilli(value: number): number {
  const m = value * SCALAR_SCALE;
  return m < 0 ? -Math.round(-m) : Math.round(m);
}

/** Converts integer thousandths back to a scalar (exactly representable to 3 decimals). */
export function fromMilli(milli: number): number {
  const v = milli / SCALAR_SCALE;
  return Object.is(v, -0) ? 0 : v;
}

/** Rounds a scalar to 3 decimals. */
export function roundScalar(value: number): number {
  return fromMilli(toMilli(value));
}

/** Adds scalars in fixed point. */
export function addScalars(a: number, b: number): number {
  return fromMilli(toMilli(a) + toMilli(b));
}

/** Subtracts `b` from `a` in fixed point, clamping at 0 (a resource never goes negative). */
export function subtractScalars(a: number, b: number): number {
  return fromMilli(Math.max(0, toMilli(a) - toMilli(b)));
}

/** Formats a scalar the way `--resources` writes it (`4`, `0.5`, `1.125`). */
export function formatScalar(value: number): string {
  return String(roundScalar(value));
}
