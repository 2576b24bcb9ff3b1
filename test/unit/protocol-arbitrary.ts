/**
 * Seeded random values for the protocol's zod schemas (not a test file itself): valid
 * messages with every optional field sometimes present, sometimes absent, sometimes `null`,
 * unknown keys, `null` array elements; and mutations of them that are mostly invalid (wrong
 * types, missing required fields, nulls, huge or non-finite numbers, wrong enums, empty ids,
 * `__proto__`/`constructor` keys, deep nesting). Read from the schemas' zod v4 definitions,
 * so every construct the protocol uses is covered without a hand-written generator per type.
 */
import type { z } from 'zod';
import { seededRandom } from '../../slave/sim/prng.js';

/** mulberry32, seeded (slave/sim/prng.ts): every case is reproducible from its seed. */
export const prng = seededRandom;

type Rnd = () => number;
interface Def { type: string; [key: string]: unknown }
const defOf = (schema: unknown): Def => (schema as { _zod: { def: Def } })._zod.def;
const pick = <T>(rnd: Rnd, items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;

const STRINGS = ['a', 'task-1', 'emu-0', '655a71a8-S0', 'ü', '😀', 'x'.repeat(40), 'AAEC', 'muxXMqtYcyDUHKK6lYQoMg==', ' ', ''];
const NUMBERS = [0, 1, 2, 15, 5051, 0.1, 0.5, 32, 65536, -3, 1e9, 2 ** 53 - 1, 1795686618.077, 60, 5.0];
const INT64_STRINGS = ['0', '5000000000', '-1', '42', '9007199254740993'];
const UINT64_STRINGS = ['0', '31000', '1234567890123456'];

/** Any JSON value, small, with nulls here and there (what records and passthrough hold). */
export function arbitraryJson(rnd: Rnd, depth = 0): unknown {
  const r = rnd();
  if (depth > 2 || r < 0.3) return pick(rnd, [1, 'x', true, null, 0.5, '']);
  if (r < 0.6) return Array.from({ length: Math.floor(rnd() * 3) }, () => arbitraryJson(rnd, depth + 1));
  const out: Record<string, unknown> = {};
  for (let i = Math.floor(rnd() * 3); i > 0; i--) out[pick(rnd, ['k', 'value', 'type', 'n'])] = arbitraryJson(rnd, depth + 1);
  return out;
}

function candidates(def: Def): unknown[] {
  switch (def.type) {
    case 'string': {
      const checks = (def.checks as Array<{ _zod: { def: { check: string; pattern?: RegExp } } }> | undefined) ?? [];
      const pattern = checks.find((c) => c._zod.def.check === 'string_format')?._zod.def.pattern;
      if (pattern !== undefined) return pattern.source.includes('{1,16}') ? UINT64_STRINGS : INT64_STRINGS;
      return STRINGS;
    }
    case 'number': return NUMBERS;
    default: return [];
  }
}

/** How {@link arbitrary} fills messages. */
export interface ArbitraryOptions {
  /** The chance an optional field is `null` instead of absent or present. */
  nullRate: number;
  /** False leaves optional records (free-form JSON, always validated by zod) out. */
  records: boolean;
}

/**
 * A value `schema` accepts after stripNulls (so it may hold nulls where fields are optional,
 * in arrays, and unknown keys).
 */
export function arbitrary(schema: z.ZodType, rnd: Rnd, options: ArbitraryOptions = { nullRate: 0.1, records: true }): unknown {
  const nullRate = options.nullRate;
  const def = defOf(schema);
  switch (def.type) {
    case 'string':
    case 'number': {
      const options = candidates(def).filter((c) => schema.safeParse(c).success);
      if (options.length === 0) throw new Error(`no candidate for a ${def.type} schema`);
      return pick(rnd, options);
    }
    case 'boolean': return rnd() < 0.5;
    case 'enum': return pick(rnd, Object.values(def.entries as object));
    case 'literal': return pick(rnd, def.values as unknown[]);
    case 'optional': return arbitrary(def.innerType as z.ZodType, rnd, options);
    case 'pipe': return arbitrary(def.in as z.ZodType, rnd, options);
    case 'union': return arbitrary(pick(rnd, def.options as z.ZodType[]), rnd, options);
    case 'array': {
      const out: unknown[] = [];
      for (let i = Math.floor(rnd() * 4); i > 0; i--) out.push(rnd() < nullRate / 2 ? null : arbitrary(def.element as z.ZodType, rnd, options));
      return out;
    }
    case 'record': return arbitraryJson(rnd) !== null && rnd() < 0.5 ? { key: arbitraryJson(rnd) } : {};
    case 'unknown': return arbitraryJson(rnd);
    case 'object': {
      const out: Record<string, unknown> = {};
      const shape = def.shape as Record<string, z.ZodType>;
      for (const [key, field] of Object.entries(shape)) {
        if (defOf(field).type === 'optional') {
          if (!options.records && defOf(defOf(field).innerType).type === 'record') continue;
          const r = rnd();
          if (r < 0.45) continue;
          if (r < 0.45 + nullRate) {
            out[key] = null;
            continue;
          }
        }
        out[key] = arbitrary(field, rnd, options);
      }
      // Unknown keys: dropped by zod (kept by passthrough), ignored by Mesos's protobuf parser.
      if (rnd() < 0.1) out[pick(rnd, ['future_field', 'x_extra', 'labels2'])] = pick(rnd, [1, 'v', true, null]);
      return out;
    }
    default:
      throw new Error(`no arbitrary for zod type ${def.type}`);
  }
}

/** Every path to a value inside `value` (arrays and objects), the root included as []. */
function paths(value: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value !== null && typeof value === 'object') for (const k of Object.keys(value)) paths((value as Record<string, unknown>)[k], [...prefix, k], out);
  return out;
}

