/**
 * Marathon's app and group model (pure): parsing with Marathon 1.10's defaults and
 * validation messages, updates, version rules, the group tree, service ports, ids and
 * rendering. See README.md.
 *
 * @module
 */
export type { ErrorDetail } from './json-read.js';
export {
  parseAppDefinition, type AppResult, type ParseFailure, type FailureMessage, type ParseAppOptions,
} from './app-parse.js';
export { applyAppUpdate, rollbackVersionOf, scaleApp, VERSION_ONLY_MESSAGE, type AppUpdateOptions } from './app-update.js';
export { APP_DEFAULTS, HEALTH_CHECK_DEFAULTS, READINESS_CHECK_DEFAULTS, isExtract } from './app-normalize.js';
export { validateApp, APP_MESSAGES, isValidRole, roleErrors } from './app-validate.js';
export {
  parseGroup, groupScaleByOf, groupRollbackVersionOf, type GroupResult, type ParseGroupOptions,
} from './group-normalize.js';
export { validateRoot, dependencyEdges, hasCycle, GROUP_MESSAGES, type ValidateRootOptions } from './group-validate.js';
export {
  normalizePathId, resolvePathId, isValidPathId, pathIdErrors, parentOf, isUnder, safePath, fromSafePath,
  instanceIdFor, taskIdFor, parseTaskId, parseInstanceId, ID_PATH_SEGMENT_PATTERN,
} from './ids.js';
export {
  assignServicePorts, servicePortsOf, PortRangeExhaustedError, DEFAULT_SERVICE_PORT_RANGE,
} from './service-ports.js';
export {
  emptyRoot, findApp, findGroup, allApps, allGroups, putApp, removeApp, putGroup, removeGroup, scaleGroup,
  mapAppsUnder, setVersionOnPath,
} from './tree.js';
export { renderApp, renderGroup, renderHealthCheck, type RenderGroupOptions } from './render.js';
export { isConfigChange, nowTimestamp, withVersion, canonicalJson } from './versions.js';
