/**
 * Reads a zod schema's definition into a plan: the checks a fast validator must make, in a
 * small tree that code generation (fast-parse.ts) walks. Only constructs whose zod semantics
 * are reproduced exactly get a plan; everything else becomes `never` ("always ask zod").
 *
 * The zod v4 semantics relied on (node_modules/zod/v4/core/schemas.js, checks.js):
 * - object: a plain object (not an array); output is a new object with the shape's keys in
 *   shape order, a required key must be present, an optional key absent stays absent; unknown
 *   keys are dropped, or copied after the shape's keys by `.passthrough()` (`__proto__` never).
 * - optional: `undefined` passes; anything else goes to the inner schema.
 * - array: elements validated in order into a new array.
 * - string / number / boolean: `typeof`; a number must also be neither NaN nor infinite.
 * - checks: min_length (UTF-16 units, but code points when the unit count is in [min, 2·min)),
 *   regex (`lastIndex` reset, then `test`), safeint (`Number.isSafeInteger`), greater_than and
 *   less_than (inclusive or not).
 * - enum / literal: membership of the value set.
 * - union: the first option that succeeds; discriminated union: the option whose literal tag
 *   equals the value's tag, no other.
 * - pipe into `transform(Number)`: the input's value through `Number`.
 *
 * @module
 */

/** The checks of a string; `minLength` in UTF-16 units with zod's code-point rule. */
export interface StringPlan { kind: 'string'; minLength?: number; patterns: RegExp[] }
/** A finite number; `safeInt`, then bounds. */
export interface NumberPlan {
  kind: 'number';
  safeInt: boolean;
  bounds: Array<{ op: '>' | '>=' | '<' | '<='; value: number }>;
}
export interface BooleanPlan { kind: 'boolean' }
/** One of a fixed set of values (enum or literal). */
export interface ValuesPlan { kind: 'values'; values: unknown[] }
export interface FieldPlan { key: string; plan: Plan; optional: boolean }
export interface ObjectPlan { kind: 'object'; fields: FieldPlan[]; passthrough: boolean }
export interface ArrayPlan { kind: 'array'; element: Plan }
/** Options tried in order; every option is decisive (see {@link isDecisive}). */
export interface UnionPlan { kind: 'union'; options: Plan[] }
/** The option is the one whose literal `tag` field holds the value's tag. */
export interface TaggedPlan { kind: 'tagged'; tag: string; options: Array<{ value: string; plan: ObjectPlan }> }
/** A scalar plan whose value goes through `Number` (int64 as a decimal string). */
export interface ToNumberPlan { kind: 'toNumber'; input: Plan }
/** Not reproduced here: a present value always goes to zod. */
export interface NeverPlan { kind: 'never' }

export type Plan = StringPlan | NumberPlan | BooleanPlan | ValuesPlan | ObjectPlan | ArrayPlan | UnionPlan | TaggedPlan
  | ToNumberPlan | NeverPlan;

export const NEVER: NeverPlan = { kind: 'never' };

/** zod's internals as far as this module reads them (zod v4 `_zod`). */
interface ZodInternals {
  def: Record<string, unknown> & { type: string; checks?: unknown[] };
  traits: Set<string>;
  optin?: string;
}

function internals(schema: unknown): ZodInternals | undefined {
  const zod = (schema as { _zod?: ZodInternals } | null)?._zod;
  return zod !== undefined && zod.def !== undefined && typeof zod.def.type === 'string' && zod.traits instanceof Set ? zod : undefined;
}

/** True when `def` holds nothing but `allowed` keys: a construct we know exactly. */
function onlyKeys(def: Record<string, unknown>, allowed: readonly string[]): boolean {
  for (const key of Object.keys(def)) {
    if (!allowed.includes(key) && def[key] !== undefined) return false;
  }
  return true;
}

function noChecks(def: ZodInternals['def']): boolean {
  return (def.checks?.length ?? 0) === 0;
}

function checkDefs(def: ZodInternals['def']): Array<Record<string, unknown>> | undefined {
  const out: Array<Record<string, unknown>> = [];
  for (const check of def.checks ?? []) {
    const checkDef = (check as { _zod?: { def?: Record<string, unknown> } } | null)?._zod?.def;
    if (checkDef === undefined) return undefined;
    out.push(checkDef);
  }
  return out;
}

