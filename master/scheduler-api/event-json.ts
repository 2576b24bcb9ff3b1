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

/** `"value"` when the string needs no escaping and is ASCII, else undefined. */
function plainString(value: unknown): string | undefined {
  return typeof value === 'string' && PLAIN_JSON_ASCII.test(value) ? `"${value}"` : undefined;
}

/** `{"value":"…"}` for an id object holding exactly one plain string `value`, else undefined. */
function idJson(id: unknown): string | undefined {
  if (id === null || typeof id !== 'object') return undefined;
  let keys = 0;
  for (const key in id) {
    if (key !== 'value' || !hasOwn(id, key)) return undefined;
    keys++;
  }
  if (keys !== 1) return undefined;
  const value = plainString((id as { value: unknown }).value);
  return value === undefined ? undefined : `{"value":${value}}`;
}

/** The JSON of a status made of the usual fields only, in its own key order; else undefined. */
function statusJson(status: unknown): string | undefined {
  if (status === null || typeof status !== 'object' || Array.isArray(status)) return undefined;
  let json = '{';
  for (const key in status) {
    // JSON.stringify writes own keys only; an inherited enumerable one is left to it.
    if (!hasOwn(status, key)) return undefined;
    const value = (status as Record<string, unknown>)[key];
    let field: string | undefined;
    switch (key) {
      case 'task_id':
      case 'agent_id':
      case 'executor_id':
        field = idJson(value);
        break;
      case 'state':
      case 'source':
      case 'reason':
      case 'message':
      case 'uuid':
      case 'data':
        field = plainString(value);
        break;
      case 'timestamp':
        field = typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
        break;
      case 'healthy':
        field = value === true ? 'true' : value === false ? 'false' : undefined;
        break;
      default:
        return undefined;
    }
    if (field === undefined) return undefined;
    json += json.length === 1 ? `"${key}":${field}` : `,"${key}":${field}`;
  }
  return `${json}}`;
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

/** The JSON of an UPDATE event from the template, or undefined when it must be stringified. */
export function updateJson(event: SchedulerEvent): string | undefined {
  if (event.type !== 'UPDATE' || !hasExactly(event, EVENT_KEYS)) return undefined;
  const update = event.update;
  if (update === null || typeof update !== 'object' || !hasExactly(update, UPDATE_KEYS)) return undefined;
  const status = statusJson(update.status);
  return status === undefined ? undefined : `{"type":"UPDATE","update":{"status":${status}}}`;
}

/** The event as one RecordIO record: its JSON's length in bytes, a newline, the JSON. */
export function eventRecord(event: SchedulerEvent): string {
  const ascii = updateJson(event);
  if (ascii !== undefined) return `${ascii.length}\n${ascii}`;
  const json = JSON.stringify(event);
  return `${Buffer.byteLength(json)}\n${json}`;
}
