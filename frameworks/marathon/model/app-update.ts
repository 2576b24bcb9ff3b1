/**
 * App updates: PUT /v2/apps/{id} (with `partialUpdate=false` the body replaces the app;
 * with `partialUpdate=true`, Marathon 1.10's default, it is merged) and PATCH (always merged).
 * Merging is Marathon's AppUpdate semantics: every top-level field the body gives replaces
 * the app's field; absent fields keep their value. Deprecated fields in the body are
 * translated first (`ports` → `portDefinitions`, …), so they replace the canonical field.
 *
 * @module
 */
import type { AppDefinition, PathId, Timestamp } from './types.js';
import { appFromFields, deprecatedFieldErrors, fieldsOfApp, translateDeprecated } from './app-normalize.js';
import { invalidJson, notValid, readAppBody, type AppResult } from './app-parse.js';
import { validateApp } from './app-validate.js';
import { isObject } from './json-read.js';
import { withVersion } from './versions.js';

/** Options for {@link applyAppUpdate}. */
export interface AppUpdateOptions {
  /** true: merge onto `current` (PATCH, PUT?partialUpdate=true); false: replace. */
  partial: boolean;
  now: Timestamp;
  /** The app id from the URL; it wins over any id in the body. */
  idFromPath: PathId;
  defaultRole?: string;
}

/** Marathon's message for a body mixing `version` with other fields. */
export const VERSION_ONLY_MESSAGE = "The 'version' field may only be combined with the 'id' field.";

/**
 * When the body is a rollback request (`{"version": …}`, optionally with `id`), the version
 * to roll back to; the caller loads that stored version and re-deploys it. Undefined otherwise.
 */
export function rollbackVersionOf(json: unknown): string | undefined {
  if (!isObject(json) || typeof json['version'] !== 'string') return undefined;
  const keys = Object.keys(json).filter((k) => json[k] !== null && json[k] !== undefined);
  return keys.every((k) => k === 'version' || k === 'id') ? json['version'] : undefined;
}

/**
 * Applies an update body to `current` (undefined: the app does not exist yet, so the body
 * creates it). The result carries versionInfo per Marathon's rules: a change of `instances`
 * only keeps lastConfigChangeAt. Rollback bodies (see {@link rollbackVersionOf}) are the
 * caller's to handle; here they fail with Marathon's message.
 */
export function applyAppUpdate(current: AppDefinition | undefined, patchJson: unknown, opts: AppUpdateOptions): AppResult {
  const read = readAppBody(patchJson);
  if (!read.ok) return read;
  const update = read.fields;
  if (update.version !== undefined) {
    const onlyVersion = Object.keys(update).every((k) => k === 'version' || k === 'id');
    return notValid([{ path: '/', errors: [onlyVersion ? `Rollback to version ${update.version} must be handled by the caller` : VERSION_ONLY_MESSAGE] }]);
  }
  const legacy = deprecatedFieldErrors(update, opts.partial && current !== undefined);
  if (legacy.length > 0) return notValid(legacy);
  const canonical = translateDeprecated(update);
  const merged = current && opts.partial ? { ...fieldsOfApp(current), ...canonical } : canonical;
  merged.id = opts.idFromPath;
  if (!opts.idFromPath) return invalidJson([{ path: '/id', errors: ['error.path.missing'] }]);
  const buildOpts = { now: opts.now, ...(opts.defaultRole !== undefined ? { defaultRole: opts.defaultRole } : {}) };
  const app = appFromFields(merged, buildOpts);
  const details = validateApp(app, { fields: merged });
  if (details.length > 0) return notValid(details);
  return { ok: true, app: withVersion(app, current, opts.now) };
}

/** Scales an app to `instances` at `now` (a scaling change: lastConfigChangeAt is kept). */
export function scaleApp(app: AppDefinition, instances: number, now: Timestamp): AppDefinition {
  return withVersion({ ...app, instances }, app, now);
}