function stringPlan(def: ZodInternals['def']): Plan {
  const checks = checkDefs(def);
  if (checks === undefined || !onlyKeys(def, ['type', 'checks'])) return NEVER;
  const plan: StringPlan = { kind: 'string', patterns: [] };
  for (const check of checks) {
    // min_length's `when` is zod's own default (run on values with a length); others have none.
    if (check.check === 'min_length' && typeof check.minimum === 'number') {
      plan.minLength = Math.max(plan.minLength ?? 0, check.minimum);
    } else if (check.check === 'string_format' && check.format === 'regex' && check.pattern instanceof RegExp && check.when === undefined) {
      plan.patterns.push(check.pattern);
    } else {
      return NEVER;
    }
  }
  return plan;
}

function numberPlan(def: ZodInternals['def']): Plan {
  const checks = checkDefs(def);
  if (checks === undefined || !onlyKeys(def, ['type', 'checks'])) return NEVER;
  const plan: NumberPlan = { kind: 'number', safeInt: false, bounds: [] };
  for (const check of checks) {
    if (check.when !== undefined) return NEVER;
    if (check.check === 'number_format' && check.format === 'safeint') {
      plan.safeInt = true;
    } else if ((check.check === 'greater_than' || check.check === 'less_than') && typeof check.value === 'number') {
      const op = check.check === 'greater_than' ? (check.inclusive === true ? '>=' : '>') : (check.inclusive === true ? '<=' : '<');
      plan.bounds.push({ op, value: check.value });
    } else {
      return NEVER;
    }
  }
  return plan;
}

function valuesPlan(def: ZodInternals['def']): Plan {
  if (!noChecks(def) || !onlyKeys(def, ['type', 'entries', 'values', 'checks'])) return NEVER;
  const values = def.type === 'enum' ? Object.values(def.entries as object) : (def.values as unknown[]);
  // zod keeps only the values of a numeric TypeScript enum; string lists are all we need.
  if (def.type === 'enum' && values.some((v) => typeof v !== 'string')) return NEVER;
  return { kind: 'values', values: [...values] };
}

function objectPlan(def: ZodInternals['def'], seen: Map<unknown, Plan>): Plan {
  if (!noChecks(def) || !onlyKeys(def, ['type', 'shape', 'catchall', 'checks'])) return NEVER;
  let passthrough = false;
  if (def.catchall !== undefined) {
    if (internals(def.catchall)?.def.type !== 'unknown') return NEVER;
    passthrough = true;
  }
  const shape = def.shape as Record<string, unknown>;
  if (Object.getOwnPropertySymbols(shape).length > 0) return NEVER;
  const fields: FieldPlan[] = [];
  for (const key of Object.keys(shape)) {
    const zod = internals(shape[key]);
    if (key === '__proto__' || zod === undefined) return NEVER;
    if (zod.def.type === 'optional') {
      // `.optional()` of a schema that substitutes a value for absence (a default) is not ours.
      const inner = internals(zod.def.innerType);
      if (!onlyKeys(zod.def, ['type', 'innerType']) || !noChecks(zod.def) || inner === undefined || inner.optin !== undefined) return NEVER;
      fields.push({ key, plan: planOf(zod.def.innerType, seen), optional: true });
    } else {
      // A required field must refuse absence; schemas that accept it (unknown, defaults) are not ours.
      if (zod.optin !== undefined) return NEVER;
      const plan = planOf(shape[key], seen);
      if (plan.kind === 'never') return NEVER;
      fields.push({ key, plan, optional: false });
    }
  }
  return { kind: 'object', fields, passthrough };
}

function arrayPlan(def: ZodInternals['def'], seen: Map<unknown, Plan>): Plan {
  if (!noChecks(def) || !onlyKeys(def, ['type', 'element', 'checks'])) return NEVER;
  const element = planOf(def.element, seen);
  return element.kind === 'never' ? NEVER : { kind: 'array', element };
}

