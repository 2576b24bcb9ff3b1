/**
 * Marathon path ids, instance ids and task ids (Marathon 1.10 `state.PathId`,
 * `core.instance.Instance.Id`, `core.task.Task.Id`).
 *
 * Pure string functions; nothing here touches I/O.
 *
 * @module
 */
import type { PathId } from './types.js';

/**
 * The regular expression every path segment must fully match (Marathon's
 * `PathId.ID_PATH_SEGMENT_PATTERN`, quoted verbatim in its validation message).
 */
export const ID_PATH_SEGMENT_PATTERN =
  '^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$';
const SEGMENT_RE = new RegExp(`^(?:${ID_PATH_SEGMENT_PATTERN})$`);
/** Segments an id may not end with (Marathon's `reservedKeywords`). */
const RESERVED = ['restart', 'tasks', 'versions', '.', '..'];

/** Splits a raw id into its non-empty segments (Marathon's `PathId.apply(String)`). */
export function pathSegments(raw: string): string[] {
  return raw.split('/').filter((s) => s.length > 0);
}

/**
 * Resolves a raw id against `base` (default `/`) into an absolute, canonical id: relative
 * ids are appended to `base`, `.` is dropped and `..` climbs (Marathon's `canonicalPath`).
 * Returns undefined when a segment is not a valid name.
 *
 * @example normalizePathId('web', '/prod') === '/prod/web'
 */
export function normalizePathId(raw: string, base: PathId = '/'): PathId | undefined {
  const segments = rawCanonicalSegments(raw, base);
  if (!segments.every((s) => SEGMENT_RE.test(s))) return undefined;
  return '/' + segments.join('/');
}

/** Like {@link normalizePathId} but never fails: invalid segments are kept (for messages). */
export function resolvePathId(raw: string, base: PathId = '/'): PathId {
  return '/' + rawCanonicalSegments(raw, base).join('/');
}

function rawCanonicalSegments(raw: string, base: PathId): string[] {
  const input = raw.startsWith('/') ? pathSegments(raw) : [...pathSegments(base), ...pathSegments(raw)];
  const out: string[] = [];
  for (const s of input) {
    if (s === '.') continue;
    if (s === '..') out.pop();
    else out.push(s);
  }
  return out;
}

/** True when `id` is an absolute id whose segments all match Marathon's segment pattern. */
export function isValidPathId(id: string): boolean {
  return id.startsWith('/') && pathSegments(id).every((s) => SEGMENT_RE.test(s) && s !== '.' && s !== '..');
}

/**
 * Marathon's `PathId.pathIdValidator` messages for a raw id (before resolution): segment
 * characters and reserved final keywords.
 */
export function pathIdErrors(raw: string): string[] {
  const segments = pathSegments(raw);
  const errors: string[] = [];
  if (!segments.every((s) => SEGMENT_RE.test(s))) {
    errors.push(`must fully match regular expression '${ID_PATH_SEGMENT_PATTERN}'`);
  }
  const last = segments[segments.length - 1];
  if (last !== undefined && RESERVED.includes(last)) {
    errors.push(`must not end with any of the following reserved keywords: ${RESERVED.join(', ')}`);
  }
  return errors;
}

/** The parent of an absolute id; the parent of `/` and of top-level ids is `/`. */
export function parentOf(id: PathId): PathId {
  const segments = pathSegments(id);
  segments.pop();
  return '/' + segments.join('/');
}

/** True when `child` is `parent` itself or lies below it. */
export function isUnder(child: PathId, parent: PathId): boolean {
  if (parent === '/') return true;
  return child === parent || child.startsWith(parent + '/');
}

/** Marathon's `safePath`: segments joined with `_` (`/prod/web` → `prod_web`). */
export function safePath(id: PathId): string {
  return pathSegments(id).join('_');
}

/** Inverse of {@link safePath} (Marathon's `PathId.fromSafePath`). */
export function fromSafePath(safe: string): PathId {
  return safe === '' ? '/' : '/' + safe.split('_').join('/');
}

/**
 * Marathon's instance id: `<safePath>.instance-<uuid>`.
 *
 * @example instanceIdFor('/prod/web', '1f0c…') === 'prod_web.instance-1f0c…'
 */
export function instanceIdFor(appId: PathId, uuid: string): string {
  return `${safePath(appId)}.instance-${uuid}`;
}

/**
 * Marathon's task id for an app instance: `<instanceId>._app.<incarnation>`
 * (Task.Id.forInstanceId / nextIncarnationFor).
 */
export function taskIdFor(instanceId: string, incarnation: number): string {
  return `${instanceId}._app.${incarnation}`;
}

// `<safePath>.(instance-|marathon-)<uuid>[.<container>][.<attempt>]` (Task.Id's TaskIdWithInstanceIdRegex
// and the legacy `<safePath>.<uuid>` / `<safePath>_<uuid>` forms are not produced by us).
const TASK_ID_RE = /^(.+)\.(instance-|marathon-)([^.]+)(?:\.([^.]+))?(?:\.(\d+))?$/;

/**
 * Parses a task id produced by {@link taskIdFor} (or Marathon's older
 * `<app>.marathon-<uuid>` form, incarnation 0). Returns undefined for ids Marathon would not
 * recognise.
 */
export function parseTaskId(taskId: string): { instanceId: string; appId: PathId; incarnation: number } | undefined {
  const m = TASK_ID_RE.exec(taskId);
  if (!m) return undefined;
  const [, safe, prefix, uuid, container, attempt] = m;
  // A container name that is all digits is really the attempt of `<instanceId>.<attempt>`.
  let incarnation = attempt !== undefined ? Number(attempt) : 0;
  if (attempt === undefined && container !== undefined && /^\d+$/.test(container)) incarnation = Number(container);
  return {
    instanceId: `${safe}.${prefix === 'marathon-' ? 'marathon-' : 'instance-'}${uuid}`,
    appId: fromSafePath(safe!),
    incarnation,
  };
}

/** Parses an instance id (`<safePath>.instance-<uuid>`). */
export function parseInstanceId(instanceId: string): { appId: PathId; uuid: string } | undefined {
  const m = /^(.+)\.(?:instance-|marathon-)([^.]+)$/.exec(instanceId);
  if (!m) return undefined;
  return { appId: fromSafePath(m[1]!), uuid: m[2]! };
}
