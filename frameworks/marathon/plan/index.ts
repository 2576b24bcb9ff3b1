/**
 * Marathon's deployment decisions, pure: the planner, rolling-restart moves and kill order.
 * See README.md in this folder.
 *
 * @module
 */
export { planDeployment, type PlanOptions } from './deployment-plan.js';
export {
  upgradeBounds, nextUpgradeMoves, isTerminalCondition,
  type UpgradeBounds, type UpgradeSnapshot, type UpgradeMoves,
} from './upgrade.js';
export { selectInstancesToKill, killOrder } from './kill-selection.js';
export { isUpgrade, isOnlyScaleChange, needsRestart, deepEqual } from './app-diff.js';
export { dependencyGraph, dependencyLevels, transitiveApps, appsById } from './dependency-graph.js';
