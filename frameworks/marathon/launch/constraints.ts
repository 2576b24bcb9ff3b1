/**
 * Placement constraints: Marathon's `mesosphere.mesos.Constraints` (checking an offer against
 * the instances already placed) and the constraint rules of its app validation
 * (`SchedulingValidation.complyWithAppConstraintRules`).
 *
 * A constraint is `[field, operator]` or `[field, operator, value]`. The field selects what
 * is compared: `hostname`/`@hostname` the agent's hostname, `@region`/`@zone` the agent's
 * `region`/`zone` attribute (Agora has no fault domains; Marathon reads the offer's domain),
 * anything else the agent attribute of that name. Operators (case-insensitive, as Marathon
 * upper-cases them):
 *
 * | operator | satisfied when |
 * |---|---|
 * | UNIQUE | no placed instance has the offer's value |
 * | CLUSTER v | the offer's value is `v`; without `v`: equals the first placed instance's value (any value when none is placed) |
 * | GROUP_BY [n] | the offer's value is new, or its group has the smallest count and at least `n` groups exist |
 * | LIKE re | the value fully matches `re` |
 * | UNLIKE re | the value does not fully match `re` (an agent without the field satisfies it) |
 * | MAX_PER n | fewer than `n` placed instances share the offer's value |
 * | IS v | the value equals `v` (numerically when both are numbers, e.g. scalar attributes) |
 *
 * An offer without the field satisfies only UNLIKE. Regular expressions are JavaScript's
 * (Marathon uses Java's, whose syntax is nearly the same for the usual patterns).
 *
 * @module
 */
import type { Attribute } from '../../../sdk/protocol/index.js';
import { roundScalar } from '../../../sdk/resources/index.js';
import type { AppDefinition } from '../model/types.js';

/** The operators Marathon 1.10 accepts for app constraints. */
export const CONSTRAINT_OPERATORS = ['UNIQUE', 'CLUSTER', 'GROUP_BY', 'LIKE', 'UNLIKE', 'MAX_PER', 'IS'] as const;
export type ConstraintOperator = typeof CONSTRAINT_OPERATORS[number];

/** Marathon's constraint validation messages (`SchedulingValidationMessages`). */
export const CONSTRAINT_MESSAGES = {
  fieldCount: 'Each constraint must have either 2 or 3 fields',
  illegal: 'illegal constraint specification',
  operatorInvalid: 'operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER or UNLIKE',
  uniqueNoValue: 'UNIQUE does not accept a value',
  groupByInt: 'GROUP BY must define an integer value or else no value at all',
  maxPerInt: 'MAX_PER requires an integer value',
  likeRegex: 'LIKE and UNLIKE require a non-empty, regular expression value',
  invalidRegex: 'is not a valid regular expression',
  isText: 'IS only supports Mesos text and float values (see http://mesos.apache.org/documentation/latest/attributes-resources/)',
} as const;

/** The agent an offer comes from, as constraints see it. */
export interface ConstraintOffer {
  hostname: string;
  /** Agent attributes as strings (see {@link attributeString}). */
  attributes: Record<string, string>;
}

/** An instance already placed, as constraints see it. */
export interface PlacedInstance {
  host?: string;
  agentAttributes?: Record<string, string>;
}

/** Java's `Integer.parseInt` acceptance (what Marathon's `toInt` allows). */
function parseJavaInt(s: string): number | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n >= -2147483648 && n <= 2147483647 ? n : undefined;
}

/** Compiles a pattern for a full match (Java `String.matches`); undefined when invalid. */
function fullMatch(pattern: string): RegExp | undefined {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch {
    return undefined;
  }
}

/**
 * An agent attribute as Marathon compares it: TEXT its text, SCALAR the number (3 decimals),
 * RANGES `[a-b,c-d]` sorted by begin, SET `{a,b}` sorted.
 */
export function attributeString(a: Attribute): string {
  switch (a.type) {
    case 'SCALAR': return String(roundScalar(a.scalar?.value ?? 0));
    case 'TEXT': return a.text?.value ?? '';
    case 'RANGES': {
      const ranges = [...(a.ranges?.range ?? [])].sort((x, y) => Number(x.begin) - Number(y.begin));
      return `[${ranges.map((r) => `${r.begin}-${r.end}`).join(',')}]`;
    }
    case 'SET': return `{${[...(a.set?.item ?? [])].sort().join(',')}}`;
  }
}

/** All attributes of an offer/agent as a name → string map. */
export function attributesToStrings(attrs: readonly Attribute[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of attrs ?? []) out[a.name] = attributeString(a);
  return out;
}

type Reader = [(o: ConstraintOffer) => string | undefined, (p: PlacedInstance) => string | undefined];

