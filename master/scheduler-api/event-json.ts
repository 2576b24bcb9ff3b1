/**
 * The RecordIO record of a scheduler event: `<bytes>\n<JSON>`. A busy master sends a framework
 * two UPDATE events per task it launches, and `JSON.stringify` of each, then
 * `Buffer.byteLength` over the result, was a visible share of its time. An UPDATE whose
 * status holds only the usual fields (ids, strings, the timestamp, `healthy`) in printable
 * ASCII is written from a template instead: the same bytes (`JSON.stringify` visits own keys
 * in the same order and writes such strings and numbers the same way), and its byte count is
 * its length. Anything else (another event, an unknown field, a nested object such as
 * `container_status`, a string with a quote, a backslash, a control or non-ASCII character)
 * takes `JSON.stringify`. A unit test holds the two equal over seeded random events.
 *
 * @module
 */
import { PLAIN_JSON_ASCII } from '../../sdk/core/json-text.js';
import type { SchedulerEvent } from '../../sdk/protocol/index.js';

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

type FieldKind = 'id' | 'string' | 'number' | 'boolean';

/** The fields a usual status holds, and what each is written as (no prototype: any other key is undefined). */
const FIELD_KIND: Record<string, FieldKind | undefined> = Object.assign(Object.create(null) as Record<string, FieldKind | undefined>, {
  task_id: 'id', agent_id: 'id', executor_id: 'id',
  state: 'string', source: 'string', reason: 'string', message: 'string', uuid: 'string', data: 'string',
  timestamp: 'number',
  healthy: 'boolean',
} satisfies Record<string, FieldKind>);

/**
 * What opens each field, first in the object or after another (`"task_id":{"value":"`,
 * `,"state":"`, `"timestamp":` …): constants, so that a status's parts are these and the
 * values it already holds, and no string is built per field.
 */
const OPEN_FIRST: Record<string, string> = Object.create(null) as Record<string, string>;
const OPEN_NEXT: Record<string, string> = Object.create(null) as Record<string, string>;
for (const [key, kind] of Object.entries(FIELD_KIND) as [string, FieldKind][]) {
  const open = kind === 'id' ? `"${key}":{"value":"` : kind === 'string' ? `"${key}":"` : `"${key}":`;
  OPEN_FIRST[key] = open;
  OPEN_NEXT[key] = `,${open}`;
}

/** The id's `value` when the id is an object holding exactly one plain string `value`, else undefined. */
function plainIdValue(id: unknown): string | undefined {
  if (id === null || typeof id !== 'object') return undefined;
  let keys = 0;
  for (const key in id) {
    if (key !== 'value' || !hasOwn(id, key)) return undefined;
    keys++;
  }
  if (keys !== 1) return undefined;
  const value = (id as { value: unknown }).value;
  return typeof value === 'string' && PLAIN_JSON_ASCII.test(value) ? value : undefined;
}

/** Appends the parts of a status made of the usual fields only, in its own key order; false otherwise (`out` then holds a partial status). */
function pushStatus(status: unknown, out: string[]): boolean {
  if (status === null || typeof status !== 'object' || Array.isArray(status)) return false;
  let first = true;
  for (const key in status) {
    // JSON.stringify writes own keys only; an inherited enumerable one is left to it.
    if (!hasOwn(status, key)) return false;
    const value = (status as Record<string, unknown>)[key];
    const open = first ? OPEN_FIRST[key] : OPEN_NEXT[key];
    switch (FIELD_KIND[key]) {
      case 'id': {
        const id = plainIdValue(value);
        if (id === undefined) return false;
        out.push(open!, id, '"}');
        break;
      }
      case 'string':
        if (typeof value !== 'string' || !PLAIN_JSON_ASCII.test(value)) return false;
        out.push(open!, value, '"');
        break;
      case 'number':
        if (typeof value !== 'number' || !Number.isFinite(value)) return false;
        out.push(open!, String(value));
        break;
      case 'boolean':
        if (value !== true && value !== false) return false;
        out.push(open!, value ? 'true' : 'false');
        break;
      default:
        return false;
    }
    first = false;
  }
  return true;
}

/** True when `o` has exactly the own enumerable keys `keys`, in that order. */
function hasExactly(o: object, keys: readonly string[]): boolean {
  let i = 0;
  for (const key in o) {
    if (key !== keys[i] || !hasOwn(o, key)) return false;
    i++;
  }
  return i === keys.length;
}

const EVENT_KEYS = ['type', 'update'] as const;
const UPDATE_KEYS = ['status'] as const;

/** Appends the parts of an UPDATE event's JSON from the template; false when it must be stringified (`out` then holds a partial event). */
function pushUpdateJson(event: SchedulerEvent, out: string[]): boolean {
  if (event.type !== 'UPDATE' || !hasExactly(event, EVENT_KEYS)) return false;
  const update = event.update;
  if (update === null || typeof update !== 'object' || !hasExactly(update, UPDATE_KEYS)) return false;
  out.push('{"type":"UPDATE","update":{"status":{');
  if (!pushStatus(update.status, out)) return false;
  out.push('}}}');
  return true;
}

/** The JSON of an UPDATE event from the template, or undefined when it must be stringified. */
export function updateJson(event: SchedulerEvent): string | undefined {
  const out: string[] = [];
  return pushUpdateJson(event, out) ? out.join('') : undefined;
}

/**
 * Appends the event's RecordIO record (its JSON's length in bytes, a newline, the JSON) to
 * `out` as parts whose concatenation is the record. A stream joins a turn's parts once: the
 * usual UPDATE then costs the parts array's slots and its length's digits, where building
 * each record made a string per field and a tree of concatenations (3 KB per task launched,
 * the largest allocation of a busy master), held until the end of the turn.
 */
export function pushEventRecord(event: SchedulerEvent, out: string[]): void {
  const start = out.length;
  out.push('', '\n');
  if (pushUpdateJson(event, out)) {
    // Printable ASCII throughout: one byte a character.
    let bytes = 0;
    for (let i = start + 2; i < out.length; i++) bytes += out[i]!.length;
    out[start] = String(bytes);
    return;
  }
  out.length = start;
  const json = JSON.stringify(event);
  out.push(`${Buffer.byteLength(json)}\n`, json);
}

/** The event as one RecordIO record: its JSON's length in bytes, a newline, the JSON. */
export function eventRecord(event: SchedulerEvent): string {
  const out: string[] = [];
  pushEventRecord(event, out);
  return out.join('');
}
