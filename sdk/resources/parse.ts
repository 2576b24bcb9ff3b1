/**
 * The Mesos `--resources` and `--attributes` text syntaxes, and resource constructors.
 *
 * Resources (mesos/src/common/resources.cpp `Resources::parse`):
 * `cpus:4;mem:4096;disk:10000;ports:[31000-32000]`, `cpus(role):2` for a static
 * reservation, `names:{a,b}` for sets, or a JSON array of `Resource` objects. Entries with
 * the same identity are added together; zero/empty entries disappear.
 *
 * Attributes (mesos/src/common/attributes.cpp `Attributes::parse`):
 * `rack:r1;zone:a;level:3;p:[1-2]` — a number is SCALAR, `[…]` RANGES, anything else TEXT.
 *
 * @module
 */
import { AgoraError } from '../core/errors.js';
import { Resource as ResourceSchema, safeParseJson, type Attribute, type Range, type Resource } from '../protocol/mesos.js';
import { flattenResources } from './arithmetic.js';
import { reservationRole } from './identity.js';
import { coalesceRanges, formatRanges } from './ranges.js';
import { formatScalar, roundScalar } from './scalar.js';

const RESOURCES_INVALID = 'AGORA_RESOURCES_INVALID';
const ATTRIBUTES_INVALID = 'AGORA_ATTRIBUTES_INVALID';

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const NAME = /^[^\s:;()[\]{},]+$/;
const ROLE = /^[^\s:;()[\]{},/]+$/;

/** A scalar resource, optionally statically reserved for `role` (`*` means unreserved). */
export function scalarResource(name: string, value: number, role?: string): Resource {
  return withRole({ name, type: 'SCALAR', scalar: { value: roundScalar(value) } }, role);
}

/** A RANGES resource (ranges coalesced), optionally statically reserved for `role`. */
export function rangesResource(name: string, ranges: Range[], role?: string): Resource {
  return withRole({ name, type: 'RANGES', ranges: { range: coalesceRanges(ranges) } }, role);
}

/** A SET resource, optionally statically reserved for `role`. */
export function setResource(name: string, items: string[], role?: string): Resource {
  return withRole({ name, type: 'SET', set: { item: [...new Set(items)].sort() } }, role);
}

function withRole(r: Resource, role: string | undefined): Resource {
  if (role !== undefined && role !== '*') r.reservations = [{ type: 'STATIC', role }];
  return r;
}

function fail(code: string, spec: string, why: string): never {
  throw new AgoraError(code, `invalid ${code === RESOURCES_INVALID ? 'resources' : 'attributes'} "${spec}": ${why}`);
}

/** Parses `[1-2,5-9]` (also a bare `5` for `5-5`); `undefined` with a reason on failure. */
function parseRangesText(text: string): { ranges: Range[] } | { error: string } {
  const inner = text.slice(1, -1).trim();
  if (inner === '') return { ranges: [] };
  const ranges: Range[] = [];
  for (const part of inner.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) return { error: `bad range "${part.trim()}" (expected begin-end with non-negative integers)` };
    const begin = Number(m[1]);
    const end = Number(m[2] ?? m[1]);
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end)) return { error: `range "${part.trim()}" is too large` };
    if (begin > end) return { error: `range ${begin}-${end} has begin > end` };
    ranges.push({ begin, end });
  }
  return { ranges: coalesceRanges(ranges) };
}