function deep(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = i % 2 === 0 ? [v] : { d: v };
  return v;
}

/** Replacement values: wrong types, non-finite and huge numbers, wrong enums, empties. */
const REPLACEMENTS: unknown[] = [
  null, undefined, 'x', '', 42, -1, 1.5, -0, 2 ** 53, 1e308, Infinity, -Infinity, NaN, true, false, [], {}, [null], { value: '' },
  { value: 'x' }, 'TASK_DANCING', 'task_running', 'SCALAR ', '5000000000', '1.5', '-0', '12345678901234567', 'LAUNCH', 'ACCEPT',
  'status_update', { value: 1 }, [1, 2], deep(70), deep(3),
];
const KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'value', 'type', 'extra'];

/**
 * A mutated deep copy of `value`: one change at a random path. Returned as a fresh object
 * tree (JSON round trip, then the change), so `__proto__` keys are own keys as JSON.parse
 * makes them and undefined/NaN/Infinity survive where the change puts them.
 */
export function mutate(value: unknown, rnd: Rnd): unknown {
  const copy = JSON.parse(JSON.stringify(value)) as unknown;
  const all = paths(copy);
  const path = pick(rnd, all);
  const parentPath = path.slice(0, -1);
  const last = path[path.length - 1];
  let parent: unknown = copy;
  for (const k of parentPath) parent = (parent as Record<string | number, unknown>)[k];
  const target: unknown = path.length === 0 ? copy : (parent as Record<string | number, unknown>)[last!];
  const r = rnd();
  if (r < 0.4 && path.length > 0) {
    // Replace the value.
    (parent as Record<string | number, unknown>)[last!] = pick(rnd, REPLACEMENTS);
    return copy;
  }
  if (r < 0.6 && path.length > 0 && !Array.isArray(parent)) {
    // Remove a key (a missing required field, or an optional one gone).
    delete (parent as Record<string, unknown>)[last as string];
    return copy;
  }
  if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
    // Add a key: unknown or well-known names, own `__proto__` included.
    Object.defineProperty(target, pick(rnd, KEYS), { value: pick(rnd, REPLACEMENTS), enumerable: true, writable: true, configurable: true });
    return copy;
  }
  if (Array.isArray(target)) {
    target.push(pick(rnd, REPLACEMENTS));
    return copy;
  }
  if (path.length === 0) return pick(rnd, REPLACEMENTS);
  (parent as Record<string | number, unknown>)[last!] = pick(rnd, REPLACEMENTS);
  return copy;
}
