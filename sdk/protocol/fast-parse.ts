/**
 * Fast validators generated from the zod schemas, for the messages every task crosses several
 * times (status updates and their acknowledgements, run_task, ACCEPT, ACKNOWLEDGE, DECLINE,
 * OFFERS, UPDATE, …). zod stays the single source of truth: the first time a schema is used,
 * its definition is read into a plan (fast-parse-plan.ts) and the plan into one JavaScript
 * function per object/array (straight-line field checks, no per-field allocation, unlike
 * zod's payload objects and issue arrays). A fast validator only ever answers "here is the
 * value zod would return" or {@link FALLBACK} ("ask zod"): it never rejects by itself, so
 * every error message still comes from zod, word for word.
 *
 * It returns what `schema.safeParse(stripNulls(json))` returns on success: a new value with
 * keys in schema order, absent optional fields left out, unknown keys dropped (or kept by
 * `.passthrough()`), `null` keys and `null` array elements dropped as stripNulls drops them.
 * It steps aside (FALLBACK) for any invalid value, for constructs it does not reproduce
 * (records, refinements, defaults, …) whenever they are present in the value, for an unknown
 * key holding an object or array (stripNulls walks those for nulls and depth), for explicitly
 * `undefined` keys and for objects that are not plain. Its input is JSON as JSON.parse makes
 * it (or plain data objects): accessors and non-enumerable properties are outside what it
 * reproduces (stripNulls' copy would drop a non-enumerable property; the fast path reads it).
 *
 * Equivalence with zod is checked by a differential test (test/unit/protocol-fast-parse.test.ts)
 * over seeded random messages and mutations of them.
 *
 * @module
 */
import type { z } from 'zod';
import { depthOf, planOf, type ObjectPlan, type Plan } from './fast-parse-plan.js';

/** What a fast validator answers when it cannot vouch for the value: run zod instead. */
export const FALLBACK: unique symbol = Symbol('agora.protocol.fallback');
export type Fallback = typeof FALLBACK;

/** A generated validator: the value zod would return for `value`, or {@link FALLBACK}. */
export type FastParser<T = unknown> = (value: unknown) => T | Fallback;

/** Deepest container nesting stripNulls accepts (mesos.ts MAX_JSON_DEPTH; a test keeps them equal). */
export const FAST_PARSE_MAX_DEPTH = 64;

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * The slow half of an object check, run only when the object's own key count differs from
 * the number of shape keys it holds: unknown keys with scalars are dropped (or copied by
 * passthrough, `__proto__` never), `null` ones dropped; anything else goes to zod.
 */
function extraKeys(v: Record<string, unknown>, out: Record<string, unknown>, known: ReadonlySet<string>, present: number,
  passthrough: boolean): boolean {
  let knownSeen = 0;
  for (const key in v) {
    if (!hasOwn.call(v, key)) return false;
    const x = v[key];
    if (known.has(key)) {
      if (x === undefined) return false;
      knownSeen++;
      continue;
    }
    if (x === null) continue;
    if (x === undefined || typeof x === 'object') return false;
    if (passthrough && key !== '__proto__') out[key] = x;
  }
  // A shape key read but not enumerated as an own key (inherited, non-enumerable): zod's.
  return knownSeen === present;
}

const isScalar = (plan: Plan): boolean =>
  plan.kind === 'string' || plan.kind === 'number' || plan.kind === 'boolean' || plan.kind === 'values';

/** Generates the source of every function a plan needs, sharing one per plan object. */
class Generator {
  readonly functions: string[] = [];
  readonly constants: unknown[] = [];
  private readonly names = new Map<Plan, string>();

  constant(value: unknown): string {
    this.constants.push(value);
    return `C[${this.constants.length - 1}]`;
  }

  /** A JavaScript expression that is true when the scalar in variable `x` fails `plan`. */
  invalid(plan: Plan, x: string): string {
    switch (plan.kind) {
      case 'string': {
        const parts = [`typeof ${x} !== 'string'`];
        const min = plan.minLength ?? 0;
        // Above 1, lengths in [min, 2·min) need zod's code-point count: they go to zod.
        if (min > 0) parts.push(`${x}.length < ${min <= 1 ? min : 2 * min}`);
        for (const pattern of plan.patterns) {
          const re = this.constant(pattern);
          parts.push(`(${re}.lastIndex = 0, !${re}.test(${x}))`);
        }
        return parts.join(' || ');
      }
      case 'number': {
        const parts = [plan.safeInt ? `!Number.isSafeInteger(${x})` : `!Number.isFinite(${x})`];
        for (const bound of plan.bounds) {
          const value = Number.isFinite(bound.value) && !Object.is(bound.value, -0) ? String(bound.value) : this.constant(bound.value);
          parts.push(`!(${x} ${bound.op} ${value})`);
        }
        return parts.join(' || ');
      }
      case 'boolean':
        return `typeof ${x} !== 'boolean'`;
      case 'values':
        if (plan.values.length <= 4 && plan.values.every((v) => typeof v === 'string')) {
          return plan.values.map((v) => `${x} !== ${JSON.stringify(v)}`).join(' && ') || 'true';
        }
        return `!${this.constant(new Set(plan.values))}.has(${x})`;
      default:
        throw new Error(`not a scalar plan: ${plan.kind}`);
    }
  }