/** Parses a scalar; `undefined` when the text is not a finite number. */
function parseNumber(text: string): number | undefined {
  if (!NUMBER.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** Checks a JSON-form resource beyond its zod shape (value present for its type, sane values). */
function checkJsonResource(r: Resource, spec: string, index: number): void {
  const where = `resource #${index} (${r.name})`;
  switch (r.type) {
    case 'SCALAR':
      if (r.scalar === undefined) fail(RESOURCES_INVALID, spec, `${where}: SCALAR without "scalar"`);
      if (r.scalar.value < 0) fail(RESOURCES_INVALID, spec, `${where}: negative value ${r.scalar.value}`);
      break;
    case 'RANGES':
      if (r.ranges === undefined) fail(RESOURCES_INVALID, spec, `${where}: RANGES without "ranges"`);
      for (const range of r.ranges.range ?? []) {
        if (range.begin > range.end) fail(RESOURCES_INVALID, spec, `${where}: range ${range.begin}-${range.end} has begin > end`);
      }
      break;
    case 'SET':
      if (r.set === undefined) fail(RESOURCES_INVALID, spec, `${where}: SET without "set"`);
      break;
    case 'TEXT':
      fail(RESOURCES_INVALID, spec, `${where}: TEXT is not a valid resource type`);
  }
}

function parseJsonResources(spec: string, defaultRole: string | undefined): Resource[] {
  let json: unknown;
  try {
    json = JSON.parse(spec);
  } catch (err) {
    fail(RESOURCES_INVALID, spec, `malformed JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(json)) fail(RESOURCES_INVALID, spec, 'JSON form must be an array of Resource objects');
  const out: Resource[] = [];
  json.forEach((item, index) => {
    const parsed = safeParseJson(ResourceSchema, item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      fail(RESOURCES_INVALID, spec, `resource #${index}: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`);
    }
    const r = parsed.data;
    checkJsonResource(r, spec, index);
    const unreserved = !r.reservations?.length && r.reservation === undefined && (r.role === undefined || r.role === '*');
    if (r.role === '*') delete r.role;
    out.push(unreserved ? withRole(r, defaultRole) : r);
  });
  return flattenResources(out);
}

/**
 * Parses a Mesos `--resources` value: `cpus:4;mem:4096;ports:[31000-32000]`,
 * `cpus(role):2` (static reservation), `names:{a,b}` (set), or a JSON array of Resource
 * objects. Unreserved entries carry no reservations (role `*`); with `defaultRole` they are
 * statically reserved for it instead. Entries of the same identity are summed; zero/empty
 * ones are dropped.
 *
 * @throws AgoraError `AGORA_RESOURCES_INVALID` naming the spec and what is wrong.
 * @example
 * parseResources('cpus:2;mem:1024;ports:[31000-31009]')
 * parseResources('cpus(web):1.5') // [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1.5 }, reservations: [{ type: 'STATIC', role: 'web' }] }]
 */
export function parseResources(spec: string, opts: { defaultRole?: string } = {}): Resource[] {
  const trimmed = spec.trim();
  if (trimmed === '') fail(RESOURCES_INVALID, spec, 'empty');
  if (opts.defaultRole !== undefined && !ROLE.test(opts.defaultRole)) fail(RESOURCES_INVALID, spec, `bad default role "${opts.defaultRole}"`);
  if (trimmed.startsWith('[')) return parseJsonResources(trimmed, opts.defaultRole);
  if (trimmed.startsWith('{')) fail(RESOURCES_INVALID, spec, 'JSON form must be an array of Resource objects');

  const out: Resource[] = [];
  for (const raw of trimmed.split(';')) {
    const token = raw.trim();
    if (token === '') continue;
    const m = /^([^:()]*?)\s*(?:\(([^()]*)\))?\s*:\s*([\s\S]*)$/.exec(token);
    if (!m) fail(RESOURCES_INVALID, spec, `"${token}" is not name:value or name(role):value`);
    const name = m[1]!;
    const role = m[2]?.trim();
    const value = m[3]!.trim();
    if (!NAME.test(name)) fail(RESOURCES_INVALID, spec, `bad resource name "${name}"`);
    if (role !== undefined && !ROLE.test(role)) fail(RESOURCES_INVALID, spec, `bad role "${role}" for ${name}`);
    const effectiveRole = role ?? opts.defaultRole;
    if (value === '') fail(RESOURCES_INVALID, spec, `${name} has no value`);
    if (value.startsWith('[')) {
      if (!value.endsWith(']')) fail(RESOURCES_INVALID, spec, `${name}: unterminated range list "${value}"`);
      const parsed = parseRangesText(value);
      if ('error' in parsed) fail(RESOURCES_INVALID, spec, `${name}: ${parsed.error}`);
      out.push(rangesResource(name, parsed.ranges, effectiveRole));
    } else if (value.startsWith('{')) {
      if (!value.endsWith('}')) fail(RESOURCES_INVALID, spec, `${name}: unterminated set "${value}"`);
      const inner = value.slice(1, -1).trim();
      const items = inner === '' ? [] : inner.split(',').map((s) => s.trim());
      if (items.some((i) => i === '')) fail(RESOURCES_INVALID, spec, `${name}: empty set item in "${value}"`);
      out.push(setResource(name, items, effectiveRole));
    } else {
      const n = parseNumber(value);
      if (n === undefined) fail(RESOURCES_INVALID, spec, `${name}: "${value}" is not a number, [ranges] or {set}`);
      if (n < 0) fail(RESOURCES_INVALID, spec, `${name}: negative value ${value}`);
      out.push(scalarResource(name, n, effectiveRole));
    }
  }
  if (out.length === 0) fail(RESOURCES_INVALID, spec, 'no resources');
  return flattenResources(out);
}

function formatValue(r: Resource | Attribute): string {
  switch (r.type) {
    case 'SCALAR':
      return formatScalar(r.scalar?.value ?? 0);
    case 'RANGES':
      return formatRanges(r.ranges?.range ?? []);
    case 'SET':
      return `{${[...new Set(r.set?.item ?? [])].sort().join(',')}}`;
    case 'TEXT':
      return 'text' in r ? (r.text?.value ?? '') : '';
  }
}

/**
 * Formats resources in `--resources` syntax, the inverse of {@link parseResources}:
 * `cpus:4;mem:4096;ports:[31000-32000]`, with reserved entries as `cpus(role):1`
 * (the reservation's type, principal and labels are not shown).
 */
export function formatResources(rs: readonly Resource[]): string {
  return rs.map((r) => {
    const role = reservationRole(r);
    return `${r.name}${role === '*' ? '' : `(${role})`}:${formatValue(r)}`;
  }).join(';');
}

/**
 * Parses a Mesos `--attributes` value: `rack:r1;zone:a;level:3;p:[1-2]`. A number is a
 * SCALAR (3 decimals), `[…]` RANGES, anything else TEXT; sets are refused, as in Mesos.
 * An empty spec gives no attributes.
 *
 * @throws AgoraError `AGORA_ATTRIBUTES_INVALID` naming the spec and what is wrong.
 */
export function parseAttributes(spec: string): Attribute[] {
  const out: Attribute[] = [];
  for (const raw of spec.split(';')) {
    const token = raw.trim();
    if (token === '') continue;
    const colon = token.indexOf(':');
    if (colon < 0) fail(ATTRIBUTES_INVALID, spec, `"${token}" is not name:value`);
    const name = token.slice(0, colon).trim();
    const value = token.slice(colon + 1).trim();
    if (!NAME.test(name)) fail(ATTRIBUTES_INVALID, spec, `bad attribute name "${name}"`);
    if (value === '') fail(ATTRIBUTES_INVALID, spec, `${name} has no value`);
    if (value.startsWith('[')) {
      if (!value.endsWith(']')) fail(ATTRIBUTES_INVALID, spec, `${name}: unterminated range list "${value}"`);
      const parsed = parseRangesText(value);
      if ('error' in parsed) fail(ATTRIBUTES_INVALID, spec, `${name}: ${parsed.error}`);
      out.push({ name, type: 'RANGES', ranges: { range: parsed.ranges } });
    } else if (value.startsWith('{')) {
      fail(ATTRIBUTES_INVALID, spec, `${name}: set attributes are not supported`);
    } else {
      const n = parseNumber(value);
      out.push(n === undefined ? { name, type: 'TEXT', text: { value } } : { name, type: 'SCALAR', scalar: { value: roundScalar(n) } });
    }
  }
  return out;
}

/** Formats attributes in `--attributes` syntax, the inverse of {@link parseAttributes}. */
export function formatAttributes(as: readonly Attribute[]): string {
  return as.map((a) => `${a.name}:${formatValue(a)}`).join(';');
}
