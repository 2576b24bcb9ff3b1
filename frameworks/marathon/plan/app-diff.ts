/**
 * How two versions of one app differ, in the terms Marathon's planner uses
 * (`RunSpec.isUpgrade`, `isOnlyScaleChange`, `needsRestart`).
 *
 * A *config change* is a difference in anything but `instances`, `version` and
 * `versionInfo`. Comparison is structural (key order of objects does not matter; array order
 * does), which is what Marathon's case-class equality amounts to.
 *
 * @module
 */
import type { AppDefinition } from '../model/types.js';

/** Fields that never make a config change. */
const NON_CONFIG_FIELDS = new Set(['instances', 'version', 'versionInfo']);

/** Structural equality of JSON-like values; `undefined` members count as absent. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return Number.isNaN(a) && Number.isNaN(b);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) if (!deepEqual(ao[k], bo[k])) return false;
  return true;
}

/** True when `to` differs from `from` in configuration (Marathon's `isUpgrade`). */
export function isUpgrade(from: AppDefinition, to: AppDefinition): boolean {
  const keys = new Set([...Object.keys(from), ...Object.keys(to)]);
  for (const k of keys) {
    if (NON_CONFIG_FIELDS.has(k)) continue;
    if (!deepEqual((from as unknown as Record<string, unknown>)[k], (to as unknown as Record<string, unknown>)[k])) return true;
  }
  return false;
}

/** Marathon's `isOnlyScaleChange`: same config, different instance count. */
export function isOnlyScaleChange(from: AppDefinition, to: AppDefinition): boolean {
  return !isUpgrade(from, to) && from.instances !== to.instances;
}

/** Marathon's `needsRestart`: a config change, or a new version (e.g. POST …/restart). */
export function needsRestart(from: AppDefinition, to: AppDefinition): boolean {
  return from.version !== to.version || isUpgrade(from, to);
}
