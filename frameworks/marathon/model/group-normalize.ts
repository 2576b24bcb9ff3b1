/**
 * parseGroup: a group body (POST/PUT /v2/groups) → normalised {@link Group}, as Marathon
 * 1.10's GroupUpdate handling does it: ids resolve relative to the enclosing group
 * (`apps[].id: "web"` in group `/prod` is `/prod/web`), nested apps and groups must be
 * direct children of their group, and fields the body leaves out keep `current`'s value.
 *
 * @module
 */
import type { AppDefinition, Group, PathId, Timestamp } from './types.js';
import { appFromBody, invalidJson, notValid, prefixDetails, readAppBody, type ParseFailure } from './app-parse.js';
import { childPath, ErrorCollector, isObject, type ErrorDetail, type JsonObject } from './json-read.js';
import { parentOf, pathIdErrors, pathSegments, resolvePathId } from './ids.js';
import { canonicalJson, withVersion } from './versions.js';

/** Options for {@link parseGroup}. */
export interface ParseGroupOptions {
  /** The group id the body is relative to (the URL's id; default `/`). */
  basePath?: PathId;
  now: Timestamp;
  /** The stored group at the resulting id, whose fields the body may leave out. */
  current?: Group;
  defaultRole?: string;
}

export type GroupResult = { ok: true; group: Group } | ParseFailure;

/** `scaleBy` of a group body (`{"scaleBy": 2}`), if it is a scale request. */
export function groupScaleByOf(json: unknown): number | undefined {
  return isObject(json) && typeof json['scaleBy'] === 'number' ? json['scaleBy'] : undefined;
}

/** `version` of a group body, if it asks for a rollback to a stored group version. */
export function groupRollbackVersionOf(json: unknown): string | undefined {
  return isObject(json) && typeof json['version'] === 'string' ? json['version'] : undefined;
}

function sameDefinition(a: AppDefinition, b: AppDefinition): boolean {
  const strip = ({ version: _v, versionInfo: _vi, ...rest }: AppDefinition): unknown => rest;
  return canonicalJson(strip(a)) === canonicalJson(strip(b));
}

/**
 * Parses a group body. Errors use Marathon's paths (`/apps(0)/id`, `/groups(1)/apps(0)/cpus`).
 * Apps that already exist in `current` keep their versionInfo per Marathon's rules (and
 * are kept as they are when unchanged).
 */
export function parseGroup(json: unknown, opts: ParseGroupOptions): GroupResult {
  if (!isObject(json)) return invalidJson([{ path: '/', errors: ['error.expected.jsobject'] }]);
  const typeErrors = new ErrorCollector();
  checkGroupTypes(json, '', typeErrors);
  if (!typeErrors.empty) return invalidJson(typeErrors.details());
  const base = opts.basePath ?? '/';
  const id = typeof json['id'] === 'string' ? resolvePathId(json['id'], base) : base;
  const details: ErrorDetail[] = [];
  const group = buildGroup(json, id, '', opts.current, opts, details, typeof json['id'] === 'string' ? json['id'] : undefined);
  if (details.length > 0) return notValid(details);
  return { ok: true, group };
}

function checkGroupTypes(json: JsonObject, path: string, errors: ErrorCollector): void {
  const check = (key: string, ok: (v: unknown) => boolean, error: string): void => {
    const v = json[key];
    if (v !== undefined && v !== null && !ok(v)) errors.add(childPath(path, key), error);
  };
  check('id', (v) => typeof v === 'string', 'error.expected.jsstring');
  check('apps', Array.isArray, 'error.expected.jsarray');
  check('groups', Array.isArray, 'error.expected.jsarray');
  check('dependencies', Array.isArray, 'error.expected.jsarray');
  check('version', (v) => typeof v === 'string', 'error.expected.jsstring');
  check('scaleBy', (v) => typeof v === 'number', 'error.expected.jsnumber');
  check('enforceRole', (v) => typeof v === 'boolean', 'error.expected.jsboolean');
  if (Array.isArray(json['dependencies'])) {
    json['dependencies'].forEach((d, i) => {
      if (typeof d !== 'string') errors.add(`${childPath(path, 'dependencies')}(${i})`, 'error.expected.jsstring');
    });
  }
  if (Array.isArray(json['apps'])) {
    json['apps'].forEach((a, i) => {
      const r = readAppBody(a, `${childPath(path, 'apps')}(${i})`);
      if (!r.ok) errors.addAll(r.details);
    });
  }
  if (Array.isArray(json['groups'])) {
    json['groups'].forEach((g, i) => {
      const p = `${childPath(path, 'groups')}(${i})`;
      if (!isObject(g)) errors.add(p, 'error.expected.jsobject');
      else checkGroupTypes(g, p, errors);
    });
  }
}