function readerFor(field: string): Reader {
  switch (field) {
    case 'hostname':
    case '@hostname':
      return [(o) => o.hostname, (p) => p.host];
    case '@region':
      return [(o) => o.attributes.region, (p) => p.agentAttributes?.region];
    case '@zone':
      return [(o) => o.attributes.zone, (p) => p.agentAttributes?.zone];
    default:
      return [(o) => o.attributes[field], (p) => p.agentAttributes?.[field]];
  }
}

/** Counts per placed value (undefined = the field is missing on that agent). */
function groupCounts(placed: readonly PlacedInstance[], read: (p: PlacedInstance) => string | undefined): Map<string | undefined, number> {
  const counts = new Map<string | undefined, number>();
  for (const p of placed) {
    const v = read(p);
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return counts;
}

function valuesEqual(a: string, b: string): boolean {
  if (a === b) return true;
  const na = Number(a);
  const nb = Number(b);
  return a.trim() !== '' && b.trim() !== '' && Number.isFinite(na) && Number.isFinite(nb) && na === nb;
}

/**
 * True when an instance of the app may be placed on `offer`'s agent given the instances
 * already `placed` (the app's live instances). `_app` is accepted for future per-app rules.
 *
 * @example
 * constraintSatisfied(['hostname', 'UNIQUE'], { hostname: 'a', attributes: {} }, [{ host: 'a' }], app) // false
 */
export function constraintSatisfied(
  constraint: readonly string[],
  offer: ConstraintOffer,
  placed: readonly PlacedInstance[],
  _app?: AppDefinition,
): boolean {
  const [field = '', rawOperator = '', value] = constraint;
  const operator = rawOperator.toUpperCase();
  const [readOffer, readPlaced] = readerFor(field);
  const offerValue = readOffer(offer);
  if (offerValue === undefined) return operator === 'UNLIKE';

  switch (operator) {
    case 'UNIQUE':
      return placed.every((p) => readPlaced(p) !== offerValue);
    case 'CLUSTER':
      if (value === undefined || value === '') return placed.length === 0 || readPlaced(placed[0]!) === offerValue;
      return offerValue === value;
    case 'GROUP_BY': {
      const minimum = Math.max(0, value === 'inf' ? Number.MAX_SAFE_INTEGER : parseJavaInt(value ?? '') ?? 0);
      const counts = groupCounts(placed, readPlaced);
      const mine = counts.get(offerValue);
      if (mine === undefined) return true;
      const minCount = Math.min(...counts.values());
      return counts.size >= minimum && mine === minCount;
    }
    case 'MAX_PER': {
      const max = parseJavaInt(value ?? '');
      if (max === undefined) return false;
      return (groupCounts(placed, readPlaced).get(offerValue) ?? 0) < max;
    }
    case 'LIKE': {
      if (!value) return false;
      return fullMatch(value)?.test(offerValue) ?? false;
    }
    case 'UNLIKE': {
      if (!value) return false;
      const re = fullMatch(value);
      return re !== undefined && !re.test(offerValue);
    }
    case 'IS':
      return valuesEqual(offerValue, value ?? '');
    default:
      return false;
  }
}

/**
 * Marathon's validation messages for one app constraint (empty when valid). `constraint`
 * is the raw JSON value.
 *
 * @example
 * constraintErrors(['rack', 'MAX_PER', 'x']) // ['MAX_PER requires an integer value']
 */
export function constraintErrors(constraint: unknown): string[] {
  if (!Array.isArray(constraint) || constraint.some((c) => typeof c !== 'string')) {
    return ['Constraint definition must be an array of strings in format: <key>, <operator>[, value]'];
  }
  const c = constraint as string[];
  if (c.length < 2 || c.length > 3) return [CONSTRAINT_MESSAGES.fieldCount];
  const [field, rawOperator, value] = c as [string, string, string | undefined];
  if (field === '') return [CONSTRAINT_MESSAGES.illegal];
  const operator = rawOperator.toUpperCase();
  switch (operator) {
    case 'UNIQUE':
      return value === undefined ? [] : [CONSTRAINT_MESSAGES.uniqueNoValue];
    case 'CLUSTER':
      return [];
    case 'GROUP_BY':
      return value === undefined || parseJavaInt(value) !== undefined ? [] : [CONSTRAINT_MESSAGES.groupByInt];
    case 'MAX_PER':
      return value !== undefined && parseJavaInt(value) !== undefined ? [] : [CONSTRAINT_MESSAGES.maxPerInt];
    case 'LIKE':
    case 'UNLIKE':
      if (value === undefined) return [CONSTRAINT_MESSAGES.likeRegex];
      return fullMatch(value) ? [] : [CONSTRAINT_MESSAGES.invalidRegex];
    case 'IS':
      return /^[a-zA-Z0-9_/.-]*$/.test(value ?? '') ? [] : [CONSTRAINT_MESSAGES.isText];
    default:
      return [CONSTRAINT_MESSAGES.operatorInvalid];
  }
}
