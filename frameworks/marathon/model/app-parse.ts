/**
 * parseAppDefinition: JSON → normalised {@link AppDefinition}, the way Marathon 1.10's
 * POST /v2/apps reads, normalises and validates a body.
 *
 * Stages and their failure messages (the API uses `message` as the 422 body's message):
 * 1. Play JSON reading (types, RAML bounds) → "Invalid JSON";
 * 2. deprecated-field rules → "Object is not valid";
 * 3. translation of deprecated fields and defaults;
 * 4. canonical validation → "Object is not valid".
 *
 * @module
 */
import type { AppDefinition, PathId, Timestamp } from './types.js';
import { readAppFields, type AppFields } from './app-read.js';
import { appFromFields, deprecatedFieldErrors, translateDeprecated } from './app-normalize.js';
import { validateApp } from './app-validate.js';
import { ErrorCollector, isObject, type ErrorDetail } from './json-read.js';

/** Marathon's two 422 messages. */
export type FailureMessage = 'Invalid JSON' | 'Object is not valid';

/** A failed parse: Marathon's details, and which 422 message goes with them. */
export interface ParseFailure {
  ok: false;
  details: ErrorDetail[];
  message: FailureMessage;
}

export type AppResult = { ok: true; app: AppDefinition } | ParseFailure;

/** Options for {@link parseAppDefinition}. */
export interface ParseAppOptions {
  /** Relative ids resolve against this (default `/`). */
  basePath?: PathId;
  now: Timestamp;
  /** Role for apps that name none (default `*`). */
  defaultRole?: string;
  /** Apps inside a group must be direct children of it (Marathon's validNestedApp). */
  requireChildOf?: PathId;
}

export function invalidJson(details: ErrorDetail[]): ParseFailure {
  return { ok: false, details, message: 'Invalid JSON' };
}

export function notValid(details: ErrorDetail[]): ParseFailure {
  return { ok: false, details, message: 'Object is not valid' };
}

/**
 * Reads the fields of an app body (stage 1). `path` prefixes error paths (e.g. `/apps(0)`).
 */
export function readAppBody(json: unknown, path = ''): { ok: true; fields: AppFields } | ParseFailure {
  if (!isObject(json)) return invalidJson([{ path: path === '' ? '/' : path, errors: ['error.expected.jsobject'] }]);
  const errors = new ErrorCollector();
  const fields = readAppFields(json, path, errors);
  if (!errors.empty) return invalidJson(errors.details());
  return { ok: true, fields };
}

/** Prefixes detail paths (`/` becomes the prefix itself). */
export function prefixDetails(details: ErrorDetail[], prefix: string): ErrorDetail[] {
  if (prefix === '') return details;
  return details.map((d) => ({ path: d.path === '/' ? prefix : prefix + d.path, errors: d.errors }));
}

/** Stages 2–4 on read fields. */
export function appFromBody(fields: AppFields, opts: ParseAppOptions, path = ''): AppResult {
  const legacy = deprecatedFieldErrors(fields);
  if (legacy.length > 0) return notValid(prefixDetails(legacy, path));
  const canonical = translateDeprecated(fields);
  const app = appFromFields(canonical, opts);
  const ctx = { fields: canonical, ...(opts.requireChildOf !== undefined ? { base: opts.requireChildOf } : {}) };
  const details = validateApp(app, ctx);
  if (details.length > 0) return notValid(prefixDetails(details, path));
  return { ok: true, app };
}

/**
 * Parses and validates one app definition body.
 *
 * @example
 * const r = parseAppDefinition({ id: 'web', cmd: 'sleep 100' }, { now: nowTimestamp(Date.now()) });
 * if (r.ok) r.app.mem === 128;
 */
export function parseAppDefinition(json: unknown, opts: ParseAppOptions): AppResult {
  const read = readAppBody(json);
  if (!read.ok) return read;
  if (read.fields.id === undefined) return invalidJson([{ path: '/id', errors: ['error.path.missing'] }]);
  return appFromBody(read.fields, opts);
}