function buildGroup(
  json: JsonObject, id: PathId, path: string, current: Group | undefined, opts: ParseGroupOptions,
  details: ErrorDetail[], rawId: string | undefined,
): Group {
  const here = path === '' ? '/' : path;
  if (rawId !== undefined) {
    const errs = pathIdErrors(rawId);
    if (errs.length > 0) details.push({ path: childPath(path, 'id'), errors: errs });
  }
  const apps: AppDefinition[] = [];
  if (Array.isArray(json['apps'])) {
    json['apps'].forEach((a, i) => {
      const p = `${childPath(path, 'apps')}(${i})`;
      const r = readAppBody(a, p);
      if (!r.ok) {
        details.push(...r.details);
        return;
      }
      if (r.fields.id === undefined) {
        details.push({ path: `${p}/id`, errors: ['error.path.missing'] });
        return;
      }
      const built = appFromBody(r.fields, {
        basePath: id, now: opts.now, requireChildOf: id,
        ...(opts.defaultRole !== undefined ? { defaultRole: opts.defaultRole } : {}),
      }, p);
      if (!built.ok) {
        details.push(...built.details);
        return;
      }
      const previous = current?.apps.find((x) => x.id === built.app.id);
      apps.push(previous && sameDefinition(previous, built.app) ? previous : withVersion(built.app, previous, opts.now));
    });
  }
  const groups: Group[] = [];
  if (Array.isArray(json['groups'])) {
    json['groups'].forEach((g, i) => {
      const p = `${childPath(path, 'groups')}(${i})`;
      const gj = g as JsonObject;
      const raw = typeof gj['id'] === 'string' ? gj['id'] : undefined;
      if (raw === undefined) {
        details.push({ path: `${p}/id`, errors: ['error.path.missing'] });
        return;
      }
      const childId = resolvePathId(raw, id);
      if (pathSegments(childId).length === 0 || parentOf(childId) !== id) {
        details.push({ path: `${p}/id`, errors: [`Identifier is not child of '${id}'`] });
        return;
      }
      const prev = current?.groups.find((x) => x.id === childId);
      groups.push(buildGroup(gj, childId, p, prev, opts, details, raw));
    });
  }
  const dependencies = Array.isArray(json['dependencies'])
    ? (json['dependencies'] as string[]).map((d) => resolvePathId(d, id))
    : current?.dependencies ?? [];
  (Array.isArray(json['dependencies']) ? (json['dependencies'] as string[]) : []).forEach((d, i) => {
    const errs = pathIdErrors(d);
    if (errs.length > 0) details.push({ path: `${childPath(path, 'dependencies')}(${i})`, errors: errs });
  });
  void here;
  const group: Group = {
    id,
    apps: Array.isArray(json['apps']) ? apps : current?.apps ?? [],
    groups: Array.isArray(json['groups']) ? groups : current?.groups ?? [],
    dependencies,
    version: opts.now,
  };
  const enforceRole = typeof json['enforceRole'] === 'boolean' ? json['enforceRole'] : current?.enforceRole;
  if (enforceRole !== undefined) group.enforceRole = enforceRole;
  return group;
}

export { prefixDetails };
