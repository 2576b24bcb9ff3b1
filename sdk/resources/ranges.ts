/**
 * Integer range sets (`ports:[31000-32000]`), kept as sorted, coalesced lists of inclusive
 * `{ begin, end }` ranges, like Mesos' `Value::Ranges` after `coalesce()`.
 *
 * @module
 */
import type { Range } from '../protocol/mesos.js';

/**
 * Sorts ranges and merges the ones that overlap or touch (`[1-2,3-4]` becomes `[1-4]`).
 * Returns new objects; the input is not mutated.
 */
export function coalesceRanges(ranges: readonly Range[]): Range[] {
  // Most lists are coalesced already (a normalised list, an agent's `ports:[31000-32000]`):
  // then the result is their copy in the same order, without sorting.
  if (isCoalesced(ranges)) return ranges.map((r) => ({ begin: r.begin, end: r.end }));
  const sorted = ranges.map((r) => ({ begin: r.begin, end: r.end })).sort((x, y) => x.begin - y.begin || x.end - y.end);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && r.begin <= last.end + 1) {
      if (r.end > last.end) last.end = r.end;
    } else {
      out.push(r);
    }
  }
  return out;
}

/**
 * True when sorting and merging would change nothing: every range after the first starts
 * after the previous one and more than one past its end (so neither overlaps nor touches).
 * A NaN between two ranges fails the comparison, so such lists take the general path; a
 * lone range comes back as it is either way.
 */
function isCoalesced(ranges: readonly Range[]): boolean {
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1]!;
    const r = ranges[i]!;
    if (!(r.begin > prev.begin && r.begin > prev.end + 1)) return false;
  }
  return true;
}

/** Union of two range lists, coalesced. */
export function addRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  return coalesceRanges([...a, ...b]);
}

/** `a - b`: the parts of `a` not covered by `b`, splitting ranges where needed. */
export function subtractRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  const minuend = coalesceRanges(a);
  const subtrahend = coalesceRanges(b);
  const out: Range[] = [];
  for (const r of minuend) {
    let begin = r.begin;
    for (const s of subtrahend) {
      if (s.end < begin) continue;
      if (s.begin > r.end) break;
      if (s.begin > begin) out.push({ begin, end: s.begin - 1 });
      begin = s.end + 1;
      if (begin > r.end) break;
    }
    if (begin <= r.end) out.push({ begin, end: r.end });
  }
  return out;
}

/** True when every value in `b` is also in `a`. */
export function rangesContain(a: readonly Range[], b: readonly Range[]): boolean {
  return subtractRanges(b, a).length === 0;
}

/** Number of integers covered (`[1-2,5-9]` is 7), counting overlaps once. */
export function rangesSize(ranges: readonly Range[]): number {
  let n = 0;
  for (const r of coalesceRanges(ranges)) n += r.end - r.begin + 1;
  return n;
}

/** Formats ranges as `[1-2,5-9]` (coalesced). */
export function formatRanges(ranges: readonly Range[]): string {
  return `[${coalesceRanges(ranges).map((r) => `${r.begin}-${r.end}`).join(',')}]`;
}