function unionPlan(def: ZodInternals['def'], seen: Map<unknown, Plan>): Plan {
  if (!noChecks(def)) return NEVER;
  if (def.discriminator !== undefined) {
    if (!onlyKeys(def, ['type', 'options', 'discriminator', 'inclusive', 'checks']) || typeof def.discriminator !== 'string') return NEVER;
    const tag = def.discriminator;
    const options: TaggedPlan['options'] = [];
    for (const option of def.options as unknown[]) {
      const zod = internals(option);
      const tagZod = internals((zod?.def.shape as Record<string, unknown> | undefined)?.[tag]);
      if (zod?.def.type !== 'object' || tagZod?.def.type !== 'literal' || !noChecks(tagZod.def)) return NEVER;
      const plan = planOf(option, seen);
      if (plan.kind !== 'object') return NEVER;
      for (const value of tagZod.def.values as unknown[]) {
        if (typeof value !== 'string' || options.some((o) => o.value === value)) return NEVER;
        options.push({ value, plan });
      }
    }
    return { kind: 'tagged', tag, options };
  }
  if (!onlyKeys(def, ['type', 'options', 'checks'])) return NEVER;
  const options = (def.options as unknown[]).map((o) => planOf(o, seen));
  // zod takes the first option that succeeds: trying ours in turn is only right when a
  // fast "no" from an option is zod's "no" too.
  return options.every(isDecisive) ? { kind: 'union', options } : NEVER;
}

function pipePlan(def: ZodInternals['def'], seen: Map<unknown, Plan>): Plan {
  const out = internals(def.out);
  if (!onlyKeys(def, ['type', 'in', 'out', 'checks']) || !noChecks(def) || out?.def.type !== 'transform'
    || out.def.transform !== Number || !noChecks(out.def)) return NEVER;
  const input = planOf(def.in, seen);
  return input.kind === 'string' || input.kind === 'number' || input.kind === 'values' ? { kind: 'toNumber', input } : NEVER;
}

/**
 * The plan of a zod schema. Plans are shared per schema object, so code generation emits one
 * function for a sub-schema used in many places (ids, resources, task infos).
 */
export function planOf(schema: unknown, seen = new Map<unknown, Plan>()): Plan {
  const known = seen.get(schema);
  if (known !== undefined) return known;
  // A schema met again while its own plan is being made (recursion) stays with zod.
  seen.set(schema, NEVER);
  const zod = internals(schema);
  let plan: Plan = NEVER;
  // A schema that is itself a check (string formats such as z.email()) is not ours.
  if (zod !== undefined && !zod.traits.has('$ZodCheck')) {
    const def = zod.def;
    switch (def.type) {
      case 'string': plan = stringPlan(def); break;
      case 'number': plan = numberPlan(def); break;
      case 'boolean': plan = noChecks(def) && onlyKeys(def, ['type', 'checks']) ? { kind: 'boolean' } : NEVER; break;
      case 'enum':
      case 'literal': plan = valuesPlan(def); break;
      case 'object': plan = objectPlan(def, seen); break;
      case 'array': plan = arrayPlan(def, seen); break;
      case 'union': plan = unionPlan(def, seen); break;
      case 'pipe': plan = pipePlan(def, seen); break;
      default: break;
    }
  }
  seen.set(schema, plan);
  return plan;
}

/**
 * True when a fast "no" for this plan is always zod's "no" too. Objects are not decisive (an
 * unknown nested key sends a valid value to zod), nor is a string minimum above 1 (zod's
 * code-point count in the doubtful range is left to zod).
 */
export function isDecisive(plan: Plan): boolean {
  switch (plan.kind) {
    case 'string': return (plan.minLength ?? 0) <= 1;
    case 'number':
    case 'boolean':
    case 'values': return true;
    case 'union': return plan.options.every(isDecisive);
    case 'toNumber': return isDecisive(plan.input);
    default: return false;
  }
}

/** Deepest nesting of objects/arrays in a value the plan accepts (0 for scalars). */
export function depthOf(plan: Plan, seen = new Map<Plan, number>()): number {
  const known = seen.get(plan);
  if (known !== undefined) return known;
  seen.set(plan, 0);
  let depth = 0;
  switch (plan.kind) {
    case 'object': depth = 1 + Math.max(0, ...plan.fields.map((f) => depthOf(f.plan, seen))); break;
    case 'array': depth = 1 + depthOf(plan.element, seen); break;
    case 'union': depth = Math.max(0, ...plan.options.map((o) => depthOf(o, seen))); break;
    case 'tagged': depth = Math.max(0, ...plan.options.map((o) => depthOf(o.plan, seen))); break;
    default: break;
  }
  seen.set(plan, depth);
  return depth;
}
