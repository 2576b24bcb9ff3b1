/**
 * A small seeded pseudo-random source (mulberry32) for the simulated containerizer: the
 * same seed draws the same failures, so a simulated run (and a test cluster on a virtual
 * clock) is reproducible. Not for anything that needs unpredictability.
 *
 * @module
 */

/**
 * Returns a function drawing numbers in [0, 1) from `seed` (any finite number; the
 * integer part modulo 2^32 is used).
 *
 * @example
 * const random = seededRandom(42);
 * random(); // the same sequence for every run seeded 42
 */
export function seededRandom(seed: number): () => number {
  let a = Math.trunc(seed) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