  /**
   * Statements that validate `x` against `plan` and store the output with `store(expr)`,
   * returning F from the enclosing function when it fails.
   */
  check(plan: Plan, x: string, store: (expr: string) => string): string {
    if (plan.kind === 'never') return 'return F;';
    if (isScalar(plan)) return `if (${this.invalid(plan, x)}) return F; ${store(x)}`;
    return `{ const r = ${this.functionFor(plan)}(${x}); if (r === F) return F; ${store('r')} }`;
  }

  /** The name of the generated function for a plan (objects, arrays, unions, transforms, scalars at the root). */
  functionFor(plan: Plan): string {
    const known = this.names.get(plan);
    if (known !== undefined) return known;
    const name = `${plan.kind}${this.names.size}`;
    this.names.set(plan, name);
    let body: string;
    switch (plan.kind) {
      case 'object': body = this.objectBody(plan); break;
      case 'array':
        body = `if (!isArray(v) || getProto(v) !== AP) return F;
  const out = [];
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x === null) continue;
    ${this.check(plan.element, 'x', (e) => `out.push(${e});`)}
  }
  return out;`;
        break;
      case 'union':
        body = plan.options.map((option) => (isScalar(option)
          ? `if (!(${this.invalid(option, 'v')})) return v;`
          : `{ const r = ${this.functionFor(option)}(v); if (r !== F) return r; }`)).join('\n  ') + '\n  return F;';
        break;
      case 'tagged':
        body = `if (typeof v !== 'object' || v === null || isArray(v)) return F;
  switch (v[${JSON.stringify(plan.tag)}]) {
    ${plan.options.map((o) => `case ${JSON.stringify(o.value)}: return ${this.functionFor(o.plan)}(v);`).join('\n    ')}
    default: return F;
  }`;
        break;
      case 'toNumber':
        body = `${this.check(plan.input, 'v', (e) => `return Number(${e});`)}`;
        break;
      case 'never':
        body = 'return F;';
        break;
      default:
        body = `${this.check(plan, 'v', (e) => `return ${e};`)}`;
        break;
    }
    this.functions.push(`function ${name}(v) {\n  ${body}\n}`);
    return name;
  }

  private objectBody(plan: ObjectPlan): string {
    const known = this.constant(new Set(plan.fields.map((f) => f.key)));
    const lines = [
      `if (typeof v !== 'object' || v === null) return F;`,
      `const proto = getProto(v); if (proto !== OP && proto !== null) return F;`,
      `const out = {}; let n = 0, x;`,
    ];
    for (const field of plan.fields) {
      const key = JSON.stringify(field.key);
      const store = (e: string): string => `out[${key}] = ${e};`;
      lines.push(`x = v[${key}];`);
      if (field.optional) {
        // null is stripNulls' absence: counted as a key of the object, not validated.
        lines.push(`if (x !== undefined) { n++; if (x !== null) { ${this.check(field.plan, 'x', store)} } }`);
      } else {
        lines.push(`if (x === undefined || x === null) return F; n++; ${this.check(field.plan, 'x', store)}`);
      }
    }
    lines.push(`let t = 0; for (const _ in v) t++;`);
    lines.push(`if (t !== n && !extraKeys(v, out, ${known}, n, ${plan.passthrough})) return F;`);
    lines.push('return out;');
    return lines.join('\n  ');
  }
}

/** Generates the validator for a plan; undefined when the plan leaves everything to zod. */
function generate(plan: Plan): FastParser | undefined {
  if (plan.kind === 'never') return undefined;
  // stripNulls refuses nesting deeper than its limit; a schema that deep (none of ours comes
  // near) is left to the zod path, which applies the limit.
  if (depthOf(plan) - 1 > FAST_PARSE_MAX_DEPTH) return undefined;
  const gen = new Generator();
  const root = gen.functionFor(plan);
  const source = `'use strict';\n${gen.functions.join('\n')}\nreturn ${root};`;
  try {
    const factory = new Function('F', 'C', 'OP', 'AP', 'getProto', 'isArray', 'extraKeys', source) as (...args: unknown[]) => FastParser;
    return factory(FALLBACK, gen.constants, Object.prototype, Array.prototype, Object.getPrototypeOf, Array.isArray, extraKeys);
  } catch {
    // Code generation refused (--disallow-code-generation-from-strings): zod alone.
    return undefined;
  }
}

const generated = new WeakMap<object, FastParser | null>();

/**
 * The fast validator of a zod schema, generated on first use and cached; undefined when the
 * schema offers nothing to generate (the caller then simply uses zod). The function expects
 * what JSON.parse produced, before stripNulls.
 */
export function fastParser<T>(schema: z.ZodType<T>): FastParser<T> | undefined {
  let parser = generated.get(schema);
  if (parser === undefined) {
    parser = generate(planOf(schema)) ?? null;
    generated.set(schema, parser);
  }
  return (parser ?? undefined) as FastParser<T> | undefined;
}

/** `schema.safeParse(stripNulls(json)).data` when the fast validator vouches for it, else FALLBACK. */
export function fastParse<T>(schema: z.ZodType<T>, json: unknown): T | Fallback {
  const parser = fastParser(schema);
  return parser === undefined ? FALLBACK : parser(json);
}

/** The generated source for a schema, for reading what a fast validator checks (debugging, docs). */
export function fastParserSource(schema: z.ZodType): string | undefined {
  const plan = planOf(schema);
  if (plan.kind === 'never') return undefined;
  const gen = new Generator();
  const root = gen.functionFor(plan);
  return `${gen.functions.join('\n')}\n// root: ${root}`;
}
