/**
 * Version timestamps and Marathon's versionInfo rules (state.VersionInfo): a new app gets
 * version = lastScalingAt = lastConfigChangeAt = now; a change of `instances` only is a
 * scaling (lastConfigChangeAt kept); any other change is a config change (all three = now).
 *
 * @module
 */
import type { AppDefinition, Timestamp } from './types.js';

/** Milliseconds since the epoch → Marathon's timestamp (`2015-09-25T15:13:48.343Z`). */
export function nowTimestamp(ms: number): Timestamp {
  return new Date(ms).toISOString();
}

/** JSON with object keys sorted, so equal values compare equal as strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

function configOf(app: AppDefinition): Omit<AppDefinition, 'instances' | 'version' | 'versionInfo'> {
  const { instances: _i, version: _v, versionInfo: _vi, ...rest } = app;
  return rest;
}

/** True when `a` and `b` differ in anything other than instances and version fields. */
export function isConfigChange(a: AppDefinition, b: AppDefinition): boolean {
  return canonicalJson(configOf(a)) !== canonicalJson(configOf(b));
}

/**
 * Stamps `next` as the successor of `previous` at `now` (Marathon's
 * `AppDefinition.versionInfo` update rules). Without `previous` it is a new app.
 */
export function withVersion(next: AppDefinition, previous: AppDefinition | undefined, now: Timestamp): AppDefinition {
  if (!previous) return { ...next, version: now, versionInfo: { lastScalingAt: now, lastConfigChangeAt: now } };
  if (isConfigChange(previous, next)) {
    return { ...next, version: now, versionInfo: { lastScalingAt: now, lastConfigChangeAt: now } };
  }
  return { ...next, version: now, versionInfo: { lastScalingAt: now, lastConfigChangeAt: previous.versionInfo.lastConfigChangeAt } };
}
