/**
 * A seeded pseudo-random generator (mulberry32): the same seed always gives the same
 * sequence, so a logged seed replays a chaos schedule exactly. Not for cryptography.
 *
 * @module
 */
import { seededRandom } from '../../slave/sim/prng.js';

/** A generator of floats in [0, 1), like `Math.random`. */
export type Random = () => number;

/** mulberry32 over a 32-bit seed (any integer; only its low 32 bits count): the simulated containerizer's generator. */
export function mulberry32(seed: number): Random {
  return seededRandom(seed);
}

/** An integer in [min, max] (both inclusive). */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** One element of a non-empty list. */
export function pick<T>(random: Random, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick from an empty list');
  return items[Math.floor(random() * items.length)]!;
}
